import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociDigest } from '../../../src/core/sign/encoding.ts';
import { RegistryClient } from '../../../src/sign/oci/registry-client.ts';
import { makeTempDir, mustRun, runSignet, tool } from '../../helpers/sign-cli.ts';
import { pushTestImage, startRegistry, type TestRegistry } from '../../helpers/sign-registry.ts';
import { sigstoreVerify } from '../../helpers/sign-sigstore.ts';

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let registry: TestRegistry;
let digestA: string;
let digestB: string;
let env: NodeJS.ProcessEnv;
const repo = 'acme/app';
const hex = (digest: string) => digest.slice('sha256:'.length);

beforeAll(async () => {
  tmp = makeTempDir('signet-sign-image-');
  dir = tmp.dir;
  registry = await startRegistry(dir);
  env = { DOCKER_CONFIG: registry.dockerConfig, COSIGN_PASSWORD: 'image-pass' };
  expect((await runSignet(['generate-key-pair'], { cwd: dir, env })).code).toBe(0);
  expect((await runSignet(['generate-key-pair', '--output-key-prefix', 'other'], { cwd: dir, env })).code).toBe(0);
  expect((await runSignet(['generate-key-pair', '--output-key-prefix', 'third'], { cwd: dir, env })).code).toBe(0);
  digestA = pushTestImage(dir, registry, repo, 'v1', 'release one\n');
  digestB = pushTestImage(dir, registry, repo, 'v2', 'release two\n');
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  tmp?.cleanup();
});

const creds = () => ['--creds', `${registry.user}:${registry.password}`, '--tls-verify=false'];

describe('registry access', () => {
  it('needs the docker config credentials: anonymous is refused with one clear line', async () => {
    const result = await runSignet(['verify-image', '--key', 'cosign.pub', `${registry.host}/${repo}:v1`], { cwd: dir, env: {} });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/needs credentials/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('resolves tags to the digest skopeo reports', async () => {
    const client = new RegistryClient(registry.host, { env });
    expect((await client.getManifest(repo, 'v1'))?.digest).toBe(digestA);
  });
});

describe('legacy cosign format (sha256-<hex>.sig)', () => {
  it('signs; skopeo reads the .sig image back and openssl verifies the payload; signet verifies', async () => {
    const signed = await runSignet(['sign-image', '--key', 'cosign.key', '-a', 'env=prod', '-a', 'build=42', `${registry.host}/${repo}@${digestA}`], {
      cwd: dir,
      env,
    });
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout.trim()).toBe(`${registry.host}/${repo}:sha256-${hex(digestA)}.sig`);
    const raw = JSON.parse(mustRun('skopeo', ['inspect', '--raw', ...creds(), `docker://${registry.host}/${repo}:sha256-${hex(digestA)}.sig`]));
    expect(raw.layers).toHaveLength(1);
    const layer = raw.layers[0];
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    mustRun('skopeo', [
      'copy',
      '--insecure-policy',
      '--src-creds',
      `${registry.user}:${registry.password}`,
      '--src-tls-verify=false',
      `docker://${registry.host}/${repo}:sha256-${hex(digestA)}.sig`,
      `dir:${join(dir, 'sigdir')}`,
    ]);
    const payloadPath = join(dir, 'sigdir', hex(layer.digest));
    const payload = JSON.parse(readFileSync(payloadPath, 'utf8'));
    expect(payload).toEqual({
      critical: {
        identity: { 'docker-reference': `${registry.host}/${repo}` },
        image: { 'docker-manifest-digest': digestA },
        type: 'cosign container image signature',
      },
      optional: { env: 'prod', build: '42' },
    });
    writeFileSync(join(dir, 'image.sig'), Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'], 'base64'));
    expect(tool('openssl', ['dgst', '-sha256', '-verify', 'cosign.pub', '-signature', 'image.sig', payloadPath], { cwd: dir }).stdout).toContain('Verified OK');

    const verified = await runSignet(['verify-image', '--key', 'cosign.pub', '-a', 'env=prod', `${registry.host}/${repo}:v1`], { cwd: dir, env });
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toEqual([payload]);
  });

  it('signing again keeps earlier signatures (one layer each)', async () => {
    expect((await runSignet(['sign-image', '--key', 'other.key', `${registry.host}/${repo}@${digestA}`], { cwd: dir, env })).code).toBe(0);
    const raw = JSON.parse(mustRun('skopeo', ['inspect', '--raw', ...creds(), `docker://${registry.host}/${repo}:sha256-${hex(digestA)}.sig`]));
    expect(raw.layers).toHaveLength(2);
    expect((await runSignet(['verify-image', '--key', 'other.pub', `${registry.host}/${repo}@${digestA}`], { cwd: dir, env })).code).toBe(0);
  });

  it('rejects: wrong key, unsigned image, a signature moved to another digest, a missing or altered annotation', async () => {
    const wrongKey = await runSignet(['verify-image', '--key', 'third.pub', `${registry.host}/${repo}@${digestA}`], { cwd: dir, env });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('signature does not verify with the given key');
    const unsigned = await runSignet(['verify-image', '--key', 'cosign.pub', `${registry.host}/${repo}@${digestB}`], { cwd: dir, env });
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('no signatures found');

    // Copy A's signature image to B's signature tag: the signature is valid, the digest is not B's.
    mustRun('skopeo', [
      'copy',
      '--insecure-policy',
      '--src-creds',
      `${registry.user}:${registry.password}`,
      '--dest-creds',
      `${registry.user}:${registry.password}`,
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${registry.host}/${repo}:sha256-${hex(digestA)}.sig`,
      `docker://${registry.host}/${repo}:sha256-${hex(digestB)}.sig`,
    ]);
    const moved = await runSignet(['verify-image', '--key', 'cosign.pub', `${registry.host}/${repo}@${digestB}`], { cwd: dir, env });
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain(`signature is for ${digestA}, not ${digestB}`);

    const onlyOther = await runSignet(['verify-image', '--key', 'fixture-missing.pub', `${registry.host}/${repo}@${digestA}`], { cwd: dir, env });
    expect(onlyOther.code).toBe(2);

    const wrongValue = await runSignet(['verify-image', '--key', 'cosign.pub', '-a', 'env=staging', `${registry.host}/${repo}@${digestA}`], { cwd: dir, env });
    expect(wrongValue.code).toBe(1);
    expect(wrongValue.stderr).toContain("annotation env is 'prod', expected 'staging'");

    // Alter the signed payload's annotation in the registry, keeping the signature: it no longer verifies.
    const client = new RegistryClient(registry.host, { env });
    const sigTag = `sha256-${hex(digestA)}.sig`;
    const manifest = JSON.parse((await client.getManifest(repo, sigTag))?.bytes.toString('utf8') ?? '{}');
    const original = await client.getBlob(repo, manifest.layers[0].digest);
    const altered = Buffer.from(original.toString('utf8').replace('"env":"prod"', '"env":"staging"'));
    expect(altered.equals(original)).toBe(false);
    await client.putBlob(repo, altered);
    manifest.layers = [{ ...manifest.layers[0], digest: ociDigest(altered), size: altered.length }];
    await client.putManifest(repo, sigTag, Buffer.from(JSON.stringify(manifest)), manifest.mediaType);
    const tampered = await runSignet(['verify-image', '--key', 'cosign.pub', '-a', 'env=staging', `${registry.host}/${repo}@${digestA}`], { cwd: dir, env });
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('signature does not verify');
  });
});

describe('cosign v3 bundle format (OCI 1.1 referrer)', () => {
  it('signs into the fallback tag on a registry without the referrers API; @sigstore/verify accepts the bundle', async () => {
    const signed = await runSignet(['sign-image', '--key', 'cosign.key', '--format', 'bundle', '-a', 'team=release', `${registry.host}/${repo}@${digestB}`], {
      cwd: dir,
      env,
    });
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/\tfallback-tag\n$/);
    const index = JSON.parse(mustRun('skopeo', ['inspect', '--raw', ...creds(), `docker://${registry.host}/${repo}:sha256-${hex(digestB)}`]));
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]).toMatchObject({
      artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
    });
    const referrer = JSON.parse(mustRun('skopeo', ['inspect', '--raw', ...creds(), `docker://${registry.host}/${repo}@${index.manifests[0].digest}`]));
    expect(referrer.subject.digest).toBe(digestB);
    expect(referrer.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
    const client = new RegistryClient(registry.host, { env });
    const bundle = JSON.parse((await client.getBlob(repo, referrer.layers[0].digest)).toString('utf8'));
    sigstoreVerify(bundle, readFileSync(join(dir, 'cosign.pub'), 'utf8'));
    expect(() => sigstoreVerify(bundle, readFileSync(join(dir, 'other.pub'), 'utf8'))).toThrow();
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    expect(statement.subject[0].digest.sha256).toBe(hex(digestB));

    const verified = await runSignet(['verify-image', '--key', 'cosign.pub', '-a', 'team=release', `${registry.host}/${repo}:v2`], { cwd: dir, env });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toContain('(bundle)');
  });

  it('rejects: wrong key, altered annotation, a referrer listed for another digest', async () => {
    expect((await runSignet(['verify-image', '--key', 'other.pub', `${registry.host}/${repo}@${digestB}`], { cwd: dir, env })).code).toBe(1);
    expect((await runSignet(['verify-image', '--key', 'cosign.pub', '-a', 'team=ops', `${registry.host}/${repo}@${digestB}`], { cwd: dir, env })).code).toBe(1);
    // List B's referrer under a third image's fallback tag: its subject is not that image.
    const digestC = pushTestImage(dir, registry, repo, 'v3', 'release three\n');
    const client = new RegistryClient(registry.host, { env });
    const indexB = await client.getManifest(repo, `sha256-${hex(digestB)}`);
    await client.putManifest(repo, `sha256-${hex(digestC)}`, indexB?.bytes ?? Buffer.alloc(0), 'application/vnd.oci.image.index.v1+json');
    const moved = await runSignet(['verify-image', '--key', 'cosign.pub', `${registry.host}/${repo}@${digestC}`], { cwd: dir, env });
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/subject is sha256:[0-9a-f]{64}, not this image/);
  });
});
