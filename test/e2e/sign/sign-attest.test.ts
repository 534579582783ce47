import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, mustRun, projectRoot, runSignet } from '../../helpers/sign-cli.ts';
import { pushTestImage, startRegistry, type TestRegistry } from '../../helpers/sign-registry.ts';
import { sigstoreVerify } from '../../helpers/sign-sigstore.ts';

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
const env = { COSIGN_PASSWORD: 'attest-pass' };

beforeAll(async () => {
  tmp = makeTempDir('signet-sign-attest-');
  dir = tmp.dir;
  expect((await runSignet(['generate-key-pair'], { cwd: dir, env })).code).toBe(0);
  expect((await runSignet(['generate-key-pair', '--output-key-prefix', 'other'], { cwd: dir, env })).code).toBe(0);
  // A real npm lockfile: the project's own.
  copyFileSync(join(projectRoot, 'package-lock.json'), join(dir, 'package-lock.json'));
  writeFileSync(join(dir, 'app.tgz'), 'the release tarball\n');
  writeFileSync(join(dir, 'app.zip'), 'another artifact\n');
});
afterAll(() => tmp.cleanup());

const statementOf = (bundle: { dsseEnvelope: { payload: string } }) => JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));

describe('SPDX SBOM attestation about files', () => {
  it('describes the lockfile as SPDX 2.3 inside a DSSE in-toto statement that @sigstore/verify accepts', async () => {
    const result = await runSignet(['attest', '--key', 'cosign.key', '--type', 'spdx', '--bundle', 'sbom.sigstore.json', 'app.tgz', 'app.zip'], {
      cwd: dir,
      env,
    });
    expect(result.code, result.stderr).toBe(0);
    const bundle = JSON.parse(readFileSync(join(dir, 'sbom.sigstore.json'), 'utf8'));
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    sigstoreVerify(bundle, readFileSync(join(dir, 'cosign.pub'), 'utf8'));
    expect(() => sigstoreVerify(bundle, readFileSync(join(dir, 'other.pub'), 'utf8'))).toThrow();
    const statement = statementOf(bundle);
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe('https://spdx.dev/Document');
    expect(statement.subject).toEqual([
      { name: 'app.tgz', digest: { sha256: mustRun('sha256sum', ['app.tgz'], { cwd: dir }).split(' ')[0] } },
      { name: 'app.zip', digest: { sha256: mustRun('sha256sum', ['app.zip'], { cwd: dir }).split(' ')[0] } },
    ]);
    const spdx = statement.predicate;
    expect(spdx).toMatchObject({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', name: 'signet@0.1.0' });
    expect(spdx.documentNamespace).toMatch(/^https:\/\/spdx\.org\/spdxdocs\/signet-[0-9a-f-]{36}$/);
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    const byName = new Map<
      string,
      { SPDXID: string; versionInfo: string; externalRefs: { referenceLocator: string }[]; checksums?: { algorithm: string; checksumValue: string }[] }
    >(spdx.packages.map((pkg: { name: string }) => [pkg.name, pkg]));
    const openpgp = byName.get('openpgp');
    expect(openpgp?.versionInfo).toBe(lock.packages['node_modules/openpgp'].version);
    expect(openpgp?.externalRefs[0]?.referenceLocator).toBe(`pkg:npm/openpgp@${lock.packages['node_modules/openpgp'].version}`);
    expect(openpgp?.checksums?.[0]?.algorithm).toBe('SHA512');
    expect(Buffer.from(openpgp?.checksums?.[0]?.checksumValue ?? '', 'hex').toString('base64')).toBe(
      lock.packages['node_modules/openpgp'].integrity.slice('sha512-'.length),
    );
    expect(byName.get('@noble/curves')?.externalRefs[0]?.referenceLocator).toMatch(/^pkg:npm\/%40noble\/curves@/);
    // devDependencies stay out unless asked for.
    expect(byName.has('vitest')).toBe(false);
    const ids = new Set(spdx.packages.map((pkg: { SPDXID: string }) => pkg.SPDXID));
    expect(ids.size).toBe(spdx.packages.length);
    for (const id of ids) expect(id).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    for (const rel of spdx.relationships) {
      expect(rel.spdxElementId === 'SPDXRef-DOCUMENT' || ids.has(rel.spdxElementId)).toBe(true);
      expect(ids.has(rel.relatedSpdxElement)).toBe(true);
    }
    const root = [...byName.values()].find((pkg) => pkg.SPDXID === spdx.documentDescribes[0]);
    expect(spdx.relationships).toContainEqual({ spdxElementId: root?.SPDXID, relationshipType: 'DEPENDS_ON', relatedSpdxElement: openpgp?.SPDXID });
  });

  it('--include-dev adds devDependencies', async () => {
    const result = await runSignet(['attest', '--key', 'cosign.key', '--type', 'spdx', '--include-dev', 'app.tgz'], { cwd: dir, env });
    expect(result.code, result.stderr).toBe(0);
    const names = statementOf(JSON.parse(result.stdout)).predicate.packages.map((pkg: { name: string }) => pkg.name);
    expect(names).toContain('vitest');
  });

  it('verify-attestation: accepts the right files and type; rejects a changed file, a wrong type, a wrong key', async () => {
    const ok = await runSignet(['verify-attestation', '--key', 'cosign.pub', '--type', 'spdx', '--bundle', 'sbom.sigstore.json', 'app.tgz'], { cwd: dir });
    expect(ok.code, ok.stderr).toBe(0);
    // cosign's -o: json (the default) puts the statements on stdout; text only the verdict.
    const text = await runSignet(['verify-attestation', '--key', 'cosign.pub', '-o', 'text', '--bundle', 'sbom.sigstore.json', 'app.tgz'], { cwd: dir });
    expect([text.code, text.stdout, text.stderr]).toEqual([0, 'Verified OK\n', '']);
    expect(
      (await runSignet(['verify-attestation', '--key', 'cosign.pub', '-o', 'yaml', '--bundle', 'sbom.sigstore.json', 'app.tgz'], { cwd: dir })).stderr,
    ).toMatch(/-o\/--output must be json or text, not 'yaml'/);
    expect(JSON.parse(ok.stdout)[0].predicateType).toBe('https://spdx.dev/Document');
    expect(
      (await runSignet(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance', '--bundle', 'sbom.sigstore.json', 'app.tgz'], { cwd: dir }))
        .code,
    ).toBe(1);
    expect((await runSignet(['verify-attestation', '--key', 'other.pub', '--bundle', 'sbom.sigstore.json', 'app.tgz'], { cwd: dir })).code).toBe(1);
    writeFileSync(join(dir, 'changed.tgz'), 'the release tarball!\n');
    const changed = await runSignet(['verify-attestation', '--key', 'cosign.pub', '--bundle', 'sbom.sigstore.json', 'changed.tgz'], { cwd: dir });
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('is not a subject');
  });
});

describe('SLSA provenance v1', () => {
  it('builds the predicate from flags; @sigstore/verify accepts it', async () => {
    const sha = 'a'.repeat(40);
    const result = await runSignet(
      [
        'attest',
        '--key',
        'cosign.key',
        '--type',
        'slsaprovenance',
        '--builder-id',
        'https://ci.example.com/runners/7',
        '--build-type',
        'https://ci.example.com/build-types/npm-pack/v1',
        '--source-uri',
        'git+https://git.example.com/acme/app@refs/tags/v1.0.0',
        '--source-digest',
        `gitCommit=${sha}`,
        '--invocation-id',
        'run-123',
        '--bundle',
        'prov.sigstore.json',
        'app.tgz',
      ],
      { cwd: dir, env },
    );
    expect(result.code, result.stderr).toBe(0);
    const bundle = JSON.parse(readFileSync(join(dir, 'prov.sigstore.json'), 'utf8'));
    sigstoreVerify(bundle, readFileSync(join(dir, 'cosign.pub'), 'utf8'));
    const statement = statementOf(bundle);
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    expect(statement.predicate.buildDefinition).toMatchObject({
      buildType: 'https://ci.example.com/build-types/npm-pack/v1',
      resolvedDependencies: [{ uri: 'git+https://git.example.com/acme/app@refs/tags/v1.0.0', digest: { gitCommit: sha } }],
    });
    expect(statement.predicate.runDetails.builder.id).toBe('https://ci.example.com/runners/7');
    expect(statement.predicate.runDetails.metadata.invocationId).toBe('run-123');
    expect(statement.predicate.runDetails.metadata.finishedOn).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(
      (await runSignet(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance', '--bundle', 'prov.sigstore.json', 'app.tgz'], { cwd: dir }))
        .code,
    ).toBe(0);
  });

  it('a predicate file with a bad field is refused, naming the field', async () => {
    writeFileSync(
      join(dir, 'bad-prov.json'),
      JSON.stringify({ buildDefinition: { buildType: 'https://x.example/t', externalParameters: {} }, runDetails: { builder: { id: 'not a uri' } } }),
    );
    const result = await runSignet(['attest', '--key', 'cosign.key', '--type', 'slsaprovenance', '--predicate', 'bad-prov.json', 'app.tgz'], { cwd: dir, env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('runDetails.builder.id must be a URI');
  });
});

describe('attestations on images', () => {
  let registry: TestRegistry;
  let digest: string;
  let ienv: NodeJS.ProcessEnv;
  beforeAll(async () => {
    registry = await startRegistry(dir);
    ienv = { ...env, DOCKER_CONFIG: registry.dockerConfig };
    digest = pushTestImage(dir, registry, 'acme/svc', 'v1', 'service\n');
  }, 120_000);
  afterAll(async () => registry?.stop());

  it('attests in both formats and verifies; rejects another type and another key', async () => {
    const ref = `${registry.host}/acme/svc@${digest}`;
    const legacy = await runSignet(['attest', '--key', 'cosign.key', '--type', 'spdx', '--format', 'legacy', '--image', ref], { cwd: dir, env: ienv });
    expect(legacy.code, legacy.stderr).toBe(0);
    expect(legacy.stdout).toContain(`${registry.host}/acme/svc:sha256-${digest.slice(7)}.att`);
    const bundle = await runSignet(
      [
        'attest',
        '--key',
        'cosign.key',
        '--type',
        'slsaprovenance',
        '--builder-id',
        'https://ci.example.com/r',
        '--build-type',
        'https://ci.example.com/t',
        '--image',
        ref,
      ],
      { cwd: dir, env: ienv },
    );
    expect(bundle.code, bundle.stderr).toBe(0);
    expect(bundle.stdout).toContain('fallback-tag');
    // A referrer is named by its digest: repo@sha256:…, as sign-image prints it.
    expect(bundle.stdout).toMatch(new RegExp(`^${registry.host}/acme/svc@sha256:[0-9a-f]{64} `));
    const spdx = await runSignet(['verify-attestation', '--key', 'cosign.pub', '--type', 'spdx', '--image', `${registry.host}/acme/svc:v1`], {
      cwd: dir,
      env: ienv,
    });
    expect(spdx.code, spdx.stderr).toBe(0);
    expect(JSON.parse(spdx.stdout)).toHaveLength(1);
    expect(JSON.parse(spdx.stdout)[0].subject[0].digest.sha256).toBe(digest.slice(7));
    const slsa = await runSignet(['verify-attestation', '--key', 'cosign.pub', '--type', 'slsaprovenance', '--image', ref], { cwd: dir, env: ienv });
    expect(slsa.code, slsa.stderr).toBe(0);
    expect(JSON.parse(slsa.stdout)[0].predicateType).toBe('https://slsa.dev/provenance/v1');
    expect((await runSignet(['verify-attestation', '--key', 'other.pub', '--image', ref], { cwd: dir, env: ienv })).code).toBe(1);
    expect(
      (await runSignet(['verify-attestation', '--key', 'cosign.pub', '--type', 'https://cyclonedx.org/bom', '--image', ref], { cwd: dir, env: ienv })).code,
    ).toBe(1);
    // An image signature is not an attestation, and an attestation is not an image signature.
    expect((await runSignet(['verify-image', '--key', 'cosign.pub', ref], { cwd: dir, env: ienv })).code).toBe(1);
  });
});
