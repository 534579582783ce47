/**
 * Keyless blobs against a private Sigstore on 127.0.0.1 (@sigstore/mock's Fulcio, Rekor and TSA):
 * signet signs keylessly and @sigstore/verify accepts the bundle; @sigstore/sign's own bundles
 * verify with signet; and each check — chain, log, time, signature, identity — refuses on its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { FulcioSigner, MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyKeylessBundle } from '../../../src/core/sign/keyless.ts';
import { parseTrustedRoot } from '../../../src/core/sigstore/trusted-root.ts';
import { publicGoodTrustedRoot } from '../../../src/keys/public-good-trusted-root.ts';
import { makeTempDir, runSignet } from '../../helpers/sign-cli.ts';
import { startSigstoreServices, type SigstoreServices } from '../../helpers/sigstore-services.ts';

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let sigstore: SigstoreServices;
let expired: SigstoreServices;
const ISSUER = 'https://token.actions.example';
const ALICE = 'alice@example.com';
const claims = { iss: ISSUER, sub: ALICE, email: ALICE, email_verified: true };
let env: NodeJS.ProcessEnv;
const identity = ['--certificate-identity', ALICE, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'trusted_root.json'];

beforeAll(async () => {
  tmp = makeTempDir('signet-keyless-');
  dir = tmp.dir;
  sigstore = await startSigstoreServices();
  // A CA whose clock is a day behind: its 10-minute certificates have expired when Rekor logs them.
  expired = await startSigstoreServices({ caClock: new Date(Date.now() - 86_400_000) });
  writeFileSync(join(dir, 'trusted_root.json'), JSON.stringify(sigstore.trustedRoot));
  writeFileSync(join(dir, 'expired_root.json'), JSON.stringify(expired.trustedRoot));
  writeFileSync(join(dir, 'artifact.bin'), 'the release\n');
  env = { SIGSTORE_ID_TOKEN: sigstore.token(claims) };
  const signed = await runSignet(
    [
      'sign-blob',
      '--fulcio-url',
      sigstore.url,
      '--rekor-url',
      sigstore.url,
      '--timestamp-server-url',
      sigstore.url,
      '--bundle',
      'artifact.sigstore.json',
      'artifact.bin',
    ],
    { cwd: dir, env },
  );
  expect(signed.code, signed.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await sigstore?.stop();
  await expired?.stop();
  tmp?.cleanup();
});

const bundleText = () => readFileSync(join(dir, 'artifact.sigstore.json'), 'utf8');
const verify = (bundleFile: string, extra: string[] = identity, file = 'artifact.bin') =>
  runSignet(['verify-blob', '--bundle', bundleFile, ...extra, file], { cwd: dir, env: {} });

describe('keyless sign-blob and verify-blob', () => {
  it('signet signs keylessly; @sigstore/verify accepts the bundle with the same identity', () => {
    const json = JSON.parse(bundleText()) as { verificationMaterial: { tlogEntries: unknown[] } };
    expect(json.verificationMaterial.tlogEntries).toHaveLength(1);
    const signer = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot)), {
      tlogThreshold: 1,
      ctlogThreshold: 0,
      timestampThreshold: 1,
    }).verify(toSignedEntity(bundleFromJSON(json), readFileSync(join(dir, 'artifact.bin'))), { subjectAlternativeName: ALICE, extensions: { issuer: ISSUER } });
    expect(signer.identity?.subjectAlternativeName).toBe(ALICE);
  });

  it('signet verifies its own bundle and one @sigstore/sign made directly', async () => {
    const own = await verify('artifact.sigstore.json');
    expect(own.code, own.stderr).toBe(0);
    expect(own.stderr).toContain(`signed by ${ALICE} (issuer ${ISSUER})`);
    const builder = new MessageSignatureBundleBuilder({
      signer: new FulcioSigner({ fulcioBaseURL: sigstore.url, identityProvider: { getToken: async () => sigstore.token(claims) } }),
      witnesses: [new RekorWitness({ rekorBaseURL: sigstore.url })],
    });
    writeFileSync(join(dir, 'theirs.sigstore.json'), JSON.stringify(bundleToJSON(await builder.create({ data: readFileSync(join(dir, 'artifact.bin')) }))));
    expect((await verify('theirs.sigstore.json')).code).toBe(0);
    expect(
      (
        await verify('theirs.sigstore.json', [
          '--certificate-identity-regexp',
          '^alice@example\\.com$',
          '--certificate-oidc-issuer-regexp',
          '^https://token\\.actions\\.example$',
          '--trusted-root',
          'trusted_root.json',
        ])
      ).code,
    ).toBe(0);
  });

  it('refuses another identity and another issuer (identity check)', async () => {
    const subject = await verify('artifact.sigstore.json', [
      '--certificate-identity',
      'mallory@example.com',
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      'trusted_root.json',
    ]);
    expect(subject.code).toBe(1);
    expect(subject.stderr).toMatch(/keyless identity check failed: signed by alice@example\.com/);
    const issuer = await verify('artifact.sigstore.json', [
      '--certificate-identity',
      ALICE,
      '--certificate-oidc-issuer',
      'https://accounts.example',
      '--trusted-root',
      'trusted_root.json',
    ]);
    expect(issuer.code).toBe(1);
    expect(issuer.stderr).toMatch(/identity check failed/);
  });

  it('refuses a verification with no identity, or an unanchored regexp (usage, exit 2)', async () => {
    const none = await verify('artifact.sigstore.json', ['--trusted-root', 'trusted_root.json']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/accepts anyone/);
    const loose = await verify('artifact.sigstore.json', [
      '--certificate-identity-regexp',
      'alice@example\\.com',
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      'trusted_root.json',
    ]);
    expect(loose.code).toBe(2);
    expect(loose.stderr).toMatch(/must be anchored/);
  });

  it('refuses a tampered artifact (signature check) and a chain to another root (chain check)', async () => {
    writeFileSync(join(dir, 'tampered.bin'), 'the release!\n');
    const tampered = await verify('artifact.sigstore.json', identity, 'tampered.bin');
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/keyless (signature|log) check failed/);
    const otherRoot = await verify('artifact.sigstore.json', [
      '--certificate-identity',
      ALICE,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      'expired_root.json',
    ]);
    expect(otherRoot.code).toBe(1);
    // Under another root the first check to fail is the TSA timestamp's chain.
    expect(otherRoot.stderr).toMatch(/keyless (chain|log|time) check failed/);
    const publicGood = await verify('artifact.sigstore.json', ['--certificate-identity', ALICE, '--certificate-oidc-issuer', ISSUER]);
    expect(publicGood.code).toBe(1);
  });

  it('refuses a bundle without a log entry, a log entry of another signature, and a flipped inclusion-proof hash (log check)', async () => {
    const original = JSON.parse(bundleText());
    const noLog = structuredClone(original);
    noLog.verificationMaterial.tlogEntries = [];
    noLog.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [] };
    writeFileSync(join(dir, 'nolog.json'), JSON.stringify(noLog));
    const a = await verify('nolog.json');
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/keyless (log|time) check failed/);
    const theirs = JSON.parse(readFileSync(join(dir, 'theirs.sigstore.json'), 'utf8'));
    const swapped = structuredClone(original);
    swapped.verificationMaterial.tlogEntries = theirs.verificationMaterial.tlogEntries;
    writeFileSync(join(dir, 'swapped.json'), JSON.stringify(swapped));
    const b = await verify('swapped.json');
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/keyless (log|signature) check failed/);
    // The root hash the proof states must be its checkpoint's (signet's own check)…
    const flipped = structuredClone(original);
    const proof = flipped.verificationMaterial.tlogEntries[0].inclusionProof;
    expect(proof).toBeDefined();
    const root = Buffer.from(proof.rootHash, 'base64');
    root[0] = (root[0] ?? 0) ^ 1;
    proof.rootHash = root.toString('base64');
    writeFileSync(join(dir, 'flipped.json'), JSON.stringify(flipped));
    const c = await verify('flipped.json');
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/keyless log check failed: the inclusion proof's root hash differs/);
    // …and the same flipped hash in both places: the checkpoint's signature no longer holds.
    // (@sigstore/mock's log answers every entry with a tree of one, so its proofs have no path
    // hashes to flip; the leaf is then bound to the root directly.)
    const both = structuredClone(original);
    const entry = both.verificationMaterial.tlogEntries[0].inclusionProof;
    const lines = (entry.checkpoint.envelope as string).split('\n');
    const hash = Buffer.from(lines[2] ?? '', 'base64');
    hash[5] = (hash[5] ?? 0) ^ 0x10;
    lines[2] = hash.toString('base64');
    entry.checkpoint.envelope = lines.join('\n');
    entry.rootHash = hash.toString('base64');
    writeFileSync(join(dir, 'both.json'), JSON.stringify(both));
    const d = await verify('both.json');
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/keyless log check failed/);
  });

  it('refuses a certificate that had expired when the log saw the signature (time check)', async () => {
    const builder = new MessageSignatureBundleBuilder({
      signer: new FulcioSigner({ fulcioBaseURL: expired.url, identityProvider: { getToken: async () => expired.token(claims) } }),
      witnesses: [new RekorWitness({ rekorBaseURL: expired.url })],
    });
    writeFileSync(join(dir, 'late.json'), JSON.stringify(bundleToJSON(await builder.create({ data: readFileSync(join(dir, 'artifact.bin')) }))));
    const late = await verify('late.json', ['--certificate-identity', ALICE, '--certificate-oidc-issuer', ISSUER, '--trusted-root', 'expired_root.json']);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/keyless (time|chain) check failed/);
  });

  it('the public-good trusted root ships inside signet and reads', () => {
    const trust = publicGoodTrustedRoot();
    expect(trust.requireSct).toBe(true);
  });

  it('mutated bundles never crash and never verify (property)', () => {
    const original = bundleText();
    const trust = parseTrustedRoot(sigstore.trustedRoot, 'local');
    const artifact = readFileSync(join(dir, 'artifact.bin'));
    fc.assert(
      fc.property(fc.nat(original.length - 1), fc.integer({ min: 1, max: 255 }), (at, delta) => {
        const bytes = Buffer.from(original);
        bytes[at] = ((bytes[at] ?? 0) + delta) % 256;
        let json: unknown;
        try {
          json = JSON.parse(bytes.toString('latin1'));
        } catch {
          return true;
        }
        const result = verifyKeylessBundle(json, { artifact }, trust, { subject: ALICE, issuer: ISSUER });
        // A change outside what is signed or checked (whitespace, key order) may still verify; one
        // inside never may. Only the same JSON value may pass.
        return !result.ok || JSON.stringify(json) === JSON.stringify(JSON.parse(original));
      }),
      { numRuns: 300, seed: 20261204 },
    );
  });
});
