import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommitObject, verifyTagObject, type KeyRegistries } from '../../../src/core/verify-object.ts';
import { buildRegistries } from '../../../src/keys/load-registries.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';
import { createSshKey, GpgHome, type GpgIdentity, type SshIdentity } from '../../helpers/signing-keys.ts';

/**
 * git checks a signature only when the committer (tagger) line reads as `name <email>`
 * (gpg-interface.c, parse_payload_metadata); otherwise %G? is N and nothing is verified. Objects
 * crafted that way, signed for real by gpg and ssh-keygen: git says N, signet says E — never G.
 */
describe('a signature git does not check because the signer line is unreadable', () => {
  const dir = tempDir('unreadable-signer');
  let repo: string;
  let gpg: GpgHome;
  let alice: GpgIdentity;
  let carol: SshIdentity;
  let registries: KeyRegistries;
  const allowedSigners = (): string => join(dir.path, 'allowed_signers');

  beforeAll(async () => {
    repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    carol = createSshKey(join(dir.path, 'ssh'), 'carol', 'carol@example.com');
    writeFileSync(allowedSigners(), `carol@example.com ${carol.publicKeyLine}\n`);
    registries = await buildRegistries({
      keyrings: [{ name: 'alice.asc', text: alice.armoredPublicKey }],
      allowedSigners: { name: 'allowed_signers', text: `carol@example.com ${carol.publicKeyLine}\n` },
    });
  }, 60_000);
  afterAll(() => dir.remove());

  const emptyTree = (): string => git(repo, ['hash-object', '-t', 'tree', '-w', '--stdin'], { input: '' });

  /** Signs `payload` (gpg or ssh-keygen, as git would) and puts the signature in as git does. */
  const sign = (payload: string, kind: 'openpgp' | 'ssh'): string => {
    if (kind === 'openpgp') return gpg.gpg(['--armor', '--detach-sign', '--local-user', alice.fingerprint], payload);
    writeFileSync(join(dir.path, 'payload'), payload);
    execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', 'git', '-f', carol.privateKey, join(dir.path, 'payload')]);
    return execFileSync('cat', [join(dir.path, 'payload.sig')], { encoding: 'utf8' });
  };
  const signedCommit = (
    committerLine: string,
    kind: 'openpgp' | 'ssh',
    authorLine = 'author A <a@example.com> 1700000000 +0000',
  ): { oid: string; raw: Buffer } => {
    const headers = `tree ${emptyTree()}\n${authorLine}\n${committerLine}\n`;
    const payload = `${headers}\nmessage\n`;
    const signature = sign(payload, kind).trimEnd();
    const object = `${headers}gpgsig ${signature.split('\n').join('\n ')}\n\nmessage\n`;
    const oid = git(repo, ['hash-object', '-t', 'commit', '-w', '--stdin', '--literally'], { input: object });
    return { oid, raw: gitBytes(repo, ['cat-file', 'commit', oid]) };
  };
  const gitLetter = (oid: string): string =>
    spawnSync('git', ['-C', repo, '-c', `gpg.ssh.allowedSignersFile=${allowedSigners()}`, 'log', '-1', '--pretty=%G?', oid], {
      env: { ...process.env, ...gpg.env() },
      encoding: 'utf8',
    }).stdout.trim();
  // 'now' is taken when a check runs, not when the file is collected: the keys are made later (in
  // beforeAll), and a key created after 'now' is rightly E ("created in the future") on a busy machine.
  const options = {
    hash: 'sha1' as const,
    get now(): Date {
      return new Date();
    },
  };

  for (const kind of ['openpgp', 'ssh'] as const) {
    const email = kind === 'openpgp' ? 'alice@example.com' : 'carol@example.com';
    it(`${kind}: a readable committer line is G for both; without <email> git says N and signet E`, async () => {
      const good = signedCommit(`committer C <${email}> 1700000000 +0000`, kind);
      expect(gitLetter(good.oid)).toBe('G');
      expect((await verifyCommitObject(good.oid, good.raw, registries, options)).verdict.status).toBe('G');
      for (const line of [`committer C ${email} 1700000000 +0000`, `committer C <${email} 1700000000 +0000`, 'committer']) {
        const crafted = signedCommit(line, kind);
        expect(gitLetter(crafted.oid), line).toBe('N');
        const verdict = (await verifyCommitObject(crafted.oid, crafted.raw, registries, options)).verdict;
        expect(verdict.status, line).toBe('E');
        expect(verdict.detail).toMatch(/no committer line of the form "name <email>"/);
      }
      // git reads the payload as a C string: a NUL before the committer line hides it.
      const hidden = signedCommit(`committer C <${email}> 1700000000 +0000`, kind, 'author A <a@example.com>\0 1700000000 +0000');
      expect(gitLetter(hidden.oid)).toBe('N');
      expect((await verifyCommitObject(hidden.oid, hidden.raw, registries, options)).verdict.status).toBe('E');
    });
  }

  it('a signed tag without a tagger line is E, not G (git does not check it either)', async () => {
    const target = git(repo, ['hash-object', '-t', 'commit', '-w', '--stdin'], {
      input: `tree ${emptyTree()}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1 +0000\n\nm\n`,
    });
    const body = `object ${target}\ntype commit\ntag v1\n\nrelease\n`;
    const raw = Buffer.from(body + sign(body, 'openpgp'));
    const oid = git(repo, ['hash-object', '-t', 'tag', '-w', '--stdin', '--literally'], { input: raw });
    const verdict = (await verifyTagObject(oid, raw, registries, options)).verdict;
    expect(verdict.status).toBe('E');
    const withTagger = Buffer.from(body.replace('tag v1\n', 'tag v1\ntagger T <alice@example.com> 1700000000 +0000\n'));
    const signed = Buffer.concat([withTagger, Buffer.from(sign(withTagger.toString(), 'openpgp'))]);
    expect((await verifyTagObject(undefined, signed, registries, options)).verdict.status).toBe('G');
  });
});
