import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildComplianceReport } from '../../../src/report/collect.ts';
import { commitTree, git, tempDir } from '../../helpers/git.ts';

/**
 * The report judges path rules with the hook's changed paths (src/git/commit-changed-paths.ts).
 * It used the first parent alone, so a merge whose first parent is an old commit took a
 * protected file back to its old version with an empty diff: the hook refused such a push, the
 * report counted the merge compliant.
 */
describe('compliance report: path rules on merges', () => {
  const dir = tempDir('report-merge-paths');
  afterAll(() => dir.remove());

  it('counts a merge that takes a protected file back to an old version as touching it, as the hook does', async () => {
    const repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    // Every commit is signed by bob, whom the rule accepts; only alice may touch protected/.
    mkdirSync(join(dir.path, 'policy'), { recursive: true });
    const bobKey = join(dir.path, 'bob');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bob', '-f', bobKey]);
    writeFileSync(join(dir.path, 'policy', 'allowed_signers'), `bob@example.com ${readFileSync(`${bobKey}.pub`, 'utf8')}`);
    for (const [name, value] of [
      ['gpg.format', 'ssh'],
      ['user.signingkey', bobKey],
      ['user.email', 'bob@example.com'],
      ['user.name', 'Bob'],
    ])
      git(repo, ['config', name!, value!]);
    const tree = (version: string, other: string): string => {
      const blob = (text: string): string => git(repo, ['hash-object', '-w', '--stdin'], { input: text });
      const inner = git(repo, ['mktree'], { input: `100644 blob ${blob(version)}\tfile\n` });
      return git(repo, ['mktree'], { input: `040000 tree ${inner}\tprotected\n100644 blob ${blob(other)}\tREADME\n` });
    };
    const t0 = 1_767_225_600; // 2026-01-01
    const signed = ['-S'];
    const c1 = commitTree(repo, tree('v1', 'a'), [], 'c1', t0, signed);
    const c2 = commitTree(repo, tree('v2', 'a'), [c1], 'c2 changes the protected file', t0 + 100, signed);
    const c3 = commitTree(repo, tree('v2', 'b'), [c2], 'c3 changes README only', t0 + 200, signed);
    // First parent c1 (protected/file = v1), second parent c3 (v2); the merge keeps v1.
    const merge = commitTree(repo, tree('v1', 'b'), [c1, c3], 'merge takes the protected file back', t0 + 300, signed);
    git(repo, ['update-ref', 'refs/heads/main', merge]);
    const policy = join(dir.path, 'policy', 'policy.yml');
    writeFileSync(
      policy,
      [
        'version: 1',
        'keys:',
        '  ssh_allowed_signers: allowed_signers',
        'rules:',
        '  - refs: [refs/heads/main]',
        '    require_signed_commits: true',
        '    signers: [bob@example.com, alice@example.com]',
        '    paths:',
        '      - match: [protected/**]',
        '        signers: [alice@example.com]',
        '',
      ].join('\n'),
    );
    const report = await buildComplianceReport({
      repo,
      cwd: dir.path,
      since: new Date((t0 - 10) * 1000),
      until: new Date((t0 + 1000) * 1000),
      policy,
      now: new Date((t0 + 2000) * 1000),
    });
    const main = report.refs.find((ref) => ref.ref === 'refs/heads/main')!;
    expect(main.commits).toBe(4);
    expect(main.good).toBe(4);
    // c1 (root: every path), c2 and the merge touch protected/ without alice; c3 does not.
    expect(main.violations).toBe(3);
    expect(main.compliant).toBe(1);
  });
});
