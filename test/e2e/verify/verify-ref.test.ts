import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, tempDir } from '../../helpers/git.ts';

function signet(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), ...args], { encoding: 'utf8' });
}

/**
 * `signet verify --policy P --ref REF`: the CI gate. REF is read as git reads a ref name, so
 * the natural `--ref main` is judged under main's rule; a name that is ambiguous or names
 * nothing is a usage error, and a gate that requires nothing says so on stderr.
 */
describe('signet verify --policy --ref', () => {
  const dir = tempDir('verify-ref');
  const repo = join(dir.path, 'repo');
  const policy = join(dir.path, 'policy.yml');
  let base = '';

  beforeAll(() => {
    writeFileSync(policy, 'version: 1\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    writeFileSync(join(repo, 'a'), 'a');
    git(repo, ['add', 'a']);
    git(repo, ['commit', '-q', '-m', 'base']);
    base = git(repo, ['rev-parse', 'HEAD']);
    writeFileSync(join(repo, 'b'), 'b');
    git(repo, ['add', 'b']);
    git(repo, ['commit', '-q', '-m', 'unsigned']);
    git(repo, ['branch', 'topic']);
    git(repo, ['branch', 'release']);
    git(repo, ['tag', 'release']);
    git(repo, ['symbolic-ref', 'refs/heads/master', 'refs/heads/main']);
  });
  afterAll(() => dir.remove());

  const verify = (...args: string[]): ReturnType<typeof signet> => signet(['verify', '--repo', repo, '--policy', policy, ...args, `${base}..HEAD`]);

  it('judges a short name as the ref git resolves it to (main → refs/heads/main)', () => {
    for (const ref of ['main', 'heads/main', 'refs/heads/main']) {
      const result = verify('--ref', ref);
      expect(result.status, `${ref}: ${result.stderr}`).toBe(1);
      expect(result.stdout).toMatch(/not signed; the policy requires signed commits/);
      expect(result.stdout).toMatch(/for refs\/heads\/main: the policy rejects this update/);
    }
  });

  it("judges a local alias (master → main) under its target's rule", () => {
    const result = verify('--ref', 'master');
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/the policy rejects this update/);
  });

  it('takes the ref from the revision when --ref is left out', () => {
    const result = signet(['verify', '--repo', repo, '--policy', policy, `${base}..main`]);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/for refs\/heads\/main: the policy rejects/);
  });

  it('refuses an ambiguous or unknown short name with one line and exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--ref', 'release'], /--ref release is ambiguous: it names refs\/tags\/release and refs\/heads\/release; give the full name/],
      [['--ref', 'nope'], /--ref nope: no such ref/],
      [['--ref', 'refs/heads/a..b'], /not a valid ref name/],
    ];
    for (const [args, pattern] of cases) {
      const result = verify(...args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
    const revision = signet(['verify', '--repo', repo, '--policy', policy, `${base}..release`]);
    expect(revision.status).toBe(2);
    expect(revision.stderr).toMatch(/the revision release is ambiguous/);
  });

  it('warns on stderr when no rule applies to the ref, and still exits 0', () => {
    for (const ref of ['topic', 'refs/heads/not-yet-created']) {
      const result = verify('--ref', ref);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/^signet: WARNING: no rule of .*policy\.yml applies to refs\/heads\/(topic|not-yet-created); nothing was required/);
    }
    const judged = verify('--ref', 'main');
    expect(judged.stderr).not.toMatch(/WARNING/);
  });
});
