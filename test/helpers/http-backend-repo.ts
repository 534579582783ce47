/**
 * A bare repository served by `git http-backend`, made with real git, gpg and ssh-keygen:
 * alice signs with an OpenPGP key that the policy's keyring (on the default branch) holds;
 * bob signs with an SSH key he "registered on the forge"; mallory does not sign.
 *
 *   main            policy commit (alice, G)
 *   feature-good    + alice (G) + bob with bob@example.com (forge key, G)
 *   feature-bad     + mallory, unsigned (N)
 *   feature-email   + bob (G) + signed with bob's key but committed as carol@example.com (forge rule: U)
 *   refs/pull/1/head = feature-good, refs/pull/2/head = feature-bad, refs/pull/3/head = feature-email
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_POLICY = `version: 1
keys:
  openpgp: [keys/team.asc]
  forge_accounts: true
rules:
  - refs: [refs/heads/main, "refs/heads/release/*"]
    require_signed_commits: true
    accept: [G]
`;

export interface Person {
  name: string;
  email: string;
}

export const alice: Person = { name: 'Alice', email: 'alice@example.com' };
export const bob: Person = { name: 'Bob', email: 'bob@example.com' };
export const carol: Person = { name: 'Carol', email: 'carol@example.com' };
export const mallory: Person = { name: 'Mallory', email: 'mallory@example.com' };

export type Signer = 'alice-gpg' | 'bob-ssh' | 'none';

export interface SignedRepo {
  /** GIT_PROJECT_ROOT for http-backend. */
  root: string;
  /** Path under the root: `owner/name.git`. */
  path: string;
  bare: string;
  alicePublicKey: string;
  aliceFingerprint: string;
  bobSshPublicKey: string;
  heads: Record<'main' | 'feature-good' | 'feature-bad' | 'feature-email', string>;
  /** Adds commits to `branch` (created from `from` when new) and pushes; returns their ids, oldest first. */
  commit(branch: string, count: number, as: Person, signer: Signer, from?: string): string[];
  /** Adds `count` unsigned commits to a new `branch` of the bare repository in one git fast-import; returns the tip. */
  commitUnsignedBulk(branch: string, count: number, as: Person, from: string): string;
  /** Points a ref of the bare repository at a commit. */
  updateRef(ref: string, oid: string): void;
  /** Rewrites the policy on main (signed by alice) and pushes. */
  /** Commits the policy on main (by alice, signed, unless told otherwise) and pushes it. */
  setPolicy(text: string | undefined, as?: Person, signer?: Signer): string;
  cleanup(): void;
}

export interface SignedRepoOptions {
  /** When alice's OpenPGP key expires, as gpg's quick-gen-key reads it (`1d`, an ISO date); default never. */
  aliceKeyExpires?: string;
}

export function makeSignedRepo(fullName = 'octo-org/signed-repo', options: SignedRepoOptions = {}): SignedRepo {
  const dir = mkdtempSync(join(tmpdir(), 'signet-app-repo-'));
  const root = join(dir, 'srv');
  const path = `${fullName}.git`;
  const bare = join(root, path);
  const work = join(dir, 'work');
  const gnupg = join(dir, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  mkdirSync(root, { recursive: true });
  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    GNUPGHOME: gnupg,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
  const run = (command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string =>
    execFileSync(command, args, {
      cwd: options.cwd ?? dir,
      env: { ...baseEnv, ...options.env },
      input: options.input,
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString();

  run('gpg', [
    '--batch',
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    '',
    '--quick-gen-key',
    `${alice.name} <${alice.email}>`,
    'ed25519',
    'sign',
    options.aliceKeyExpires ?? 'never',
  ]);
  const aliceFingerprint = /^fpr:+([0-9A-F]+):/m.exec(run('gpg', ['--with-colons', '--list-keys', alice.email]))![1]!;
  const alicePublicKey = run('gpg', ['--armor', '--export', aliceFingerprint]);
  const bobKey = join(dir, 'bob_ed25519');
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', bob.email, '-f', bobKey]);
  const bobSshPublicKey = readFileSync(`${bobKey}.pub`, 'utf8').trim();

  run('git', ['init', '-q', '--bare', '-b', 'main', bare]);
  run('git', ['init', '-q', '-b', 'main', work]);
  run('git', ['remote', 'add', 'origin', bare], { cwd: work });

  let tick = 1_700_000_000;
  const signerArgs = (signer: Signer): string[] => {
    if (signer === 'alice-gpg') return ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${aliceFingerprint}`, '-c', 'commit.gpgsign=true'];
    if (signer === 'bob-ssh') return ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${bobKey}`, '-c', 'commit.gpgsign=true'];
    return ['-c', 'commit.gpgsign=false'];
  };
  const commitOnce = (as: Person, signer: Signer, message: string): string => {
    tick += 1;
    const env = {
      GIT_AUTHOR_NAME: as.name,
      GIT_AUTHOR_EMAIL: as.email,
      GIT_COMMITTER_NAME: as.name,
      GIT_COMMITTER_EMAIL: as.email,
      GIT_AUTHOR_DATE: `${tick} +0000`,
      GIT_COMMITTER_DATE: `${tick} +0000`,
    };
    run('git', [...signerArgs(signer), 'commit', '-q', '--allow-empty', '-m', message], { cwd: work, env });
    return run('git', ['rev-parse', 'HEAD'], { cwd: work }).trim();
  };

  const setPolicy = (text: string | undefined, as: Person = alice, signer: Signer = 'alice-gpg'): string => {
    if (run('git', ['branch', '--list', 'main'], { cwd: work }).trim() !== '') run('git', ['checkout', '-q', 'main'], { cwd: work });
    mkdirSync(join(work, '.github', 'keys'), { recursive: true });
    writeFileSync(join(work, '.github', 'keys', 'team.asc'), alicePublicKey);
    if (text === undefined) rmSync(join(work, '.github', 'signet.yml'), { force: true });
    else writeFileSync(join(work, '.github', 'signet.yml'), text);
    run('git', ['add', '-A', '.github'], { cwd: work });
    const oid = commitOnce(as, signer, text === undefined ? 'Remove the signing policy' : 'Signing policy');
    run('git', ['push', '-q', 'origin', 'main'], { cwd: work });
    return oid;
  };

  const commit = (branch: string, count: number, as: Person, signer: Signer, from?: string): string[] => {
    const exists = run('git', ['branch', '--list', branch], { cwd: work }).trim() !== '';
    if (exists) run('git', ['checkout', '-q', branch], { cwd: work });
    else run('git', ['checkout', '-q', '-b', branch, from ?? 'main'], { cwd: work });
    const oids: string[] = [];
    for (let i = 0; i < count; i++) oids.push(commitOnce(as, signer, `${branch}: change ${i + 1} by ${as.name}`));
    run('git', ['push', '-q', '-f', 'origin', branch], { cwd: work });
    return oids;
  };

  const commitUnsignedBulk = (branch: string, count: number, as: Person, from: string): string => {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      tick += 1;
      const message = `${branch}: bulk change ${i + 1}`;
      lines.push(
        `commit refs/heads/${branch}`,
        `author ${as.name} <${as.email}> ${tick} +0000`,
        `committer ${as.name} <${as.email}> ${tick} +0000`,
        `data ${Buffer.byteLength(message)}`,
        message,
      );
      if (i === 0) lines.push(`from ${from}`);
      lines.push('');
    }
    run('git', ['--git-dir', bare, 'fast-import', '--quiet'], { input: `${lines.join('\n')}\n` });
    return run('git', ['--git-dir', bare, 'rev-parse', `refs/heads/${branch}`]).trim();
  };

  const updateRef = (ref: string, oid: string): void => {
    run('git', ['--git-dir', bare, 'update-ref', ref, oid]);
  };

  const main = setPolicy(DEFAULT_POLICY);
  commit('feature-good', 1, alice, 'alice-gpg');
  const good = commit('feature-good', 1, bob, 'bob-ssh').at(-1)!;
  const bad = commit('feature-bad', 1, mallory, 'none').at(-1)!;
  commit('feature-email', 1, bob, 'bob-ssh');
  const email = commit('feature-email', 1, carol, 'bob-ssh').at(-1)!;
  updateRef('refs/pull/1/head', good);
  updateRef('refs/pull/2/head', bad);
  updateRef('refs/pull/3/head', email);

  return {
    root,
    path,
    bare,
    alicePublicKey,
    aliceFingerprint,
    bobSshPublicKey,
    heads: { main, 'feature-good': good, 'feature-bad': bad, 'feature-email': email },
    commit,
    commitUnsignedBulk,
    updateRef,
    setPolicy,
    cleanup() {
      try {
        run('gpgconf', ['--kill', 'gpg-agent']);
      } catch {
        // no agent
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
