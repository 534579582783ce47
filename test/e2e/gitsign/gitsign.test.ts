import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeylessIdentity } from '../../../src/core/sigstore/identity.ts';
import { parseTrustedRoot } from '../../../src/core/sigstore/trusted-root.ts';
import { verifyCommitObject, type KeyRegistries } from '../../../src/core/verify-object.ts';
import { buildRegistries } from '../../../src/keys/load-registries.ts';
import { PUBLIC_GOOD_TRUSTED_ROOT_BASE64 } from '../../../src/keys/public-good-trusted-root.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';
import { localSigstore, type LocalSigstore, type SignOptions } from '../../helpers/sigstore-local.ts';
import { withSignature, writeCommit } from '../../helpers/x509-gpgsm.ts';

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
    registries = {
      ...(await buildRegistries({ keyrings: [] })),
      keyless: { source: 'trusted_root.json', trustMaterial: parseTrustedRoot(sigstore.trustedRoot, 'trusted_root.json').material, identities: [alice] },
    };
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

  async function verdictOf(
    options: SignOptions = {},
    tamper = false,
    with_: KeyRegistries = registries,
  ): Promise<{ status: string; reason: string; detail?: string; signer?: string }> {
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
    const foreign = {
      ...registries,
      keyless: { source: 'other.json', trustMaterial: parseTrustedRoot(other.trustedRoot, 'other.json').material, identities: [alice] },
    };
    const verdict = await verdictOf({}, false, foreign);
    expect(verdict.status).not.toBe('G');
  });

  describe('signet verify with the four cosign identity flags', () => {
    const signet = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), 'verify', '--repo', repo, ...args], { encoding: 'utf8' });
    let rootFile: string;
    let oid: string;
    beforeAll(async () => {
      rootFile = join(dir.path, 'trusted_root.json');
      writeFileSync(rootFile, sigstore.trustedRoot);
      oid = (await gitsignCommit()).oid;
      git(repo, ['update-ref', 'refs/heads/keyless', oid]);
    });
    const statusOf = (run: { stdout: string }): string => (JSON.parse(run.stdout.trim()) as { status: string }).status;

    it('exact identity and issuer: G', () => {
      const run = signet([
        '--trusted-root',
        rootFile,
        '--certificate-identity',
        'alice@example.com',
        '--certificate-oidc-issuer',
        'https://accounts.example.com',
        '--format',
        'jsonl',
        'keyless',
      ]);
      expect(statusOf(run)).toBe('G');
      expect(run.status).toBe(0);
    });
    it('anchored regexps: G; another identity: U', () => {
      expect(
        statusOf(
          signet([
            '--trusted-root',
            rootFile,
            '--certificate-identity-regexp',
            '^alice@example\\.com$',
            '--certificate-oidc-issuer-regexp',
            '^https://accounts\\.example\\.com$',
            '--format',
            'jsonl',
            'keyless',
          ]),
        ),
      ).toBe('G');
      expect(
        statusOf(
          signet([
            '--trusted-root',
            rootFile,
            '--certificate-identity',
            'bob@example.com',
            '--certificate-oidc-issuer',
            'https://accounts.example.com',
            '--format',
            'jsonl',
            'keyless',
          ]),
        ),
      ).toBe('U');
    });
    it('the shipped public-good root does not vouch for a local Fulcio: U', () => {
      expect(
        statusOf(
          signet(['--certificate-identity', 'alice@example.com', '--certificate-oidc-issuer', 'https://accounts.example.com', '--format', 'jsonl', 'keyless']),
        ),
      ).toBe('U');
    });
    it('signet verify --policy: keys.trusted_root and a keyless identity in signers allow the push; another identity does not', () => {
      const write = (name: string, subject: string): string => {
        const file = join(dir.path, name);
        writeFileSync(
          file,
          `version: 1\nkeys:\n  trusted_root: trusted_root.json\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n    signers:\n      - {issuer: "https://accounts.example.com", subject: "${subject}"}\n`,
        );
        return file;
      };
      const allowed = signet(['--policy', write('allow.yml', 'alice@example.com'), '--ref', 'refs/heads/keyless', 'keyless']);
      expect(allowed.stderr).toBe('');
      expect(allowed.status).toBe(0);
      expect(signet(['--policy', write('deny.yml', 'bob@example.com'), '--ref', 'refs/heads/keyless', 'keyless']).status).toBe(1);
    });

    const bad: Array<[string, string[], RegExp]> = [
      [
        'an unanchored regexp',
        ['--certificate-identity-regexp', 'alice@example\\.com', '--certificate-oidc-issuer', 'https://accounts.example.com'],
        /--certificate-identity-regexp: the regular expression 'alice@example\\\.com' must be anchored/,
      ],
      ['an identity without an issuer', ['--certificate-identity', 'alice@example.com'], /--certificate-identity needs --certificate-oidc-issuer/],
      [
        'a trusted root that is not one',
        ['--trusted-root', join(process.cwd(), 'package.json'), '--certificate-identity', 'a@b.c', '--certificate-oidc-issuer', 'https://x'],
        /package\.json: not a Sigstore trusted root/,
      ],
    ];
    for (const [name, args, message] of bad) {
      it(`${name}: one line naming it, exit 2`, () => {
        const run = signet([...args, 'keyless']);
        expect(run.status).toBe(2);
        expect(run.stderr.trim().split('\n')).toHaveLength(1);
        expect(run.stderr).toMatch(message);
      });
    }
  });

  it('the shipped public-good trusted root is the one @sigstore/tuf embeds', () => {
    const seeds = JSON.parse(readFileSync(join(process.cwd(), 'node_modules/@sigstore/tuf/seeds.json'), 'utf8')) as Record<
      string,
      { targets: Record<string, string> }
    >;
    expect(PUBLIC_GOOD_TRUSTED_ROOT_BASE64).toBe(seeds['https://tuf-repo-cdn.sigstore.dev']!.targets['trusted_root.json']);
  });
});
