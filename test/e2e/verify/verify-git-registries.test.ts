import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, gitEnv, tempDir } from '../../helpers/git.ts';
import { commitFile, createSshKey, GpgHome, sshSigningConfig, type GpgIdentity, type SshIdentity } from '../../helpers/signing-keys.ts';

/**
 * `signet verify` with no key options reads the keys git reads: gpg.ssh.allowedSignersFile (and
 * revocationFile) from git config, the user's OpenPGP keys through `gpg --export`; it says which
 * in one stderr line, and says so when there are none. Compared with `git log --pretty=%G?`.
 */
describe('signet verify without key options: the keys git uses', () => {
  const dir = tempDir('verify-git-keys');
  const repo = join(dir.path, 'repo');
  let home: GpgHome;
  let alice: GpgIdentity;
  let stranger: GpgIdentity;
  let carol: SshIdentity;
  let dave: SshIdentity;
  const env = (): NodeJS.ProcessEnv => ({ ...gitEnv, HOME: dir.path, ...home.env() });
  const signet = (args: string[], extra: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } => {
    const result = spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), ...args], { cwd: repo, env: { ...env(), ...extra }, encoding: 'utf8' });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(() => {
    home = new GpgHome(join(dir.path, 'gnupg'));
    alice = home.createKey('Alice', 'alice@example.com');
    const elsewhere = new GpgHome(join(dir.path, 'gnupg-elsewhere'));
    stranger = elsewhere.createKey('Stranger', 'stranger@example.com');
    carol = createSshKey(join(dir.path, 'ssh'), 'carol', 'carol@example.com');
    dave = createSshKey(join(dir.path, 'ssh'), 'dave', 'dave@example.com');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    writeFileSync(join(dir.path, 'allowed_signers'), `carol@example.com ${carol.publicKeyLine}\n`);
    git(repo, ['config', 'gpg.ssh.allowedSignersFile', join(dir.path, 'allowed_signers')]);
    commitFile(repo, 'a', 'a\n', 'alice, key in the gpg home', { email: alice.email, sign: home.gitSigningConfig(alice), env: home.env() });
    commitFile(repo, 'b', 'b\n', 'carol, in allowed signers', { email: carol.email, sign: sshSigningConfig(carol) });
    commitFile(repo, 'c', 'c\n', 'unsigned', { email: alice.email });
    commitFile(repo, 'd', 'd\n', 'a key gpg does not have', { email: stranger.email, sign: elsewhere.gitSigningConfig(stranger), env: elsewhere.env() });
    commitFile(repo, 'e', 'e\n', 'dave, not in allowed signers', { email: dave.email, sign: sshSigningConfig(dave) });
  }, 60_000);
  afterAll(() => dir.remove());

  it('gives the letters git gives, and says which registries it used', () => {
    const gitLetters = git(repo, ['log', '--pretty=%H %G?'], { env: env() })
      .split('\n')
      .map((line) => line.split(' '))
      .map(([oid, letter]) => ({ oid, letter }));
    const result = signet(['verify', '--format', 'jsonl', 'main']);
    const ours = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { commit: string; status: string });
    expect(ours.map((row) => ({ oid: row.commit, letter: row.status }))).toEqual(gitLetters);
    expect(gitLetters.map((row) => row.letter)).toEqual(['U', 'E', 'N', 'G', 'G']);
    expect(result.stderr).toBe(
      `signet verify: no key options: using the keys git uses — OpenPGP: 1 public key from gpg --export (GNUPGHOME=${home.home}); SSH: ${join(dir.path, 'allowed_signers')} (gpg.ssh.allowedSignersFile)\n`,
    );
  });

  it('reads gpg.ssh.revocationFile too', () => {
    writeFileSync(join(dir.path, 'revoked'), `${carol.publicKeyLine}\n`);
    const result = signet(['verify', '--format', 'jsonl', 'main'], {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'gpg.ssh.revocationFile',
      GIT_CONFIG_VALUE_0: join(dir.path, 'revoked'),
    });
    expect(result.stderr).toMatch(/revoked: .*revoked \(gpg\.ssh\.revocationFile\)/);
    // Newest first: carol's commit is the fourth.
    const letters = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).status);
    expect(letters).toEqual(['U', 'E', 'N', 'R', 'G']);
  });

  it('says when the registry is empty', () => {
    const empty = new GpgHome(join(dir.path, 'gnupg-empty'));
    const result = signet(['verify', 'main'], {
      ...empty.env(),
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'gpg.ssh.allowedSignersFile',
      GIT_CONFIG_VALUE_0: '',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^signet verify: no key options, and git's configuration names no keys .*the registry is empty, so no signature can be G; give --keyring FILE\.asc or --allowed-signers FILE\n$/,
    );
  });

  it('refuses a keybox (pubring.kbx) with the exact export command', () => {
    const keybox = join(home.home, 'pubring.kbx');
    expect(existsSync(keybox)).toBe(true);
    const result = signet(['verify', '--keyring', keybox, 'main']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `signet verify: ${keybox}: is a GnuPG keybox, which signet does not read; export its keys and give that file: gpg --homedir ${home.home} --armor --export > keys.asc, then --keyring keys.asc\n`,
    );
    // And that command works.
    const exported = spawnSync('gpg', ['--homedir', home.home, '--armor', '--export'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(dir.path, 'keys.asc'), exported);
    expect(signet(['verify', '--keyring', join(dir.path, 'keys.asc'), '--format', 'jsonl', 'main']).stdout).toContain('"status":"G"');
  });
});
