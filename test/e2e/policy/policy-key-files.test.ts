import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/git.ts';
import { createSshKey } from '../../helpers/signing-keys.ts';

describe('signet policy check parses the key files the policy names', () => {
  const dir = tempDir('policy-keys');
  afterAll(() => dir.remove());
  const policy =
    'version: 1\nkeys:\n  openpgp: [keys/team.asc]\n  ssh_allowed_signers: keys/allowed_signers\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n';
  const check = (): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, ['bin/signet.js', 'policy', 'check', join(dir.path, 'policy.yml')], { encoding: 'utf8' });

  it('reports a malformed keyring and allowed_signers line with the policy position and the file line', () => {
    mkdirSync(join(dir.path, 'keys'), { recursive: true });
    writeFileSync(join(dir.path, 'policy.yml'), policy);
    writeFileSync(join(dir.path, 'keys', 'team.asc'), 'not a key\n');
    writeFileSync(join(dir.path, 'keys', 'allowed_signers'), '# ok\nalice@example.com ssh-ed25519 !!!notbase64\n');
    const result = check();
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/policy\.yml:3:\d+: keys\.openpgp\[0\]: .*team\.asc/);
    expect(result.stderr).toMatch(/policy\.yml:4:\d+: keys\.ssh_allowed_signers: .*allowed_signers:2:/);
  });

  it('passes when the key files parse', () => {
    const key = createSshKey(join(dir.path, 'ssh'), 'alice', 'alice@example.com');
    writeFileSync(join(dir.path, 'keys', 'allowed_signers'), `alice@example.com ${key.publicKeyLine}\n`);
    const gnupg = join(dir.path, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    spawnSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Alice <alice@example.com>', 'ed25519', 'sign', 'never'], {
      env: { ...process.env, GNUPGHOME: gnupg },
    });
    const armored = spawnSync('gpg', ['--armor', '--export'], { env: { ...process.env, GNUPGHOME: gnupg }, encoding: 'utf8' }).stdout;
    writeFileSync(join(dir.path, 'keys', 'team.asc'), armored);
    const result = check();
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
