import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrustedRoot, type KeylessIdentity } from '../src/core/sigstore/keyless-registry.ts';
import { verifyCommitObject, type KeyRegistries } from '../src/core/verify-object.ts';
import { buildRegistries } from '../src/keys/load-registries.ts';
import { git, gitBytes, tempDir } from './helpers/git.ts';
import { localSigstore, type LocalSigstore, type SignOptions } from './helpers/sigstore-local.ts';
import { withSignature, writeCommit } from './helpers/x509-gpgsm.ts';

/** gitsign (Sigstore keyless) commits made against a local Fulcio CA and Rekor log, verified offline. */
describe('gitsign commits, verified offline against a trusted root', () => {
  const dir = tempDir('gitsign');
  const repo = join(dir.path, 'repo');
  let sigstore: LocalSigstore;
  let registries: KeyRegistries;
  const alice: KeylessIdentity = { subject: 'alice@example.com', issuer: 'https://accounts.example.com' };

  beforeAll(async () => {
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    sigstore = await localSigstore();
    registries = { ...(await buildRegistries({ keyrings: [] })), keyless: { source: 'trusted_root.json', trustMaterial: parseTrustedRoot(sigstore.trustedRoot, 'trusted_root.json'), identities: [alice] } };
  });
  afterAll(() => dir.remove());

  let counter = 0;
  async function gitsignCommit(options: SignOptions = {}, tamper = false): Promise<{ oid: string; bytes: Buffer }> {
    const tree = git(repo, ['write-tree']);
    const oid = git(repo, ['commit-tree', tree, '-m', `commit ${counter++}`]);
    const unsigned = gitBytes(repo, ['cat-file', 'commit', oid]);
    let signed = withSignature(unsigned, await sigstore.sign(unsigned, options));
    if (tamper) signed = Buffer.from(signed.toString('latin1').replace(/commit (\d+)\n$/, 'commit $1 (changed)\n'), 'latin1');
    return { oid: writeCommit(repo, signed), bytes: signed };
  }

  async function verdictOf(options: SignOptions = {}, tamper = false, with_: KeyRegistries = registries): Promise<{ status: string; reason: string; detail?: string; signer?: string }> {
    const { oid, bytes } = await gitsignCommit(options, tamper);
    return (await verifyCommitObject(oid, bytes, with_, { hash: 'sha1', now: new Date() })).verdict;
  }

  const cases: Array<[string, SignOptions, boolean, string, string, RegExp?]> = [
    ['good', {}, false, 'G', 'valid'],
    ['wrong identity', { subject: 'mallory@example.com' }, false, 'U', 'unknown_key', /identity: mallory@example.com/],
    ['wrong issuer', { issuer: 'https://evil.example.com' }, false, 'U', 'unknown_key', /issuer https:\/\/evil/],
    ['certificate outside its validity at the integrated time', { logClock: new Date(Date.now() + 3_600_000) }, false, 'E', 'expired_key', /^time:/],
    ['no log entry (online mode)', { noLogEntry: true }, false, 'E', 'unknown_key', /without a Rekor log entry/],
    ['log entry for another signature', { logOtherBody: true }, false, 'E', 'invalid', /^log:/],
    ['inclusion proof with a flipped hash', { flipProofHash: true }, false, 'E', 'invalid', /^log: the inclusion proof's root hash/],
    ['inclusion proof and signed checkpoint with a flipped root hash', { flipCheckpointRoot: true }, false, 'E', 'invalid', /^log:.*TLOG_INCLUSION_PROOF/],
    ['inclusion proof without a signed entry timestamp: no trusted time', { noPromise: true }, false, 'E', 'invalid', /TIMESTAMP_ERROR/],
    ['tampered payload', {}, true, 'B', 'invalid'],
  ];
  for (const [name, options, tamper, status, reason, detail] of cases) {
    it(`${name}: ${status} ${reason}`, async () => {
      const verdict = await verdictOf(options, tamper);
      expect({ status: verdict.status, reason: verdict.reason }).toEqual({ status, reason });
      if (detail) expect(verdict.detail).toMatch(detail);
    });
  }

  it('the signer is the SAN with its OIDC issuer', async () => {
    expect((await verdictOf()).signer).toBe('alice@example.com (https://accounts.example.com)');
  });

  it('without a trusted root a good gitsign commit is U, never G', async () => {
    expect((await verdictOf({}, false, await buildRegistries({ keyrings: [] }))).status).toBe('U');
  });

  it('a trusted root of another Sigstore does not vouch for this one', async () => {
    const other = await localSigstore();
    const foreign = { ...registries, keyless: { source: 'other.json', trustMaterial: parseTrustedRoot(other.trustedRoot, 'other.json'), identities: [alice] } };
    const verdict = await verdictOf({}, false, foreign);
    expect(verdict.status).not.toBe('G');
  });
});
