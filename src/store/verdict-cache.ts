import { createHash, createHmac, randomBytes, timingSafeEqual, type Hmac } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitResult } from '../core/verify-object.ts';
import type { RegistrySources } from '../keys/load-registries.ts';
import { SignetError } from '../core/errors.ts';
import { readCacheFile, UnusableCacheFile } from './read-cache-file.ts';

/**
 * `signet verify`'s memory of verdicts, so that a repeated run pays for new commits only.
 *
 * One file per verdict key (`<key>.cache`): the key is a SHA-256 over everything a verdict
 * depends on besides the commit itself — the registry's content (keyrings, allowed_signers,
 * revoked keys, X.509 roots and CRLs, trusted root, keyless identities), the policy file's
 * content when there is one, the explicit `--now`, signet's version and this format's — so a changed
 * input finds no file and every commit is verified again. The object id is the key within a file.
 *
 * The file is `MAGIC version key sha256(body)\n` and a body of `oid<TAB>result-json` lines,
 * written whole to a temporary name and renamed. A file whose magic, version, key or checksum
 * does not match (damaged, cut short, another version's, renamed) is ignored and rewritten: the
 * commits are verified again, never passed on a broken record. The checksum detects damage,
 * not forgery: the cache is trusted as much as the directory it lives in (docs/threat-model.md).
 *
 * Time: without `--now` a verdict is judged at the clock, and OpenPGP and X.509 (keyless) verdicts
 * involve key, signature and certificate expiry against it; such a verdict is never reused
 * without an explicit `--now` (see `reusableWithoutNow`). SSH verdicts are judged at the commit's
 * own time, as git does, and unsigned commits have no time at all: those are reused.
 *
 * Separate on purpose from the hook's first verdicts (src/store/verdict-records.ts): those are a
 * server's record of what it accepted and when (kept for the policy's grandfathering, never
 * re-judged), this is a disposable memo of a pure function of its key, safe to delete at any time.
 */
const MAGIC = 'signet-verify-cache';
const VERSION = 1;
/** Files kept per directory (one per key): older ones are removed when a run writes its own. */
const KEEP_FILES = 8;
/**
 * The verdicts held (their records' bytes) and so the file's largest size: about 11,000 commits.
 * Past it a run adds no more (records of earlier runs make room first): at about 700 bytes a verdict, a 100,000-commit
 * run held 69 MB of records and wrote them as one string and one buffer (434 MiB peak RSS), where
 * `verify` must stay within 128 MiB over a million commits. A range that long is answered again
 * by its walk memo (src/store/walk-memo.ts), which is streamed and a tenth of the size.
 */
export const VERDICT_CACHE_BUDGET_BYTES = 8 * 1024 * 1024;
/** The file is written this much at a time. */
const WRITE_BYTES = 64 * 1024;
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface VerdictKeyInputs {
  sources: RegistrySources;
  /** The policy file's bytes when the run judges under a policy. */
  policy?: Uint8Array;
  /** An explicit --now; undefined when the run is judged at the clock. */
  now?: Date;
  /** signet's version: a release that judges differently (a fixed verifier) finds no old verdict. */
  verifier: string;
}

/** SHA-256 over every input a verdict depends on, each length-prefixed so no two inputs run together. */
export function verdictKey(inputs: VerdictKeyInputs): string {
  const hash = createHash('sha256');
  const field = (label: string, value: string | Uint8Array): void => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    hash.update(`${label}:${bytes.length}:`);
    hash.update(bytes);
  };
  field('version', String(VERSION));
  field('verifier', inputs.verifier);
  const { sources } = inputs;
  for (const keyring of sources.keyrings) field('keyring', Buffer.from(keyring.text, 'latin1'));
  if (sources.allowedSigners) field('allowed-signers', sources.allowedSigners.text);
  if (sources.revokedKeys) field('revoked-keys', sources.revokedKeys.bytes);
  for (const root of sources.x509Roots ?? []) field('x509-root', Buffer.from(root.text, 'latin1'));
  for (const crl of sources.crls ?? []) field('crl', crl.bytes);
  if (sources.trustedRoot) field('trusted-root', sources.trustedRoot.text);
  for (const identity of sources.keylessIdentities ?? []) {
    field(
      'keyless',
      JSON.stringify([identity.subject ?? null, identity.subjectRegexp?.source ?? null, identity.issuer ?? null, identity.issuerRegexp?.source ?? null]),
    );
  }
  if (inputs.policy) field('policy', inputs.policy);
  field('now', inputs.now ? String(inputs.now.getTime()) : 'clock');
  return hash.digest('hex');
}

/** Whether a verdict made at the clock still holds at another time: no expiry judged against the clock. */
export function reusableWithoutNow(result: CommitResult): boolean {
  const timeless = (format: string): boolean => format === 'ssh' || format === 'none';
  return timeless(result.verdict.format) && result.mergetags.every((tag) => timeless(tag.verdict.format));
}

export class VerdictCache {
  private readonly lines = new Map<string, string>();
  /** Verdicts added by this run. */
  private added = 0;
  /** Bytes of the records held: new verdicts are kept only while they fit the budget. */
  private heldBytes = 0;
  /** This run's verdicts outgrew the budget: the rest of the run adds none. */
  outgrown = false;
  /** Records from the file still held: they make room for this run's first. */
  private earlierRecords = 0;
  private readonly path: string;
  /** Whether the file on disk was missing or ignored (then it is rewritten even with nothing new). */
  private rewrite = false;
  /** Read on first use: a run answered from a walk memo (src/store/walk-memo.ts) never loads it. */
  private loaded = false;
  private ignored: string | undefined;

  constructor(
    readonly directory: string,
    readonly key: string,
    /** Whether verdicts may be reused whatever they involve (an explicit --now is in the key). */
    private readonly explicitNow: boolean,
    /**
     * The secret the file is authenticated with (HMAC-SHA256 over key and body): kept outside the
     * repository (cacheSecret), so a verify-cache restored from another job or machine — a CI
     * cache an untrusted pull-request job could write — is ignored, not believed.
     */
    private readonly secret: Buffer,
    /** The budget (settable for tests). */
    private readonly budgetBytes = VERDICT_CACHE_BUDGET_BYTES,
  ) {
    this.path = join(directory, `${key}.cache`);
  }

  /** Why the file on disk was ignored, if it was (reading it if not read yet). */
  get ignoredReason(): string | undefined {
    this.load();
    return this.ignored;
  }

  /** Whether the file has been read: a run that never needed a verdict has nothing to say about it. */
  get used(): boolean {
    return this.loaded;
  }

  get size(): number {
    this.load();
    return this.lines.size;
  }

  get(oid: string): CommitResult | undefined {
    this.load();
    const line = this.lines.get(oid);
    if (line === undefined) return undefined;
    let result: CommitResult;
    try {
      result = JSON.parse(line) as CommitResult;
    } catch {
      // The checksum matched, so this is a bug or a forgery, not damage: verify again.
      this.lines.delete(oid);
      return undefined;
    }
    if (result?.commit !== oid || typeof result.verdict?.status !== 'string' || !Array.isArray(result.mergetags)) return undefined;
    return result;
  }

  put(result: CommitResult): void {
    if (this.outgrown || (!this.explicitNow && !reusableWithoutNow(result))) return;
    this.load();
    if (this.lines.has(result.commit) || !OID.test(result.commit)) return;
    const line = JSON.stringify(result);
    const bytes = result.commit.length + 2 + Buffer.byteLength(line);
    // Over the budget, records of earlier runs make room (oldest first); once only this run's
    // are left the run stops adding: a walk goes newest first, so what is kept is the newest
    // commits, those the next push's or pull request's range asks for. Stopping, not evicting
    // each time, spares a long walk a record made and dropped per commit.
    while (this.heldBytes + bytes > this.budgetBytes && this.earlierRecords > 0) {
      const [oldest, oldLine] = this.lines.entries().next().value!;
      this.lines.delete(oldest);
      this.earlierRecords--;
      this.heldBytes -= oldest.length + 2 + Buffer.byteLength(oldLine);
    }
    if (this.heldBytes + bytes > this.budgetBytes) {
      this.outgrown = true;
      return;
    }
    if (bytes > this.budgetBytes) return;
    this.heldBytes += bytes;
    this.lines.set(result.commit, line);
    this.added++;
  }

  /** Writes the file if anything is new: a piece at a time under a temporary name, then renamed. */
  save(): void {
    if (!this.loaded) return;
    if (this.added === 0 && !this.rewrite) return;
    mkdirSync(this.directory, { recursive: true });
    // An unguessable name, created exclusively: whoever can write the directory (a restored CI
    // cache) could plant a symlink at any predictable name and have the file written through it.
    const temporary = `${this.path}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      // The header (fixed width) is written last, over this placeholder: its MAC covers the body.
      const headerLength = `${MAGIC} ${VERSION} ${this.key} ${'0'.repeat(64)}\n`.length;
      writeAll(fd, Buffer.alloc(headerLength, 0x20), 0);
      const hmac = this.macOf();
      let position = headerLength;
      let parts: string[] = [];
      let partsLength = 0;
      const flush = (): void => {
        const bytes = Buffer.from(parts.join(''), 'utf8');
        hmac.update(bytes);
        writeAll(fd, bytes, position);
        position += bytes.length;
        parts = [];
        partsLength = 0;
      };
      for (const [oid, line] of this.lines) {
        const record = `${oid}\t${line}\n`;
        parts.push(record);
        partsLength += record.length;
        if (partsLength >= WRITE_BYTES) flush();
      }
      flush();
      writeAll(fd, Buffer.from(`${MAGIC} ${VERSION} ${this.key} ${hmac.digest('hex')}\n`, 'latin1'), 0);
    } catch (error) {
      closeSync(fd);
      rmSync(temporary, { force: true });
      throw error;
    }
    closeSync(fd);
    renameSync(temporary, this.path);
    this.added = 0;
    this.rewrite = false;
    this.prune();
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    let bytes: Buffer | undefined;
    try {
      // A file this run could not have written (over the budget) is not read.
      bytes = readCacheFile(this.path, this.budgetBytes + 256);
    } catch (error) {
      if (!(error instanceof UnusableCacheFile)) throw error;
      this.ignored = `${this.path}: ${error.message}; ignored, verifying again`;
    }
    if (!bytes) {
      this.rewrite = true;
      return;
    }
    const end = bytes.indexOf(0x0a);
    const header = end < 0 ? [] : bytes.subarray(0, end).toString('latin1').split(' ');
    const body = end < 0 ? Buffer.alloc(0) : bytes.subarray(end + 1);
    let problem: string | undefined;
    if (header.length !== 4 || header[0] !== MAGIC) problem = 'not a signet verdict cache';
    else if (header[1] !== String(VERSION)) problem = `version ${header[1]}, not ${VERSION}`;
    else if (header[2] !== this.key) problem = 'made for other keys, policy or time';
    else if (!this.authentic(body, header[3] ?? '')) problem = "not written with this machine's cache key, or damaged";
    if (problem) {
      this.ignored = `${this.path}: ${problem}; ignored, verifying again`;
      this.rewrite = true;
      return;
    }
    const text = body.toString('utf8');
    let start = 0;
    while (start < text.length) {
      const newline = text.indexOf('\n', start);
      const stop = newline < 0 ? text.length : newline;
      const tab = text.indexOf('\t', start);
      if (tab > start && tab < stop) {
        this.lines.set(text.slice(start, tab), text.slice(tab + 1, stop));
        this.heldBytes += Buffer.byteLength(text.slice(start, stop)) + 1;
        this.earlierRecords++;
      }
      start = stop + 1;
    }
  }

  private macOf(): Hmac {
    return createHmac('sha256', this.secret).update(this.key).update('\0');
  }

  private mac(body: Buffer): Buffer {
    return this.macOf().update(body).digest();
  }

  private authentic(body: Buffer, hex: string): boolean {
    const expected = this.mac(body);
    const given = /^[0-9a-f]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.alloc(0);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Keeps the newest few files: each changed keyring or --now leaves one behind. */
  private prune(): void {
    let files: Array<{ name: string; mtime: number }>;
    try {
      files = readdirSync(this.directory)
        .filter((name) => name.endsWith('.cache'))
        .map((name) => ({ name, mtime: statSync(join(this.directory, name)).mtimeMs }));
    } catch {
      // Pruning is housekeeping: a file another run removed first is no reason to fail the run.
      return;
    }
    files.sort((a, b) => b.mtime - a.mtime);
    for (const file of files.slice(KEEP_FILES)) rmSync(join(this.directory, file.name), { force: true });
  }
}

/** The shortest `SIGNET_CACHE_KEY` accepted: as many bytes as the random key signet makes itself. */
export const CACHE_KEY_MIN_BYTES = 32;

/**
 * The secret verify-cache files are authenticated with: `SIGNET_CACHE_KEY` when set (a CI secret,
 * so trusted jobs share a cache and untrusted ones cannot feed it), else 32 random bytes in
 * `$XDG_CONFIG_HOME/signet/verify-cache.key` (or `~/.config/…`), made on first use, mode 0600.
 * Undefined when neither can be had: then nothing is cached rather than cached unauthenticated.
 */
export function cacheSecret(env: NodeJS.ProcessEnv): Buffer | undefined {
  if (env.SIGNET_CACHE_KEY) {
    // Whoever guesses the secret can forge verdicts into a cache trusted jobs restore: a short
    // human-chosen string is refused rather than used (its length is said, never its bytes).
    const given = Buffer.from(env.SIGNET_CACHE_KEY, 'utf8');
    if (given.length < CACHE_KEY_MIN_BYTES) {
      throw new SignetError(
        'USAGE',
        `SIGNET_CACHE_KEY is ${given.length} bytes; a cache key needs at least ${CACHE_KEY_MIN_BYTES} (make one with: openssl rand -hex 32)`,
      );
    }
    return given;
  }
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined);
  if (!base) return undefined;
  const directory = join(base, 'signet');
  const path = join(directory, 'verify-cache.key');
  try {
    const existing = readFileSync(path);
    if (existing.length >= 32) return existing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
  }
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
    return readFileSync(path);
  } catch {
    // Another run made it first (read it), or the home is read-only (no cache).
    try {
      const raced = readFileSync(path);
      return raced.length >= 32 ? raced : undefined;
    } catch {
      return undefined;
    }
  }
}

function writeAll(fd: number, bytes: Buffer, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}
