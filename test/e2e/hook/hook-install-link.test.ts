import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitEnv, tempDir } from '../../helpers/git.ts';
import { commitFile, GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

/**
 * `hook install` on a server with many repositories: each hook is a few lines that run one
 * installed signet, not a copy of it; --copy still copies. The installed executable must be
 * writable by its owner only (root or the installer), or every push runs what others put there.
 */
describe('hook install: one installed signet for every repository', () => {
  const dir = tempDir('hook-link');
  const conf = join(dir.path, 'conf');
  const installed = join(dir.path, 'opt', 'bin', 'signet');
  let gpg: GpgHome;
  let alice: GpgIdentity;

  const signet = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const result = spawnSync(process.execPath, ['bin/signet.js', ...args], { encoding: 'utf8' });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const bare = (name: string): string => {
    const path = join(dir.path, `${name}.git`);
    git(dir.path, ['init', '-q', '--bare', '-b', 'main', path]);
    return path;
  };

  beforeAll(() => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'alice.asc'), alice.armoredPublicKey);
    writeFileSync(
      join(conf, 'policy.yml'),
      'version: 1\nkeys:\n  openpgp: [alice.asc]\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n  - refs: ["refs/tags/**"]\n    require_signed_tags: true\n',
    );
    // The installed signet: here a launcher for this checkout's signet, standing in for dist/signet.
    mkdirSync(join(dir.path, 'opt', 'bin'), { recursive: true, mode: 0o755 });
    writeFileSync(installed, `#!/bin/sh\nexec '${process.execPath}' '${join(process.cwd(), 'bin', 'signet.js')}' "$@"\n`, { mode: 0o755 });
  }, 60_000);
  afterAll(() => dir.remove());

  it('writes a few-line hook that runs the installed signet, in every repository, and it guards real pushes', () => {
    const servers = ['one', 'two'].map(bare);
    for (const server of servers) {
      const result = signet(['hook', 'install', '--repo', server, '--policy', join(conf, 'policy.yml'), '--binary', installed]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(`a script that runs ${installed}`);
      const hook = join(server, 'hooks', 'pre-receive');
      expect(statSync(hook).size).toBeLessThan(300);
      expect(readFileSync(hook, 'utf8')).toContain(`exec '${installed}' hook pre-receive`);
    }
    const work = join(dir.path, 'work');
    git(dir.path, ['init', '-q', '-b', 'main', work]);
    const unsigned = commitFile(work, 'a', 'a\n', 'unsigned', { email: alice.email });
    const rejected = spawnSync('git', ['push', '-q', servers[1]!, 'main'], { cwd: work, env: { ...gitEnv, ...gpg.env() }, encoding: 'utf8' });
    expect(rejected.status).not.toBe(0);
    // Said once: the id, letter and subject, then why — not the id and subject again.
    expect(rejected.stderr).toContain(`remote:   ${unsigned.slice(0, 10)} N "unsigned": not signed; the policy requires signed commits`);
    expect(rejected.stderr).not.toContain(`commit ${unsigned.slice(0, 12)} ("unsigned")`);
    // A root commit has no "commit your branch starts from": git's way is --root.
    expect(rejected.stderr).toContain("remote:   - git rebase --root --exec 'git commit --amend --no-edit -S'");
    // A branch whose only commit is signed passes the same hook.
    git(work, ['checkout', '-q', '--orphan', 'clean']);
    git(work, ['rm', '-rq', '--cached', '.']);
    commitFile(work, 'c', 'c\n', 'signed root', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    expect(spawnSync('git', ['push', '-q', servers[1]!, 'clean:main'], { cwd: work, env: { ...gitEnv, ...gpg.env() } }).status).toBe(0);
    // A tag brings no new commits: said so, not "0 new commits verified".
    git(work, [...gpg.gitSigningConfig(alice), 'tag', '-s', '-m', 'release', 'v1'], { env: gpg.env() });
    const tagPush = spawnSync('git', ['push', servers[1]!, 'v1'], { cwd: work, env: { ...gitEnv, ...gpg.env() }, encoding: 'utf8' });
    expect(tagPush.status).toBe(0);
    expect(tagPush.stderr).toContain('signet: refs/tags/v1: accepted; it brings no new commits (the tag itself was checked against the policy)');
    expect(tagPush.stderr).not.toMatch(/0 new commits/);
    // And uninstall knows the hook as signet's.
    expect(signet(['hook', 'uninstall', '--repo', servers[0]!]).code).toBe(0);
    expect(existsSync(join(servers[0]!, 'hooks', 'pre-receive'))).toBe(false);
  });

  it('--copy copies the executable', () => {
    const server = bare('copied');
    expect(signet(['hook', 'install', '--repo', server, '--policy', join(conf, 'policy.yml'), '--binary', installed, '--copy']).code).toBe(0);
    expect(readFileSync(join(server, 'hooks', 'pre-receive'))).toEqual(readFileSync(installed));
  });

  it('refuses an executable, or a directory, that others can write, and leaves the hook as it was', () => {
    const server = bare('refused');
    chmodSync(installed, 0o775);
    try {
      const result = signet(['hook', 'install', '--repo', server, '--policy', join(conf, 'policy.yml'), '--binary', installed]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `signet hook: ${installed}: the executable is writable by group or others, and every push would run what they put there; chmod go-w it, or use --copy\n`,
      );
      expect(existsSync(join(server, 'hooks', 'pre-receive'))).toBe(false);
    } finally {
      chmodSync(installed, 0o755);
    }
    chmodSync(join(dir.path, 'opt', 'bin'), 0o777);
    try {
      const result = signet(['hook', 'install', '--repo', server, '--policy', join(conf, 'policy.yml'), '--binary', installed]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/opt\/bin: its directory is writable by group or others/);
    } finally {
      chmodSync(join(dir.path, 'opt', 'bin'), 0o755);
    }
  });
});
