import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitEnv, tempDir } from '../../helpers/git.ts';
import { commitFile, createSshKey, GpgHome, sshSigningConfig, type GpgIdentity, type SshIdentity } from '../../helpers/signing-keys.ts';

/**
 * A signed push (`git push --signed`) gets the same reasons and fix-its as a commit signed by the
 * same key: an unknown OpenPGP key is "a key the registry does not have", not "invalid"; an
 * expired SSH key points at allowed_signers' valid-before, never at gpg.
 */
describe('push certificate reasons equal commit reasons', () => {
  const dir = tempDir('push-cert');
  const conf = join(dir.path, 'conf');
  const server = join(dir.path, 'server.git');
  const work = join(dir.path, 'work');
  let gpg: GpgHome;
  let alice: GpgIdentity;
  let mallory: GpgIdentity;
  let carol: SshIdentity;

  const push = (args: string[], env: NodeJS.ProcessEnv = {}): { code: number; stderr: string } => {
    const result = spawnSync('git', ['push', ...args], { cwd: work, env: { ...gitEnv, ...gpg.env(), ...env }, encoding: 'utf8', timeout: 60_000 });
    return { code: result.status ?? -1, stderr: result.stderr };
  };
  const as = (key: string, format = 'openpgp'): NodeJS.ProcessEnv => ({
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'user.signingkey',
    GIT_CONFIG_VALUE_0: key,
    GIT_CONFIG_KEY_1: 'gpg.format',
    GIT_CONFIG_VALUE_1: format,
  });

  beforeAll(() => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    mallory = gpg.createKey('Mallory', 'mallory@example.com');
    carol = createSshKey(join(dir.path, 'ssh'), 'carol', 'carol@example.com');
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, 'registry.asc'), alice.armoredPublicKey);
    // Carol's key stopped being valid on 2020-01-01.
    writeFileSync(join(conf, 'allowed_signers'), `carol@example.com valid-before="20200101" ${carol.publicKeyLine}\n`);
    writeFileSync(
      join(conf, 'policy.yml'),
      'version: 1\nkeys:\n  openpgp: [registry.asc]\n  ssh_allowed_signers: allowed_signers\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_push: true\n',
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

  it('accepts a push signed by a registry key', () => {
    const result = push(['--signed', 'origin', 'main:refs/heads/ok'], as(alice.fingerprint));
    expect(result.stderr).not.toMatch(/rejected/);
    expect(result.code).toBe(0);
  });

  it('says "a key the registry does not have" for an unknown OpenPGP key, and how to register it', () => {
    const result = push(['--signed', 'origin', 'main:refs/heads/mallory'], as(mallory.fingerprint));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/push certificate: signed by a key the registry does not have \(key [0-9A-F]{40}\)/);
    expect(result.stderr).toMatch(/ask an admin to add your key to registry\.asc/);
    expect(result.stderr).not.toMatch(/invalid/);
  });

  it('points an expired SSH key at valid-before or a new key, never at gpg', () => {
    const result = push(['--signed', 'origin', 'main:refs/heads/carol'], as(carol.privateKey, 'ssh'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/push certificate: signed by an expired key \(key SHA256:/);
    expect(result.stderr).toMatch(/valid-before/);
    expect(result.stderr).not.toMatch(/gpg --quick-set-expire/);
  });

  it('gives a commit by the expired SSH key the same SSH fix-it', () => {
    writeFileSync(
      join(conf, 'policy.yml'),
      'version: 1\nkeys:\n  openpgp: [registry.asc]\n  ssh_allowed_signers: allowed_signers\nrules:\n  - refs: ["refs/heads/**"]\n    require_signed_commits: true\n',
    );
    git(work, ['checkout', '-q', '-b', 'ssh']);
    commitFile(work, 'b', 'b\n', 'by carol', { email: carol.email, sign: sshSigningConfig(carol) });
    const result = push(['origin', 'ssh']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/signed by an expired key/);
    expect(result.stderr).toMatch(/valid-before/);
    expect(result.stderr).not.toMatch(/gpg --quick-set-expire/);
  });
});
