import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/git.ts';

/**
 * `signet verify` keeps many commits in flight, their signature checks on libuv's thread pool,
 * and starts verifying while the walk goes on (speculatively when the range has exclusions).
 * None of that may change a letter or the order: run the real bundle on a 2,000-commit signed
 * history one commit at a time on this thread (--jobs 1) and in flight, against git's own order.
 */
describe('verification in flight', () => {
  const dir = tempDir('parallel');
  const repo = (): string => join(dir.path, 'repo');
  beforeAll(() => {
    execFileSync(process.execPath, ['bench/make-bench-repo-fast.mjs', dir.path, '1000', '1000'], { stdio: 'pipe' });
  }, 180_000);
  afterAll(() => dir.remove());

  const verify = (extra: string[], revisions: string[], keys = true): string[] => {
    const keyArgs = keys ? ['--keyring', join(dir.path, 'keys/registry.asc'), '--allowed-signers', join(dir.path, 'keys/allowed_signers')] : [];
    // Without key options signet reads what git would (gpg's keyring, git config): an empty
    // GNUPGHOME keeps that out of the test, and the one stderr line says the registry is empty.
    const env = keys ? process.env : { ...process.env, GNUPGHOME: join(dir.path, 'empty-gnupg'), GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
    if (!keys) mkdirSync(join(dir.path, 'empty-gnupg'), { recursive: true, mode: 0o700 });
    const result = spawnSync(process.execPath, ['bin/signet.js', 'verify', '--repo', repo(), ...keyArgs, '--format', 'jsonl', ...extra, ...revisions], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env,
    });
    if (keys) expect(result.stderr).toBe('');
    else expect(result.stderr).toMatch(/^signet verify: no key options, .*the registry is empty.*\n$/);
    return result.stdout.trim().split('\n').filter(Boolean);
  };
  const revList = (revisions: string[]): string[] =>
    execFileSync('git', ['-C', repo(), 'rev-list', ...revisions], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean);

  it('gives the one-at-a-time result, line for line, with 2, 3 and 256 commits in flight', () => {
    const sequential = verify(['--jobs', '1'], ['main']);
    expect(sequential).toHaveLength(2000);
    expect(verify(['--jobs', '2'], ['main'])).toEqual(sequential);
    expect(verify(['--jobs', '3'], ['main'])).toEqual(sequential);
    expect(verify([], ['main'])).toEqual(sequential);
    expect(sequential.map((line) => JSON.parse(line).commit)).toEqual(revList(['main']));
    expect(new Set(sequential.map((line) => JSON.parse(line).status))).toEqual(new Set(['G']));
  });

  it('keeps only what the walk confirms when the range has exclusions (speculative starts)', () => {
    for (const revisions of [['main~1500..main~100'], ['main', '^main~1999'], ['main~10..main'], ['main..main~5']]) {
      const sequential = verify(['--jobs', '1'], revisions);
      expect(verify([], revisions), revisions.join(' ')).toEqual(sequential);
      expect(
        sequential.map((line) => JSON.parse(line).commit),
        revisions.join(' '),
      ).toEqual(revList(revisions));
    }
  });

  it('gives the same letters in flight when signatures are not G (no keys: E and U)', () => {
    const sequential = verify(['--jobs', '1'], ['main'], false);
    expect(verify([], ['main'], false)).toEqual(sequential);
    expect(new Set(sequential.map((line) => JSON.parse(line).status))).toEqual(new Set(['E', 'U']));
  });

  it('refuses a --jobs value that is not a positive whole number', () => {
    const result = spawnSync(
      process.execPath,
      ['bin/signet.js', 'verify', '--repo', repo(), '--keyring', join(dir.path, 'keys/registry.asc'), '--jobs', '0', 'main'],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--jobs must be a whole number/);
  });
});
