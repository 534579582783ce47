/**
 * The scripts in hooks/: the portable wrapper runs the signet it finds and fails closed when
 * it finds none; real pushes into a bare repository.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitEnv, tempDir } from '../../helpers/git.ts';
import { commitFile, GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

const SIGNET = resolve('bin/signet.js');

describe('hooks/pre-receive, the portable wrapper', () => {
  const dir = tempDir('hook-scripts');
  const server = join(dir.path, 'server.git');
  const work = join(dir.path, 'work');
  let gpg: GpgHome;
  let alice: GpgIdentity;

  const serverRef = (ref: string): string | undefined => {
    const result = spawnSync('git', ['--git-dir', server, 'rev-parse', '--verify', '-q', ref], { encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : undefined;
  };
  const push = (env: NodeJS.ProcessEnv = {}): { code: number; stderr: string } => {
    const result = spawnSync('git', ['push', 'origin', 'main'], { cwd: work, env: { ...gitEnv, ...gpg.env(), ...env }, encoding: 'utf8', timeout: 60_000 });
    return { code: result.status ?? -1, stderr: result.stderr };
  };

  beforeAll(() => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    mkdirSync(join(dir.path, 'conf'));
    writeFileSync(join(dir.path, 'conf', 'alice.asc'), alice.armoredPublicKey);
    writeFileSync(
      join(dir.path, 'conf', 'policy.yml'),
      'version: 1\nkeys:\n  openpgp: [alice.asc]\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n',
    );
    git(dir.path, ['init', '-q', '--bare', '-b', 'main', server]);
    copyFileSync('hooks/pre-receive', join(server, 'hooks', 'pre-receive'));
    git(server, ['config', 'signet.policy', join(dir.path, 'conf', 'policy.yml')]);
    git(dir.path, ['init', '-q', '-b', 'main', work]);
    git(work, ['remote', 'add', 'origin', server]);
  }, 60_000);

  afterAll(() => dir.remove());

  it('refuses every push while no signet can be found, and says so (GitLab prefix on GitLab)', () => {
    const oid = commitFile(work, 'a', 'a\n', 'signed by alice', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
    const plain = push({ PATH: '/usr/bin:/bin' });
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/remote: signet: push rejected: the signet executable was not found/);
    const gitlab = push({ PATH: '/usr/bin:/bin', GL_ID: 'user-1' });
    expect(gitlab.stderr).toMatch(/remote: GL-HOOK-ERR: signet: push rejected/);
    expect(serverRef('main')).toBeUndefined();
    git(server, ['config', 'signet.binary', join(dir.path, 'missing', 'signet')]);
    expect(push().code).not.toBe(0);
    expect(serverRef('main')).toBeUndefined();
    expect(oid).toMatch(/^[0-9a-f]{40}$/);
  });

  it('runs the signet git config names: a signed commit passes, an unsigned one is refused', () => {
    git(server, ['config', 'signet.binary', SIGNET]);
    const signed = git(work, ['rev-parse', 'HEAD']);
    const accepted = push();
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(serverRef('main')).toBe(signed);
    commitFile(work, 'b', 'b\n', 'not signed', { email: alice.email });
    const refused = push();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/N "not signed"/);
    expect(refused.stderr).toMatch(/No ref was updated/);
    expect(serverRef('main')).toBe(signed);
  });

  it('takes SIGNET_BIN when git config names none', () => {
    git(server, ['config', '--unset', 'signet.binary']);
    const refused = push({ SIGNET_BIN: SIGNET });
    expect(refused.stderr).toMatch(/N "not signed"/);
    expect(refused.code).not.toBe(0);
  });
});
