/**
 * Real ssh-keygen in a temporary directory: make keys, sign, and answer as git does
 * (gpg-interface.c: find-principals, then verify -I each principal, else check-novalidate).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type GitLetter = 'G' | 'U' | 'B';

export interface GitAnswer {
  letter: GitLetter;
  /** The principal git reports for G (what `ssh-keygen -Y verify` printed). */
  principal?: string;
}

/** `-Overify-time=` value for a time in seconds, in UTC so the host's zone does not matter. */
export function sshTime(seconds: number): string {
  return new Date(seconds * 1000)
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export class SshKeygen {
  readonly dir: string;
  private counter = 0;
  private readonly novalidate = new Map<string, Promise<GitLetter>>();

  constructor(prefix = 'ssh') {
    this.dir = mkdtempSync(join(tmpdir(), `signet-${prefix}-`));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, content: string | Uint8Array): string {
    const path = this.path(name);
    writeFileSync(path, content);
    return path;
  }

  unique(stem: string): string {
    return `${stem}-${++this.counter}`;
  }

  run(args: string[], input?: Uint8Array | string): { status: number; stdout: string; stderr: string } {
    const result = spawnSync('ssh-keygen', args, { input, encoding: 'utf8', cwd: this.dir });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  /** A new key pair; returns the private key path and the public key line. */
  keygen(name: string, type: string, bits?: number, comment = name): { privatePath: string; publicLine: string } {
    const privatePath = this.path(name);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', comment, '-f', privatePath], { stdio: 'pipe' });
    return { privatePath, publicLine: readFileSync(`${privatePath}.pub`, 'utf8').trim() };
  }

  /** `ssh-keygen -Y sign`; `keyPath` may name a certificate (`…-cert.pub`) to sign with it. */
  sign(keyPath: string, payload: Uint8Array | string, namespace = 'git', hashAlgorithm?: string): string {
    const file = this.write(this.unique('payload'), payload);
    execFileSync('ssh-keygen', ['-Y', 'sign', '-f', keyPath, '-n', namespace, ...(hashAlgorithm ? ['-O', `hashalg=${hashAlgorithm}`] : []), file], {
      stdio: 'pipe',
    });
    return readFileSync(`${file}.sig`, 'utf8');
  }

  /** ssh-keygen without blocking, so a test can keep both cores busy. */
  runAsync(args: string[], input?: Uint8Array | string): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile('ssh-keygen', args, { cwd: this.dir, encoding: 'utf8' }, (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ status, stdout, stderr });
      });
      // ssh-keygen may exit before it reads its input (a signature it cannot parse): no EPIPE crash.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input);
    });
  }

  /** What git would say (letter and principal) for this signature, allowed signers and time. */
  async gitVerdict(options: {
    payload: Uint8Array | string;
    signature: string;
    allowedSigners: string;
    at: number;
    revoked?: string | Uint8Array;
  }): Promise<GitAnswer> {
    const sig = this.write(this.unique('sig'), options.signature);
    const allowed = this.write(this.unique('allowed'), options.allowedSigners);
    const revoked = options.revoked === undefined ? [] : ['-r', this.write(this.unique('revoked'), options.revoked)];
    const time = `-Overify-time=${sshTime(options.at)}`;
    const find = await this.runAsync(['-Y', 'find-principals', '-f', allowed, '-s', sig, time]);
    if (find.status !== 0 || find.stdout.length === 0) {
      // check-novalidate reads neither allowed signers nor revocations: one answer per signature and payload.
      const key = `${options.signature}\0${Buffer.from(options.payload).toString('base64')}`;
      let answer = this.novalidate.get(key);
      if (!answer) {
        answer = this.runAsync(['-Y', 'check-novalidate', '-n', 'git', '-s', sig, time], options.payload).then((check): GitLetter =>
          check.status === 0 && check.stdout.startsWith('Good "git" signature with ') ? 'U' : 'B',
        );
        this.novalidate.set(key, answer);
      }
      return { letter: await answer };
    }
    for (const principal of find.stdout
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      .filter((line) => line !== '')) {
      const verify = await this.runAsync(['-Y', 'verify', '-n', 'git', '-f', allowed, '-I', principal, '-s', sig, time, ...revoked], options.payload);
      if (verify.status === 0 && verify.stdout.startsWith('Good')) return { letter: 'G', principal };
    }
    return { letter: 'B' };
  }

  /** `ssh-keygen -Y check-novalidate -n NAMESPACE`: does the signature verify at all? */
  checkNovalidate(payload: Uint8Array | string, signature: string, namespace = 'git'): boolean {
    const sig = this.write(this.unique('sig'), signature);
    const result = this.run(['-Y', 'check-novalidate', '-n', namespace, '-s', sig], payload);
    return result.status === 0 && result.stdout.startsWith('Good');
  }
}

/** Runs `tasks` with at most `limit` under way at once; results in order. */
export async function inPool<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
