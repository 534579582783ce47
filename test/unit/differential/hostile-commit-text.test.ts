/**
 * Hand-made commits and tags with hostile header text, signed by real gpg and ssh-keygen over
 * exactly the payload git will hand them, written with `git hash-object --literally`, and
 * judged by git (`git log --format=%G?`, `git verify-tag`) and by signet's verifier. One table:
 * each row names git's letter and signet's; where they differ it is on purpose and in the
 * README's table of deliberate differences, and in no row does signet say G where git does not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCommitObject, verifyTagObject, type KeyRegistries } from '../../../src/core/verify-object.ts';
import { loadRegistries } from '../../../src/keys/load-registries.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';
import { createSshKey, GpgHome, type GpgIdentity, type SshIdentity } from '../../helpers/signing-keys.ts';

const EMAIL = 'alice@example.com';
const AUTHOR = `author Alice <${EMAIL}> 1700000000 +0000\n`;
const COMMITTER = `committer Alice <${EMAIL}> 1700000000 +0000\n`;

/** A signature as a header: the armor's lines as continuation lines. */
const header = (name: string, armor: string): string => `${name} ${armor.replace(/\n$/, '').split('\n').join('\n ')}\n`;

interface Signers {
  pgp: (payload: string) => string;
  ssh: (payload: string, namespace?: string) => string;
}

interface Case {
  name: string;
  /** The object's bytes, given the empty tree's id and the signers. */
  commit: (tree: string, sign: Signers) => string;
  git: string;
  signet: string;
}

/** Headers and message around one signature header, signed over what git removes it from. */
function signedCommit(
  tree: string,
  signature: (payload: string) => string,
  options: { people?: string; extra?: string; message?: string; name?: string } = {},
): string {
  const head = `tree ${tree}\n${options.people ?? AUTHOR + COMMITTER}${options.extra ?? ''}`;
  const message = options.message ?? '\nhostile\n';
  return `${head}${header(options.name ?? 'gpgsig', signature(head + message))}${message}`;
}

const CASES: Case[] = [
  { name: 'OpenPGP, as git writes it', commit: (t, s) => signedCommit(t, s.pgp), git: 'G', signet: 'G' },
  { name: 'SSH, as git writes it', commit: (t, s) => signedCommit(t, s.ssh), git: 'G', signet: 'G' },
  {
    name: 'two gpgsig headers (the same good signature twice)',
    commit: (t, s) => {
      const head = `tree ${t}\n${AUTHOR}${COMMITTER}`;
      const armor = s.pgp(`${head}\nhostile\n`);
      return `${head}${header('gpgsig', armor)}${header('gpgsig', armor)}\nhostile\n`;
    },
    git: 'E',
    signet: 'E',
  },
  {
    name: "gpgsig and gpgsig-sha256 both (SHA-1 repository: the sha256 one is not this hash's)",
    commit: (t, s) => {
      const head = `tree ${t}\n${AUTHOR}${COMMITTER}`;
      return `${head}${header('gpgsig', s.pgp(`${head}\nhostile\n`))}${header('gpgsig-sha256', s.pgp('other'))}\nhostile\n`;
    },
    git: 'G',
    signet: 'G',
  },
  { name: 'gpgsig-sha256 only, in a SHA-1 repository', commit: (t, s) => signedCommit(t, s.pgp, { name: 'gpgsig-sha256' }), git: 'N', signet: 'N' },
  {
    name: 'the signature header after the blank line (in the message)',
    commit: (t, s) => {
      const head = `tree ${t}\n${AUTHOR}${COMMITTER}`;
      return `${head}\nhostile\n${header('gpgsig', s.pgp(`${head}\nhostile\n`))}`;
    },
    git: 'N',
    signet: 'N',
  },
  {
    name: 'continuation lines ending in CR',
    commit: (t, s) => signedCommit(t, (payload) => s.pgp(payload).replace(/\n/g, '\r\n')),
    git: 'G',
    signet: 'G',
  },
  {
    name: 'a NUL in a continuation line (an armor header)',
    commit: (t, s) => signedCommit(t, (payload) => s.pgp(payload).replace('\n\n', '\nComment: x\u0000y\n\n')),
    git: 'G',
    signet: 'G',
  },
  {
    name: 'unsigned commit carrying a mergetag with a good embedded signature',
    commit: (t, s) => {
      const tagBody = `object ${t}\ntype tree\ntag v1\ntagger Alice <${EMAIL}> 1700000000 +0000\n\nmerged tag\n`;
      return `tree ${t}\n${AUTHOR}${COMMITTER}mergetag ${(tagBody + s.pgp(tagBody)).replace(/\n$/, '').split('\n').join('\n ')}\n\nhostile\n`;
    },
    git: 'N',
    signet: 'N',
  },
  {
    name: 'armor with trailing garbage after its END line',
    commit: (t, s) => signedCommit(t, (payload) => `${s.pgp(payload)}trailing garbage\n`),
    git: 'G',
    signet: 'G',
  },
  {
    name: 'two armored blocks in one header (a second good signature)',
    commit: (t, s) => signedCommit(t, (payload) => s.pgp(payload) + s.pgp(payload)),
    git: 'E',
    signet: 'E',
  },
  { name: 'SSH signature in the "file" namespace', commit: (t, s) => signedCommit(t, (payload) => s.ssh(payload, 'file')), git: 'B', signet: 'B' },
  { name: 'no author line', commit: (t, s) => signedCommit(t, s.pgp, { people: COMMITTER }), git: 'G', signet: 'G' },
  { name: 'no committer line', commit: (t, s) => signedCommit(t, s.pgp, { people: AUTHOR }), git: 'N', signet: 'E' },
  { name: 'author doubled', commit: (t, s) => signedCommit(t, s.pgp, { people: AUTHOR + AUTHOR + COMMITTER }), git: 'G', signet: 'G' },
  {
    name: 'committer doubled, the second another person',
    commit: (t, s) => signedCommit(t, s.pgp, { people: AUTHOR + COMMITTER + 'committer Mallory <m@example.com> 1700000000 +0000\n' }),
    git: 'G',
    signet: 'G',
  },
  {
    name: 'a header line of 1.5 MiB before the signature',
    commit: (t, s) => signedCommit(t, s.pgp, { extra: `x-long ${'a'.repeat(1.5 * 1024 * 1024)}\n` }),
    git: 'G',
    signet: 'G',
  },
];

describe('hostile commit and tag text: signet against git', () => {
  const dir = tempDir('hostile-commit-text');
  const repo = join(dir.path, 'repo');
  const repo256 = join(dir.path, 'repo-sha256');
  let gpg: GpgHome;
  let alice: GpgIdentity;
  let sshKey: SshIdentity;
  let registries: KeyRegistries;
  let signers: Signers;
  let gitConfig: string[];
  let tree: string;

  beforeAll(async () => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', EMAIL);
    sshKey = createSshKey(join(dir.path, 'ssh'), 'alice', EMAIL);
    writeFileSync(join(dir.path, 'keys.asc'), alice.armoredPublicKey);
    writeFileSync(join(dir.path, 'allowed_signers'), `${EMAIL} ${sshKey.publicKeyLine}\n`);
    registries = await loadRegistries({ keyrings: [join(dir.path, 'keys.asc')], allowedSigners: join(dir.path, 'allowed_signers') });
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    git(dir.path, ['init', '-q', '--object-format=sha256', '-b', 'main', repo256]);
    tree = git(repo, ['hash-object', '-t', 'tree', '-w', '--stdin'], { input: '' });
    gitConfig = ['-c', `gpg.ssh.allowedSignersFile=${join(dir.path, 'allowed_signers')}`];
    signers = {
      pgp: (payload) => gpg.gpg(['--armor', '--detach-sign', '-u', alice.fingerprint], payload),
      ssh: (payload, namespace = 'git') => {
        const file = join(dir.path, 'payload');
        writeFileSync(file, payload);
        rmSync(`${file}.sig`, { force: true });
        execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', namespace, '-f', sshKey.privateKey, file], { stdio: 'pipe' });
        return readFileSync(`${file}.sig`, 'utf8');
      },
    };
  }, 60_000);
  afterAll(() => dir.remove());

  const gitLetter = (oid: string): string => git(repo, [...gitConfig, 'log', '-1', '--format=%G?', oid], { env: gpg.env() });

  it.each(CASES.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, testCase) => {
      const oid = git(repo, ['hash-object', '-t', 'commit', '-w', '--literally', '--stdin'], { input: Buffer.from(testCase.commit(tree, signers), 'latin1') });
      const raw = gitBytes(repo, ['cat-file', 'commit', oid]);
      const ours = (await verifyCommitObject(oid, raw, registries, { hash: 'sha1', now: new Date() })).verdict.status;
      const theirs = gitLetter(oid);
      expect({ git: theirs, signet: ours }).toEqual({ git: testCase.git, signet: testCase.signet });
      // Never a pass git would not give.
      if (ours === 'G') expect(theirs).toBe('G');
    },
    30_000,
  );

  describe('tags', () => {
    const TAG_CASES: Array<{ name: string; tag: (target: string, sign: Signers) => string; git: boolean; signet: string; sha256?: boolean }> = [
      {
        name: 'trailing signature, as git writes it',
        tag: (target, s) => {
          const body = `object ${target}\ntype commit\ntag v1\ntagger Alice <${EMAIL}> 1700000000 +0000\n\nrelease\n`;
          return body + s.pgp(body);
        },
        git: true,
        signet: 'G',
      },
      {
        name: 'a gpgsig header in a tag (SHA-1: tags are signed at the end)',
        tag: (target, s) => {
          const head = `object ${target}\ntype commit\ntag v1\ntagger Alice <${EMAIL}> 1700000000 +0000\n`;
          return `${head}${header('gpgsig', s.pgp(`${head}\nrelease\n`))}\nrelease\n`;
        },
        git: false,
        signet: 'N',
      },
      {
        name: 'a gpgsig-sha256 header in a tag of a SHA-256 repository',
        tag: (target, s) => {
          const head = `object ${target}\ntype commit\ntag v1\ntagger Alice <${EMAIL}> 1700000000 +0000\n`;
          return `${head}${header('gpgsig-sha256', s.pgp(`${head}\nrelease\n`))}\nrelease\n`;
        },
        git: false,
        signet: 'N',
        sha256: true,
      },
      {
        name: 'two trailing signatures',
        tag: (target, s) => {
          const body = `object ${target}\ntype commit\ntag v1\ntagger Alice <${EMAIL}> 1700000000 +0000\n\nrelease\n`;
          return body + s.pgp(body) + s.pgp(body);
        },
        git: false,
        signet: 'E',
      },
    ];
    it.each(TAG_CASES.map((c) => [c.name, c] as const))(
      '%s',
      async (_name, testCase) => {
        const target = git(repo, ['hash-object', '-t', 'commit', '-w', '--stdin'], { input: `tree ${tree}\n${AUTHOR}${COMMITTER}\ntarget\n` });
        const oid = git(repo, ['hash-object', '-t', 'tag', '-w', '--literally', '--stdin'], { input: testCase.tag(target, signers) });
        const raw = gitBytes(repo, ['cat-file', 'tag', oid]);
        const ours = (await verifyTagObject(oid, raw, registries, { hash: 'sha1', now: new Date() })).verdict.status;
        const theirs = spawnSync('git', [...gitConfig, 'verify-tag', oid], { cwd: repo, env: { ...process.env, ...gpg.env() } }).status === 0;
        expect({ git: theirs, signet: ours }).toEqual({ git: testCase.git, signet: testCase.signet });
        if (ours === 'G') expect(theirs).toBe(true);
      },
      30_000,
    );
  });
});
