import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real gpg 2.2 in throwaway GNUPGHOMEs: the peer whose `--status-fd` output (as git reads it)
 * the OpenPGP verifier must reproduce.
 */

export interface RunResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

export function run(command: string, args: string[], options: { input?: Uint8Array | string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    // A command that exits without reading its input (gpg --verify) closes the pipe early.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code: code ?? -1 }));
    child.stdin.end(options.input ?? '');
  });
}

export class GpgHome {
  private constructor(readonly dir: string) {}

  static async create(): Promise<GpgHome> {
    const dir = await mkdtemp(join(tmpdir(), 'signet-gpg-'));
    const { chmod } = await import('node:fs/promises');
    await chmod(dir, 0o700);
    return new GpgHome(dir);
  }

  async gpg(args: string[], options: { input?: Uint8Array | string; at?: number; allowFailure?: boolean } = {}): Promise<RunResult> {
    const timeArgs = options.at !== undefined ? ['--faked-system-time', `${options.at}!`] : [];
    const result = await run(
      'gpg',
      ['--homedir', this.dir, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...timeArgs, ...args],
      options.input !== undefined ? { input: options.input } : {},
    );
    if (result.code !== 0 && !options.allowFailure) throw new Error(`gpg ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result;
  }

  /** Generates a key (gpg --quick-gen-key) and returns its fingerprint. */
  async generate(userId: string, algorithm: string, usage: string, expire: string, at?: number): Promise<string> {
    await this.gpg(['--quick-gen-key', userId, algorithm, usage, expire], at !== undefined ? { at } : {});
    const fingerprints = await this.fingerprints(userId);
    const primary = fingerprints[0];
    if (!primary) throw new Error(`no key for ${userId}`);
    return primary;
  }

  /** Adds a subkey and returns its fingerprint. */
  async addSubkey(primary: string, algorithm: string, usage: string, expire: string, at?: number): Promise<string> {
    const before = new Set(await this.fingerprints(primary));
    await this.gpg(['--quick-add-key', primary, algorithm, usage, expire], at !== undefined ? { at } : {});
    const added = (await this.fingerprints(primary)).find((fingerprint) => !before.has(fingerprint));
    if (!added) throw new Error('no new subkey');
    return added;
  }

  /** Fingerprints of the key matching `spec`: primary first, then subkeys. */
  async fingerprints(spec: string): Promise<string[]> {
    const { stdout } = await this.gpg(['--with-colons', '--list-keys', spec]);
    return stdout
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('fpr:'))
      .map((line) => line.split(':')[9] ?? '');
  }

  /** A detached armored signature over `payload`, made by `signer` (append `!` to force a subkey). */
  async sign(
    signer: string | string[],
    payload: Uint8Array,
    options: { at?: number; textmode?: boolean; digest?: string; sigExpire?: string } = {},
  ): Promise<string> {
    const signers = (Array.isArray(signer) ? signer : [signer]).flatMap((spec) => ['-u', spec]);
    const args = [
      ...signers,
      ...(options.digest ? ['--allow-weak-digest-algos', '--digest-algo', options.digest] : []),
      ...(options.sigExpire ? ['--default-sig-expire', options.sigExpire] : []),
      ...(options.textmode ? ['--textmode'] : []),
      '--armor',
      '--detach-sign',
    ];
    const { stdout } = await this.gpg(args, { input: payload, ...(options.at !== undefined ? { at: options.at } : {}) });
    return stdout.toString('utf8');
  }

  async exportPublic(spec: string): Promise<string> {
    return (await this.gpg(['--armor', '--export', spec])).stdout.toString('utf8');
  }

  async exportSecret(spec: string): Promise<string> {
    return (await this.gpg(['--armor', '--export-secret-keys', spec])).stdout.toString('utf8');
  }

  /** Revokes the primary key with the revocation certificate gpg made at generation. */
  async revokePrimary(fingerprint: string): Promise<void> {
    const { readFile } = await import('node:fs/promises');
    const certificate = (await readFile(join(this.dir, 'openpgp-revocs.d', `${fingerprint}.rev`), 'utf8')).replace(/^:-----/m, '-----');
    await this.gpg(['--import'], { input: certificate });
  }

  /** Drives `gpg --edit-key` with a fixed command script. */
  async editKey(fingerprint: string, commands: string[]): Promise<void> {
    await this.gpg(['--expert', '--command-fd', '0', '--edit-key', fingerprint], { input: `${commands.join('\n')}\n` });
  }

  async revokeSubkey(primary: string, index: number): Promise<void> {
    await this.editKey(primary, [`key ${index}`, 'revkey', 'y', '0', '', 'y', 'save']);
  }

  /** Removes the signing capability of subkey `index`, leaving authentication only. */
  async makeSubkeyAuthOnly(primary: string, index: number): Promise<void> {
    await this.editKey(primary, [`key ${index}`, 'change-usage', 'S', 'A', 'Q', 'save']);
  }

  async importKeys(armored: string[]): Promise<void> {
    for (const key of armored) await this.gpg(['--import'], { input: key });
  }

  async trustUltimately(fingerprints: string[]): Promise<void> {
    await this.gpg(['--import-ownertrust'], { input: fingerprints.map((fingerprint) => `${fingerprint}:6:\n`).join('') });
    // Bring the trust database up to date now: otherwise the first verifications do it, and
    // gpg processes run side by side (mapLimited) can meet it half-done and print
    // TRUST_UNDEFINED for an ultimately trusted key (seen once in CI: gpg U, signet G).
    await this.gpg(['--check-trustdb']);
  }

  /** `gpg --status-fd 1 --verify SIG DATA` at time `at` (seconds), as git runs it. */
  async verify(signature: string, payload: Uint8Array, at?: number): Promise<GpgVerification> {
    const signatureFile = join(this.dir, `sig-${Math.random().toString(36).slice(2)}.asc`);
    const payloadFile = `${signatureFile}.data`;
    await writeFile(signatureFile, signature);
    await writeFile(payloadFile, payload);
    const result = await this.gpg(['--status-fd', '1', '--verify', signatureFile, payloadFile], { allowFailure: true, ...(at !== undefined ? { at } : {}) });
    await rm(signatureFile);
    await rm(payloadFile);
    return readStatus(result.stdout.toString('utf8'));
  }

  async dispose(): Promise<void> {
    await new Promise<void>((resolve) => execFile('gpgconf', ['--homedir', this.dir, '--kill', 'all'], () => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface GpgVerification {
  /** The letter git's gpg-interface.c derives from the status lines ('N' when there is none). */
  letter: 'G' | 'B' | 'U' | 'X' | 'Y' | 'R' | 'E' | 'N';
  /** VALIDSIG's signing-key fingerprint and primary-key fingerprint. */
  validKey?: string;
  validPrimary?: string;
  /** The user ID on GOODSIG/BADSIG/EXPSIG/… lines. */
  userId?: string;
  status: string;
}

const exclusive: Record<string, GpgVerification['letter']> = {
  GOODSIG: 'G',
  BADSIG: 'B',
  ERRSIG: 'E',
  EXPSIG: 'X',
  EXPKEYSIG: 'Y',
  REVKEYSIG: 'R',
};

/**
 * git's parse_gpg_output: exactly one of GOODSIG, BADSIG, ERRSIG, EXPSIG, EXPKEYSIG, REVKEYSIG
 * gives the letter; two or more make it E; none leaves git's initial N. A GOODSIG whose trust is
 * below marginal (TRUST_UNDEFINED, TRUST_NEVER) is U.
 */
export function readStatus(status: string): GpgVerification {
  let letter: GpgVerification['letter'] = 'N';
  let seen = 0;
  let trust: string | undefined;
  const found: Omit<GpgVerification, 'letter' | 'status'> = {};
  for (const line of status.split('\n')) {
    if (!line.startsWith('[GNUPG:] ')) continue;
    const [keyword = '', ...rest] = line.slice(9).split(' ');
    const mapped = exclusive[keyword];
    if (mapped) {
      seen += 1;
      letter = mapped;
      if (mapped !== 'E' && rest.length > 1) found.userId = rest.slice(1).join(' ');
    } else if (keyword === 'VALIDSIG') {
      found.validKey = rest[0];
      found.validPrimary = rest[9];
    } else if (keyword.startsWith('TRUST_')) {
      trust = keyword;
    }
  }
  if (seen > 1) letter = 'E';
  if (letter === 'G' && (trust === 'TRUST_UNDEFINED' || trust === 'TRUST_NEVER' || trust === undefined)) letter = 'U';
  return { letter, ...found, status };
}

/** The letter we must give where gpg's is `gpgLetter`: git's N (gpg printed no verdict at all) is our E. */
export function expectedLetter(gpgLetter: GpgVerification['letter']): GpgVerification['letter'] {
  // Deliberate difference: git says N when gpg could not even read the signature (bad armor
  // checksum, not a detached signature); the object does carry a signature, so we say E.
  return gpgLetter === 'N' ? 'E' : gpgLetter;
}

/** Runs `work` over `items` with at most `limit` at a time, keeping the order of results. */
export async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next;
        next += 1;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}
