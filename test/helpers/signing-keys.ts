import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git } from './git.ts';

export interface GpgIdentity {
  name: string;
  email: string;
  fingerprint: string;
  armoredPublicKey: string;
}

/** A throw-away GNUPGHOME with Ed25519 signing keys made by real gpg. */
export class GpgHome {
  readonly home: string;
  constructor(directory: string) {
    this.home = directory;
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  }

  gpg(args: string[], input?: string): string {
    return execFileSync('gpg', ['--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env: { ...process.env, GNUPGHOME: this.home },
      input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  createKey(name: string, email: string): GpgIdentity {
    this.gpg(['--quick-gen-key', `${name} <${email}>`, 'ed25519', 'sign', 'never']);
    const listing = this.gpg(['--with-colons', '--list-keys', email]);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1]!;
    return { name, email, fingerprint, armoredPublicKey: this.gpg(['--armor', '--export', fingerprint]) };
  }

  /** git -c options that make `git commit -S` / `git tag -s` sign with this key. */
  gitSigningConfig(identity: GpgIdentity): string[] {
    return ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${identity.fingerprint}`, '-c', 'commit.gpgsign=false'];
  }

  env(): NodeJS.ProcessEnv {
    return { GNUPGHOME: this.home };
  }
}

export interface SshIdentity {
  email: string;
  privateKey: string;
  publicKeyLine: string;
}

export function createSshKey(directory: string, name: string, email: string): SshIdentity {
  mkdirSync(directory, { recursive: true });
  const privateKey = join(directory, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', email, '-f', privateKey]);
  return { email, privateKey, publicKeyLine: readFileSync(`${privateKey}.pub`, 'utf8').trim() };
}

export function sshSigningConfig(identity: SshIdentity): string[] {
  return ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${identity.privateKey}`];
}

/** Commits a file change in a work tree as `name <email>`, optionally signed. */
export function commitFile(
  worktree: string,
  file: string,
  content: string,
  message: string,
  options: { email: string; name?: string; sign?: string[]; env?: NodeJS.ProcessEnv },
): string {
  mkdirSync(join(worktree, file, '..'), { recursive: true });
  writeFileSync(join(worktree, file), content);
  git(worktree, ['add', file]);
  const identity = {
    GIT_AUTHOR_EMAIL: options.email,
    GIT_COMMITTER_EMAIL: options.email,
    GIT_AUTHOR_NAME: options.name ?? options.email,
    GIT_COMMITTER_NAME: options.name ?? options.email,
  };
  git(worktree, [...(options.sign ?? []), 'commit', '-q', ...(options.sign ? ['-S'] : []), '-m', message], { env: { ...identity, ...options.env } });
  return git(worktree, ['rev-parse', 'HEAD']);
}
