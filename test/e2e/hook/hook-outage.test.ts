import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitEnv, tempDir } from '../../helpers/git.ts';
import { commitFile, GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

/**
 * The hook when it cannot check (docs/architecture.md "Errors"): an outage — the server's
 * records unreadable, the time limit spent — still refuses the push (fail closed) and tells the
 * pusher "the server could not check; nothing was changed; try again"; a configuration error
 * keeps telling them to ask the admin. Real `git push` into a bare repository with the hook.
 */
describe('pre-receive hook: an outage refuses and says try again', () => {
  const dir = tempDir('hook-outage');
  let gpg: GpgHome;
  let alice: GpgIdentity;
  const conf = join(dir.path, 'conf');

  beforeAll(() => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'alice.asc'), alice.armoredPublicKey);
    writeFileSync(
      join(conf, 'policy.yml'),
      'version: 1\nkeys:\n  openpgp: [alice.asc]\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n',
    );
  }, 60_000);
  afterAll(() => dir.remove());

  function setup(name: string): { server: string; work: string; push: () => { code: number; stderr: string } } {
    const server = join(dir.path, `${name}.git`);
    const work = join(dir.path, name);
    git(dir.path, ['init', '-q', '--bare', '-b', 'main', server]);
    git(dir.path, ['init', '-q', '-b', 'main', work]);
    git(work, ['remote', 'add', 'origin', server]);
    const install = spawnSync(process.execPath, ['bin/signet.js', 'hook', 'install', '--script', '--repo', server, '--policy', join(conf, 'policy.yml')], {
      encoding: 'utf8',
    });
    expect(install.stderr).toBe('');
    const push = (): { code: number; stderr: string } => {
      const result = spawnSync('git', ['push', 'origin', 'main'], { cwd: work, env: { ...gitEnv, ...gpg.env() }, encoding: 'utf8', timeout: 60_000 });
      return { code: result.status ?? -1, stderr: result.stderr };
    };
    return { server, work, push };
  }

  const refAbsent = (server: string): boolean => spawnSync('git', ['--git-dir', server, 'rev-parse', '--verify', '-q', 'main']).status !== 0;

  it('verdict records it cannot read: a well-signed push is refused with "could not check … try again", never accepted', () => {
    const { server, work, push } = setup('records');
    const commit = commitFile(work, 'a', 'a\n', 'signed', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    // The bucket file of this commit is a directory: reading it fails with EISDIR (root reads any mode bits).
    mkdirSync(join(server, 'signet', 'verdicts', `${commit.slice(0, 2)}.jsonl`), { recursive: true });
    const result = push();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/signet: push rejected: the server could not check: cannot read the server's records .*\.jsonl \(EISDIR\)/);
    expect(result.stderr).toMatch(/nothing was changed \(no ref was updated\); try again/);
    expect(result.stderr).not.toMatch(/Ask the server admin to check the hook configuration/);
    expect(refAbsent(server)).toBe(true);
  });

  it('the time limit is an outage too: refused, "try again"', () => {
    const { server, work, push } = setup('budget');
    git(server, ['config', 'signet.timeoutMs', '1']);
    for (let i = 0; i < 3; i++) commitFile(work, `f${i}`, `${i}\n`, `signed ${i}`, { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    const result = push();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/the server could not check: verification did not finish within the hook time limit/);
    expect(result.stderr).toMatch(/try again/);
    expect(refAbsent(server)).toBe(true);
  });

  it('a configuration error is not an outage: refused, and the admin is asked to fix the hook', () => {
    const { server, work, push } = setup('config');
    git(server, ['config', 'signet.policy', join(conf, 'missing.yml')]);
    commitFile(work, 'a', 'a\n', 'signed', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    const result = push();
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/signet: push rejected: .*missing\.yml: cannot read the policy \(ENOENT\)/);
    expect(result.stderr).toMatch(/Ask the server admin to check the hook configuration/);
    expect(result.stderr).not.toMatch(/try again/);
    expect(refAbsent(server)).toBe(true);
  });
});
