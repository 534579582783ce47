import { createHash, createHmac, randomBytes, timingSafeEqual, type Hmac } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitResult } from '../core/verify-object.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import type { RegistrySources } from '../keys/load-registries.ts';
import { SignetError } from '../core/errors.ts';
import { openCacheFile, UnusableCacheFile, type CacheFileReader } from './read-cache-file.ts';
import { RecordArena } from './record-arena.ts';
import { removeStaleTemporaries } from './stale-temporaries.ts';
import { decodeRecord, encodeRecord, parseSharedVerdict, RECORD_ID, sharedVerdictJson } from './verdict-cache-record.ts';

/**
 * `signet verify`'s memory of verdicts, so that a repeated run pays for new commits only.
 *
 * One file per verdict key (`<key>.cache`): the key is a SHA-256 over everything a verdict
 * depends on besides the commit itself — the registry's content (keyrings, allowed_signers,
 * revoked keys, X.509 roots and CRLs, trusted root, keyless identities) and its files' names
 * (a verdict's detail may name one), the policy file's
 * content when there is one, the explicit `--now`, signet's version and this format's — so a changed
 * input finds no file and every commit is verified again. The object id is the key within a file.
 *
 * The file is `MAGIC version key hmac\n`, the shared verdicts (`v<TAB>json` lines, numbered in
 * order) and one compact record a commit (src/store/verdict-cache-record.ts: about 200 bytes where
 * the result as JSON was 700), written whole to a temporary name and renamed. In memory the
 * records stay the file's bytes, in one buffer with an index of offsets (src/store/record-arena.ts):
 * no string or object per commit, so the cache adds its budget to a run's memory and nothing the
 * garbage collector must walk. A file whose magic, version, key or MAC does not match (damaged,
 * cut short, another version's, another machine's) or whose records do not parse is ignored and
 * rewritten: the commits are verified again, never passed on a broken record. The MAC is keyed by
 * a secret outside the repository (cacheSecret; docs/threat-model.md).
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
const VERSION = 2;
/** Files kept per directory (one per key): older ones are removed when a run writes its own. */
const KEEP_FILES = 8;
/**
 * The bytes of records and shared verdicts held, and so the file's largest size: about 20,000
 * signed commits. Past it a run adds no more (records of earlier runs make room first). History:
 * at 700 bytes of JSON a verdict, a 100,000-commit run held 69 MB of records and wrote them as one
 * string and one buffer (434 MiB peak RSS); then 8 MiB of such strings in a Map (11,000 commits)
 * cost about 20 MiB of old generation; now the records are the file's bytes in one buffer. A range
 * longer than the budget is answered again by its walk memo (src/store/walk-memo.ts).
 */
export const VERDICT_CACHE_BUDGET_BYTES = 4 * 1024 * 1024;
/** The file is written this much at a time. */
const WRITE_BYTES = 64 * 1024;
/** Room for the header besides the budget's bytes: a file read is at most this much larger. */
const HEADER_ROOM = 256;

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
  // The files' names too: a verdict can name the file it was judged by ("… is revoked in
  // <revoked keys>", "<allowed_signers>:<line>"), and a cached one must read as a fresh one would.
  const names = (list: Array<{ name: string }> | undefined): string[] => (list ?? []).map((source) => source.name);
  field(
    'names',
    JSON.stringify([
      names(sources.keyrings),
      sources.allowedSigners?.name ?? null,
      sources.revokedKeys?.name ?? null,
      names(sources.x509Roots),
      names(sources.crls),
      sources.trustedRoot?.name ?? null,
    ]),
  );
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
  /** The records, read from the file and added by this run (src/store/record-arena.ts); made on first use. */
  private arena: RecordArena | undefined;
  /** The shared verdicts (`v` lines) as written, their numbers, and as parsed. */
  private verdictLines: string[] = [];
  private readonly verdictNumbers = new Map<string, number>();
  private verdicts: Array<SignatureVerdict | undefined> = [];
  private verdictBytes = 0;
  /** Verdicts added by this run. */
  private added = 0;
  /** This run's verdicts outgrew the budget: the rest of the run adds none. */
  outgrown = false;
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
    return this.arena?.size ?? 0;
  }

  /** What the cache holds: for the test that a record stays small and costs no object. */
  get statistics(): { records: number; recordBytes: number; verdicts: number; verdictBytes: number; indexBytes: number } {
    this.load();
    return {
      records: this.arena?.size ?? 0,
      recordBytes: this.arena?.heldBytes ?? 0,
      verdicts: this.verdictLines.length,
      verdictBytes: this.verdictBytes,
      indexBytes: this.arena?.indexBytes ?? 0,
    };
  }

  get(oid: string): CommitResult | undefined {
    this.load();
    const at = this.arena?.find(oid) ?? -1;
    if (at < 0) return undefined;
    // The MAC matched, so a record that does not parse is a bug or a forgery, not damage: verify again.
    return decodeRecord(this.arena!.line(at), this.verdicts);
  }

  put(result: CommitResult): void {
    if (this.outgrown || (!this.explicitNow && !reusableWithoutNow(result))) return;
    this.load();
    const arena = (this.arena ??= RecordArena.empty(this.budgetBytes + HEADER_ROOM));
    if (arena.find(result.commit) >= 0) return;
    const shared = sharedVerdictJson(result.verdict);
    let number = this.verdictNumbers.get(shared);
    const newVerdict = number === undefined;
    number ??= this.verdictLines.length;
    const line = encodeRecord(result, number);
    if (line === undefined) return;
    const verdictBytes = newVerdict ? 3 + Buffer.byteLength(shared) : 0;
    const bytes = Buffer.byteLength(line);
    if (bytes + verdictBytes > this.budgetBytes) return;
    // Over the budget, records of earlier runs make room (oldest first, an eighth of the budget
    // at a time so that the buffer is compacted a few times a run, not per record); once only this
    // run's are left the run stops adding: a walk goes newest first, so what is kept is the newest
    // commits, those the next push's or pull request's range asks for. Stopping, not evicting each
    // time, spares a long walk a record made and dropped per commit.
    const over = (): number => arena.heldBytes + this.verdictBytes + verdictBytes + bytes - this.budgetBytes;
    if (over() > 0 && arena.holdsEarlier) arena.dropEarlier(Math.max(over(), this.budgetBytes >> 3));
    if (over() > 0 || !arena.append(line, result.commit.length, bytes)) {
      this.outgrown = over() > 0;
      return;
    }
    if (newVerdict) {
      this.verdictNumbers.set(shared, number);
      this.verdictLines.push(shared);
      this.verdicts.push(parseSharedVerdict(shared));
      this.verdictBytes += verdictBytes;
    }
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
      const write = (bytes: Buffer): void => {
        hmac.update(bytes);
        writeAll(fd, bytes, position);
        position += bytes.length;
      };
      // The shared verdicts first (a record names one by number), then the records as held.
      let parts: string[] = [];
      let partsLength = 0;
      for (const json of this.verdictLines) {
        parts.push(`v\t${json}\n`);
        partsLength += json.length + 3;
        if (partsLength < WRITE_BYTES) continue;
        write(Buffer.from(parts.join(''), 'utf8'));
        parts = [];
        partsLength = 0;
      }
      if (parts.length > 0) write(Buffer.from(parts.join(''), 'utf8'));
      const records = this.arena?.held() ?? Buffer.alloc(0);
      for (let at = 0; at < records.length; at += WRITE_BYTES) write(records.subarray(at, at + WRITE_BYTES));
      writeAll(fd, Buffer.from(`${MAGIC} ${VERSION} ${this.key} ${hmac.digest('hex')}\n`, 'latin1'), 0);
    } catch (error) {
      closeSync(fd);
      rmSync(temporary, { force: true });
      throw error;
    }
    closeSync(fd);
    try {
      renameSync(temporary, this.path);
    } catch (error) {
      // Not renamed (a directory planted at the name, a full disk): each run would leave one behind.
      rmSync(temporary, { force: true });
      throw error;
    }
    this.added = 0;
    this.rewrite = false;
    this.prune();
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    let file: CacheFileReader | undefined;
    let buffer: Buffer | undefined;
    let length = 0;
    try {
      // A file this run could not have written (over the budget) is not read. It is read into the
      // buffer its records are then kept in: no second copy, as bytes or as strings.
      file = openCacheFile(this.path, this.budgetBytes + HEADER_ROOM);
      if (file) {
        buffer = Buffer.allocUnsafeSlow(this.budgetBytes + HEADER_ROOM);
        length = file.read(buffer, 0);
      }
    } catch (error) {
      if (!(error instanceof UnusableCacheFile)) throw error;
      this.ignored = `${this.path}: ${error.message}; ignored, verifying again`;
    } finally {
      file?.close();
    }
    if (!buffer) {
      this.rewrite = true;
      return;
    }
    const problem = this.read(buffer, length);
    if (problem) {
      this.ignored = `${this.path}: ${problem}; ignored, verifying again`;
      this.rewrite = true;
      this.verdictLines = [];
      this.verdictNumbers.clear();
      this.verdicts = [];
      this.verdictBytes = 0;
    }
  }

  /** Takes the file's verdicts and records, or says why it cannot be used. */
  private read(buffer: Buffer, length: number): string | undefined {
    // A file that shrank while being read is used as far as it went: its MAC decides the rest.
    const bytes = buffer.subarray(0, length);
    const end = bytes.indexOf(0x0a);
    const header = end < 0 ? [] : bytes.toString('latin1', 0, end).split(' ');
    const body = end < 0 ? Buffer.alloc(0) : bytes.subarray(end + 1);
    if (header.length !== 4 || header[0] !== MAGIC) return 'not a signet verdict cache';
    if (header[1] !== String(VERSION)) return `version ${header[1]}, not ${VERSION}`;
    if (header[2] !== this.key) return 'made for other keys, policy or time';
    if (!this.authentic(body, header[3] ?? '')) return "not written with this machine's cache key, or damaged";
    let at = end + 1;
    while (at < bytes.length && bytes[at] === 0x76 && bytes[at + 1] === 0x09) {
      const stop = bytes.indexOf(0x0a, at);
      if (stop < 0) return 'a record does not parse';
      const json = bytes.toString('utf8', at + 2, stop);
      const verdict = parseSharedVerdict(json);
      if (!verdict || this.verdictNumbers.has(json)) return 'a record does not parse';
      this.verdictNumbers.set(json, this.verdictLines.length);
      this.verdictLines.push(json);
      this.verdicts.push(verdict);
      this.verdictBytes += stop + 1 - at;
      at = stop + 1;
    }
    const arena = RecordArena.over(buffer, at, length, RECORD_ID);
    if (!arena) return 'a record does not parse';
    this.arena = arena;
    return undefined;
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
    removeStaleTemporaries(this.directory);
    let files: Array<{ name: string; mtime: number }>;
    try {
      files = readdirSync(this.directory)
        // Only names signet gives its files: the directory may be elsewhere than it looks (a
        // symlink planted in .git) and hold someone's own `*.cache` files.
        .filter((name) => /^[0-9a-f]{64}\.cache$/.test(name))
        .map((name) => ({ name, mtime: statSync(join(this.directory, name)).mtimeMs }));
    } catch {
      // Pruning is housekeeping: a file another run removed first is no reason to fail the run.
      return;
    }
    files.sort((a, b) => b.mtime - a.mtime);
    for (const file of files.slice(KEEP_FILES)) {
      try {
        rmSync(join(this.directory, file.name), { force: true });
      } catch {
        // A directory planted at a cache's name, or no right to remove it: the file written stands.
      }
    }
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
