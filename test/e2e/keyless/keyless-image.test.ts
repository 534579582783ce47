/**
 * Keyless images and attestations: signet signs with a Fulcio certificate and a Rekor entry from
 * a private Sigstore on 127.0.0.1 and stores cosign v3 bundles as OCI referrers in a real
 * registry (Debian docker-registry); verify-image and verify-attestation check them offline by
 * identity; cosign's legacy keyless layout (certificate, chain and Rekor bundle annotations on a
 * `.sig` layer) is rebuilt into a bundle and checked by the same verifier.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { FulcioSigner, MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COSIGN_CERTIFICATE_ANNOTATION, COSIGN_CHAIN_ANNOTATION, COSIGN_REKOR_BUNDLE_ANNOTATION } from '../../../src/core/sign/cosign-legacy-keyless.ts';
import {
  attachmentManifest,
  descriptorOf,
  OCI_IMAGE_CONFIG,
  OCI_MANIFEST,
  serialize,
  signatureImageConfig,
  simpleSigningLayer,
} from '../../../src/core/sign/oci-manifest.ts';
import { COSIGN_SIGNATURE_ANNOTATION, simpleSigningPayload } from '../../../src/core/sign/simple-signing.ts';
import { RegistryClient } from '../../../src/sign/oci/registry-client.ts';
import { bundleReferrers, resolveImage } from '../../../src/sign/oci/image-signing.ts';
import { makeTempDir, projectRoot, runSignet } from '../../helpers/sign-cli.ts';
import { pushTestImage, startRegistry, type TestRegistry } from '../../helpers/sign-registry.ts';
import { startSigstoreServices, type SigstoreServices } from '../../helpers/sigstore-services.ts';
import { copyFileSync } from 'node:fs';

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let registry: TestRegistry;
let sigstore: SigstoreServices;
let env: NodeJS.ProcessEnv;
const digests: Record<string, string> = {};
const ISSUER = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
const claims = { iss: ISSUER, sub: WORKFLOW };
const identity = ['--certificate-identity', WORKFLOW, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted_root.json'];
const services = () => ['--fulcio-url', sigstore.url, '--rekor-url', sigstore.url];
const ref = (tag: string) => `${registry.host}/acme/app@${digests[tag]}`;

beforeAll(async () => {
  tmp = makeTempDir('signet-keyless-image-');
  dir = tmp.dir;
  registry = await startRegistry(dir);
  sigstore = await startSigstoreServices();
  writeFileSync(join(dir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
  copyFileSync(join(projectRoot, 'package-lock.json'), join(dir, 'package-lock.json'));
  env = { DOCKER_CONFIG: registry.dockerConfig, SIGSTORE_ID_TOKEN: sigstore.token(claims) };
  for (const tag of ['v1', 'v2', 'legacy', 'unsigned']) digests[tag] = pushTestImage(dir, registry, 'acme/app', tag, `${tag}\n`);
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await sigstore?.stop();
  tmp?.cleanup();
});

describe('keyless images (cosign v3 bundle referrers)', () => {
  it('signs without a key; verify-image checks the identity offline; @sigstore/verify agrees', async () => {
    const signed = await runSignet(['sign-image', ...services(), '-a', 'env=prod', ref('v1')], { cwd: dir, env });
    expect(signed.code, signed.stderr).toBe(0);
    const verified = await runSignet(['verify-image', ...identity, '-a', 'env=prod', ref('v1')], { cwd: dir, env });
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toContain('Verified 1 signature(s)');
    // The referrer's bundle, read back and checked by the independent verifier.
    const client = new RegistryClient(registry.host, { env });
    const image = await resolveImage(client, { registry: registry.host, repository: 'acme/app', digest: digests.v1 ?? '' });
    const referrers = await bundleReferrers(client, image);
    expect(referrers).toHaveLength(1);
    const manifest = JSON.parse((await client.getManifest('acme/app', referrers[0]?.digest ?? '', OCI_MANIFEST))?.bytes.toString('utf8') ?? '{}');
    const bundle = JSON.parse((await client.getBlob('acme/app', manifest.layers[0].digest)).toString('utf8'));
    const signer = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot)), {
      tlogThreshold: 1,
      ctlogThreshold: 0,
      timestampThreshold: 1,
    }).verify(toSignedEntity(bundleFromJSON(bundle)), { subjectAlternativeName: WORKFLOW, extensions: { issuer: ISSUER } });
    expect(signer.identity?.subjectAlternativeName).toBe(WORKFLOW);
  });

  it('refuses another workflow, another issuer, an annotation not signed, an unsigned image', async () => {
    const other = await runSignet(
      [
        'verify-image',
        '--certificate-identity',
        'https://github.com/evil/app/.github/workflows/x.yml@refs/heads/main',
        '--certificate-oidc-issuer',
        ISSUER,
        '--trusted-root',
        'trusted_root.json',
        ref('v1'),
      ],
      { cwd: dir, env },
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/keyless identity check failed/);
    const issuer = await runSignet(
      ['verify-image', '--certificate-identity', WORKFLOW, '--certificate-oidc-issuer', 'https://gitlab.com', '--trusted-root', 'trusted_root.json', ref('v1')],
      { cwd: dir, env },
    );
    expect(issuer.code).toBe(1);
    expect((await runSignet(['verify-image', ...identity, '-a', 'env=dev', ref('v1')], { cwd: dir, env })).code).toBe(1);
    const unsigned = await runSignet(['verify-image', ...identity, ref('unsigned')], { cwd: dir, env });
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('no signatures found');
    const regexp = await runSignet(
      [
        'verify-image',
        '--certificate-identity-regexp',
        '^https://github\\.com/acme/.*$',
        '--certificate-oidc-issuer',
        ISSUER,
        '--trusted-root',
        'trusted_root.json',
        ref('v1'),
      ],
      { cwd: dir, env },
    );
    expect(regexp.code, regexp.stderr).toBe(0);
  });

  it('keyless attestations on images and files verify by identity; the legacy .att format is refused for keyless', async () => {
    const attested = await runSignet(['attest', '--keyless', ...services(), '--type', 'spdx', '--image', ref('v2')], { cwd: dir, env });
    expect(attested.code, attested.stderr).toBe(0);
    const verified = await runSignet(['verify-attestation', ...identity, '--type', 'spdx', '--image', ref('v2')], { cwd: dir, env });
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)[0].predicateType).toBe('https://spdx.dev/Document');
    const wrong = await runSignet(
      [
        'verify-attestation',
        '--certificate-identity',
        'someone@example.com',
        '--certificate-oidc-issuer',
        ISSUER,
        '--trusted-root',
        'trusted_root.json',
        '--image',
        ref('v2'),
      ],
      { cwd: dir, env },
    );
    expect(wrong.code).toBe(1);
    const legacy = await runSignet(['attest', '--keyless', ...services(), '--type', 'spdx', '--format', 'legacy', '--image', ref('v2')], { cwd: dir, env });
    expect(legacy.code).toBe(2);
    writeFileSync(join(dir, 'app.tgz'), 'the tarball\n');
    const files = await runSignet(['attest', ...services(), '--type', 'spdx', '--bundle', 'app.intoto.json', 'app.tgz'], { cwd: dir, env });
    expect(files.code, files.stderr).toBe(0);
    expect((await runSignet(['verify-attestation', ...identity, '--bundle', 'app.intoto.json', 'app.tgz'], { cwd: dir, env })).code).toBe(0);
    writeFileSync(join(dir, 'other.tgz'), 'another tarball\n');
    expect((await runSignet(['verify-attestation', ...identity, '--bundle', 'app.intoto.json', 'other.tgz'], { cwd: dir, env })).code).toBe(1);
  });
});

describe("cosign's legacy keyless layout (.sig layer with certificate and Rekor bundle annotations)", () => {
  async function pushLegacy(options: { withRekorBundle: boolean; digestInPayload?: string }): Promise<void> {
    const client = new RegistryClient(registry.host, { env });
    const payload = simpleSigningPayload(`${registry.host}/acme/app`, options.digestInPayload ?? digests.legacy ?? '');
    const builder = new MessageSignatureBundleBuilder({
      signer: new FulcioSigner({ fulcioBaseURL: sigstore.url, identityProvider: { getToken: async () => sigstore.token(claims) } }),
      witnesses: [new RekorWitness({ rekorBaseURL: sigstore.url })],
    });
    const bundle = bundleToJSON(await builder.create({ data: payload })) as unknown as {
      verificationMaterial: {
        x509CertificateChain?: { certificates: { rawBytes: string }[] };
        certificate?: { rawBytes: string };
        tlogEntries: {
          logIndex: string;
          logId: { keyId: string };
          integratedTime: string;
          inclusionPromise: { signedEntryTimestamp: string };
          canonicalizedBody: string;
        }[];
      };
      messageSignature: { signature: string };
    };
    const pem = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)?.join('\n')}\n-----END CERTIFICATE-----\n`;
    const leaf = bundle.verificationMaterial.x509CertificateChain?.certificates[0]?.rawBytes ?? bundle.verificationMaterial.certificate?.rawBytes ?? '';
    const entry = bundle.verificationMaterial.tlogEntries[0];
    const root =
      (sigstore.trustedRoot.certificateAuthorities as { certChain: { certificates: { rawBytes: string }[] } }[])[0]?.certChain.certificates[0]?.rawBytes ?? '';
    const annotations: Record<string, string> = {
      [COSIGN_SIGNATURE_ANNOTATION]: bundle.messageSignature.signature,
      [COSIGN_CERTIFICATE_ANNOTATION]: pem(leaf),
      [COSIGN_CHAIN_ANNOTATION]: pem(root),
    };
    if (options.withRekorBundle && entry) {
      annotations[COSIGN_REKOR_BUNDLE_ANNOTATION] = JSON.stringify({
        SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp,
        Payload: {
          body: entry.canonicalizedBody,
          integratedTime: Number(entry.integratedTime),
          logIndex: Number(entry.logIndex),
          logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
        },
      });
    }
    const layer = simpleSigningLayer(payload, annotations);
    await client.putBlob('acme/app', payload);
    const config = signatureImageConfig([layer]);
    await client.putBlob('acme/app', config);
    await client.putManifest(
      'acme/app',
      `sha256-${(digests.legacy ?? '').slice(7)}.sig`,
      serialize(attachmentManifest([layer], descriptorOf(OCI_IMAGE_CONFIG, config))),
      OCI_MANIFEST,
    );
  }

  it('verifies a legacy keyless signature by identity', async () => {
    await pushLegacy({ withRekorBundle: true });
    const verified = await runSignet(['verify-image', ...identity, ref('legacy')], { cwd: dir, env });
    expect(verified.code, verified.stderr).toBe(0);
    expect(readFileSync(join(dir, 'trusted_root.json'), 'utf8')).toContain('certificateAuthorities');
  });

  it('refuses it without the Rekor bundle (nothing to check offline) and when the payload names another digest', async () => {
    await pushLegacy({ withRekorBundle: false });
    const noLog = await runSignet(['verify-image', ...identity, ref('legacy')], { cwd: dir, env });
    expect(noLog.code).toBe(1);
    expect(noLog.stderr).toMatch(/never logged/);
    await pushLegacy({ withRekorBundle: true, digestInPayload: digests.v1 });
    const other = await runSignet(['verify-image', ...identity, ref('legacy')], { cwd: dir, env });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/signature is for sha256:/);
  });
});
