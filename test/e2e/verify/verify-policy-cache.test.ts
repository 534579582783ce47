/**
 * `signet verify --policy` reuses the verdict cache as a plain `signet verify` does: a second
 * run gives the same output and checks no signature (the run's own counter, SIGNET_CACHE_STATS),
 * and a changed policy, key file or --now finds no old verdict.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, tempDir } from '../../helpers/git.ts';
import { commitFile, createSshKey, sshSigningConfig, type SshIdentity } from '../../helpers/signing-keys.ts';

const CACHE_KEY = 'verify-policy-cache-test-secret-of-32-bytes-or-more';

const POLICY = `version: 1
keys:
  ssh_allowed_signers: keys/allowed_signers
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
    accept: [G]
`;

describe('signet verify --policy: the verdict cache', () => {
  const dir = tempDir('verify-policy-cache');
  let repo: string;
  let policy: string;
  let allowed: string;
  let cache: string;
  let alice: SshIdentity;
  let bob: SshIdentity;

  const signet = (extra: string[] = []) => {
    const run = spawnSync(
      process.execPath,
      [join(process.cwd(), 'bin/signet.js'), 'verify', '--repo', repo, '--policy', policy, '--format', 'json', ...extra, 'main'],
      {
        encoding: 'utf8',
        env: { ...process.env, SIGNET_CACHE_KEY: CACHE_KEY, SIGNET_CACHE_STATS: '1' },
      },
    );
    const stats = /verdict cache: (\d+) reused, (\d+) verified/.exec(run.stderr);
    return {
      status: run.status,
      stdout: run.stdout,
      stderr: run.stderr,
      reused: stats ? Number(stats[1]) : undefined,
      verified: stats ? Number(stats[2]) : undefined,
    };
  };

  beforeAll(() => {
    repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    alice = createSshKey(join(dir.path, 'ssh'), 'alice', 'alice@example.com');
    bob = createSshKey(join(dir.path, 'ssh'), 'bob', 'bob@example.com');
    for (let i = 0; i < 3; i++) commitFile(repo, `f${i}`, String(i), `signed ${i}`, { email: 'alice@example.com', sign: sshSigningConfig(alice) });
    // One unsigned commit: the policy rejects the update, and the rejection must be reproduced too.
    commitFile(repo, 'u', 'x', 'unsigned', { email: 'mallory@example.com' });
    mkdirSync(join(dir.path, 'gate', 'keys'), { recursive: true });
    policy = join(dir.path, 'gate', 'signet.yml');
    allowed = join(dir.path, 'gate', 'keys', 'allowed_signers');
    writeFileSync(policy, POLICY);
    writeFileSync(allowed, `alice@example.com ${alice.publicKeyLine}\n`);
    cache = join(dir.path, 'cache');
  });

  afterAll(() => dir.remove());

  it('a second run gives the same output and verifies no signature again', () => {
    const first = signet(['--cache', cache]);
    expect(first.status).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ ref: 'refs/heads/main', allowed: false });
    expect(first).toMatchObject({ reused: 0, verified: 4 });
    const second = signet(['--cache', cache]);
    expect(second.stdout).toBe(first.stdout);
    expect(second.status).toBe(first.status);
    expect(second).toMatchObject({ reused: 4, verified: 0 });
  });

  it('a changed policy, key file or --now finds no old verdict', () => {
    writeFileSync(policy, `${POLICY}# reviewed\n`);
    expect(signet(['--cache', cache])).toMatchObject({ reused: 0, verified: 4 });
    expect(signet(['--cache', cache])).toMatchObject({ reused: 4, verified: 0 });

    writeFileSync(allowed, `alice@example.com ${alice.publicKeyLine}\nbob@example.com ${bob.publicKeyLine}\n`);
    expect(signet(['--cache', cache])).toMatchObject({ reused: 0, verified: 4 });

    const withNow = signet(['--cache', cache, '--now', '2030-01-01T00:00:00Z']);
    expect(withNow).toMatchObject({ reused: 0, verified: 4 });
    expect(signet(['--cache', cache, '--now', '2030-01-01T00:00:00Z'])).toMatchObject({ reused: 4, verified: 0, stdout: withNow.stdout });
  });

  it('a key removed from allowed_signers is not trusted from the cache', () => {
    writeFileSync(allowed, `alice@example.com ${alice.publicKeyLine}\n`);
    const trusted = signet(['--cache', cache]);
    expect(JSON.parse(trusted.stdout).commits.filter((c: { status: string }) => c.status === 'G')).toHaveLength(3);
    writeFileSync(allowed, `bob@example.com ${bob.publicKeyLine}\n`);
    const after = signet(['--cache', cache]);
    expect(after.verified).toBe(4);
    expect(JSON.parse(after.stdout).commits.filter((c: { status: string }) => c.status === 'G')).toHaveLength(0);
  });

  it('--no-cache neither reads nor writes; the default directory is in the git dir', () => {
    const run = signet(['--no-cache']);
    expect(run.status).toBe(1);
    expect(run.reused).toBeUndefined();
    expect(existsSync(join(repo, '.git', 'signet', 'verify-cache'))).toBe(false);
    expect(signet()).toMatchObject({ reused: 0, verified: 4 });
    expect(readdirSync(join(repo, '.git', 'signet', 'verify-cache')).filter((name) => name.endsWith('.cache'))).toHaveLength(1);
    expect(signet()).toMatchObject({ reused: 4, verified: 0 });
    expect(signet(['--no-cache', '--cache', cache]).status).toBe(2);
  });
});
