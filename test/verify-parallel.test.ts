import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/git.ts';

/**
 * The worker-thread path must give exactly the sequential answer, in the same order: run the
 * real bundle on a 2,000-commit signed history both ways and against git's own letters.
 */
describe('parallel verification', () => {
  const dir = tempDir('parallel');
  beforeAll(() => {
    execFileSync(process.execPath, ['bench/make-bench-repo-fast.mjs', dir.path, '1000', '1000'], { stdio: 'pipe' });
  }, 180_000);
  afterAll(() => dir.remove());

  const verify = (jobs: string): string[] => {
    const result = spawnSync(process.execPath, ['bin/signet.js', 'verify', '--repo', join(dir.path, 'repo'), '--keyring', join(dir.path, 'keys/registry.asc'), '--allowed-signers', join(dir.path, 'keys/allowed_signers'), '--format', 'jsonl', '--jobs', jobs, 'main'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return result.stdout.trim().split('\n');
  };

  it('gives the sequential result, line for line, on 2 and 3 threads', () => {
    const sequential = verify('1');
    expect(sequential).toHaveLength(2000);
    expect(verify('2')).toEqual(sequential);
    expect(verify('3')).toEqual(sequential);
    const order = execFileSync('git', ['-C', join(dir.path, 'repo'), 'rev-list', 'main'], { encoding: 'utf8' }).trim().split('\n');
    expect(sequential.map((line) => JSON.parse(line).commit)).toEqual(order);
    expect(new Set(sequential.map((line) => JSON.parse(line).status))).toEqual(new Set(['G']));
  });

  it('refuses a --jobs value that is not a positive whole number', () => {
    const result = spawnSync(process.execPath, ['bin/signet.js', 'verify', '--repo', join(dir.path, 'repo'), '--keyring', join(dir.path, 'keys/registry.asc'), '--jobs', '0', 'main'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--jobs must be a whole number/);
  });
});
