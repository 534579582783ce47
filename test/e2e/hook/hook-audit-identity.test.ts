import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitEnv, tempDir } from '../../helpers/git.ts';
import { commitFile, GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

/**
 * The hook's audit records say who and where on a plain git server too: the repository's path
 * (or `signet.repository`), the strongest pusher identity available (a verified push
 * certificate, then GL_USER, REMOTE_USER, GIT_PUSHER, USER), and the repository also on the
 * record of a push that failed closed (a timeout).
 */
describe('hook audit records: actor and repository', () => {
  const dir = tempDir('hook-audit');
  const conf = join(dir.path, 'conf');
  const server = join(dir.path, 'server.git');
  const work = join(dir.path, 'work');
  let gpg: GpgHome;
  let alice: GpgIdentity;

  const push = (args: string[], env: NodeJS.ProcessEnv): number => {
    const clean = { ...gitEnv };
    for (const name of ['GL_USER', 'REMOTE_USER', 'GIT_PUSHER', 'GL_ID', 'GL_PROTOCOL', 'GL_USERNAME', 'GITHUB_USER_LOGIN', 'GITHUB_REPO_NAME', 'GITHUB_VIA'])
      delete clean[name];
    return (
      spawnSync('git', ['push', '-q', ...args], { cwd: work, env: { ...clean, ...gpg.env(), USER: 'git', ...env }, encoding: 'utf8', timeout: 60_000 })
        .status ?? -1
    );
  };
  const lastRecord = (): Record<string, unknown> => {
    const lines = readFileSync(join(server, 'signet', 'audit.log'), 'utf8')
      .trim()
      .split('\n');
    return JSON.parse(lines[lines.length - 1]!);
  };
  const exported = (): Array<Record<string, unknown>> => {
    const result = spawnSync(process.execPath, ['bin/signet.js', 'audit', 'export', '--since', '2000-01-01', '--repo', server], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    return result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  };

  beforeAll(() => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'registry.asc'), alice.armoredPublicKey);
    writeFileSync(
      join(conf, 'policy.yml'),
      'version: 1\nkeys:\n  openpgp: [registry.asc]\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n',
    );
    git(dir.path, ['init', '-q', '--bare', '-b', 'main', server]);
    git(server, ['config', 'receive.certNonceSeed', 'test-seed']);
    git(dir.path, ['init', '-q', '-b', 'main', work]);
    git(work, ['remote', 'add', 'origin', server]);
    const install = spawnSync(process.execPath, ['bin/signet.js', 'hook', 'install', '--script', '--repo', server, '--policy', join(conf, 'policy.yml')], {
      encoding: 'utf8',
    });
    expect(install.stderr).toBe('');
    commitFile(work, 'a', 'a\n', 'first', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
  }, 60_000);
  afterAll(() => dir.remove());

  it('names the repository by its path and prefers REMOTE_USER to the shared USER', () => {
    expect(push(['origin', 'main:refs/heads/one'], { REMOTE_USER: 'alice-web' })).toBe(0);
    expect(lastRecord()).toMatchObject({ repository: server, pusher: 'alice-web', pusherSource: 'REMOTE_USER' });
    expect(push(['origin', 'main:refs/heads/two'], { GL_USER: 'alice-gitolite', REMOTE_USER: 'other' })).toBe(0);
    expect(lastRecord()).toMatchObject({ pusher: 'alice-gitolite', pusherSource: 'GL_USER' });
    expect(push(['origin', 'main:refs/heads/three'], {})).toBe(0);
    expect(lastRecord()).toMatchObject({ pusher: 'git', pusherSource: 'USER' });
  });

  it('uses signet.repository from the config as the name when set', () => {
    git(server, ['config', 'signet.repository', 'org/project']);
    try {
      expect(push(['origin', 'main:refs/heads/four'], {})).toBe(0);
      expect(lastRecord()).toMatchObject({ repository: 'org/project' });
    } finally {
      git(server, ['config', '--unset', 'signet.repository']);
    }
  });

  it('names the signer of a verified push certificate as the pusher', () => {
    const code = push(['--signed', 'origin', 'main:refs/heads/five'], {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'user.signingkey',
      GIT_CONFIG_VALUE_0: alice.fingerprint,
    });
    expect(code).toBe(0);
    expect(lastRecord()).toMatchObject({ pusher: 'Alice <alice@example.com>', pusherSource: 'push certificate' });
  });

  it('keeps the repository on the record of a push that timed out (GHES)', () => {
    git(server, ['config', 'signet.timeoutMs', '1']);
    try {
      commitFile(work, 'b', 'b\n', 'second', { email: alice.email, sign: gpg.gitSigningConfig(alice), env: gpg.env() });
      expect(push(['origin', 'main:refs/heads/six'], { GITHUB_REPO_NAME: 'org/ghes-repo', GITHUB_USER_LOGIN: 'octoalice' })).not.toBe(0);
      expect(lastRecord()).toMatchObject({ event: 'push-error', repository: 'org/ghes-repo', pusher: 'octoalice' });
    } finally {
      git(server, ['config', '--unset', 'signet.timeoutMs']);
    }
  });

  it('audit export, run inside the repository with no source named, reads its log and names it on older records', () => {
    // A record from before the hook named plain git repositories.
    const log = join(server, 'signet', 'audit.log');
    writeFileSync(
      log,
      `${readFileSync(log, 'utf8')}${JSON.stringify({ level: 30, time: new Date().toISOString(), component: 'pre-receive', event: 'push', pusher: 'old', ref: 'refs/heads/old', allowed: true, commits: [] })}\n`,
    );
    const result = spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), 'audit', 'export', '--since', '2000-01-01'], {
      cwd: server,
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.at(-1)).toMatchObject({ actor: 'old', repository: server, ref: 'refs/heads/old' });
    const outside = spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), 'audit', 'export', '--since', '2000-01-01'], {
      cwd: dir.path,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(outside.stderr).toMatch(/^signet audit: nothing to export from: not inside a repository/);
  });

  it('audit export fills actor and repository from those records', () => {
    const records = exported();
    expect(records.length).toBeGreaterThanOrEqual(6);
    for (const record of records) {
      expect(record.actor).not.toBe('unknown');
      expect(record.repository).not.toBe('unknown');
    }
  });
});
