import { createHash, createHmac, randomBytes, timingSafeEqual, type Hmac } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitResult, TagResult } from '../core/verify-object.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import type { RangeMemo, RecalledRange } from '../git/verify-range.ts';
import { openCacheFile, UnusableCacheFile, type CacheFileReader } from './read-cache-file.ts';
import { reusableWithoutNow } from './verdict-cache.ts';
import { SignetError } from '../core/errors.ts';

/**
 * A whole range's results, memoised: the commits of one walk in git's order with their verdicts,
 * so that a repeated `signet verify --all` over an unchanged history reads one file and prints,
 * without walking or reading a single commit (the per-commit verdict cache still costs a read and
 * a hash of every commit, and loading its whole file).
 *
 * Keyed (`<key>.memo` beside the verdict cache's files) by the verdict key and everything the
 * walk's answer depends on: the included, excluded and pre-read commit ids in the order given
 * (the order breaks ties between equal commit times), the shallow boundary (`.git/shallow`) and
 * the hash algorithm. Commits are named by their ids, so the same ids give the same history; a
 * moved ref is another tip and finds no memo.
 *
 * The file is `MAGIC VERSION key hmac\n` (fixed width, written last) and lines of
 * `v<TAB>{verdict, mergetags}` (a verdict shared by the commits after it, numbered in order) and
 * `c<TAB>oid<TAB>verdict number or -<TAB>parents<TAB>subject` (`C` when the subject is JSON).
 * `-` marks a verdict judged at the clock without `--now` (OpenPGP, X.509 expiry): the order is
 * reused and that commit verified again. HMAC-SHA256 under the verdict cache's secret over the
 * key and the body: a damaged, cut-short or foreign memo is ignored (the range is walked and
 * verified again), never trusted.
 */
const MAGIC = 'signet-walk-memo';
const VERSION = 1;
const HEADER_LENGTH = MAGIC.length + 1 + String(VERSION).length + 1 + 64 + 1 + 64 + 1;
/** Memo files kept per directory: each moved tip leaves one behind. */
const KEEP_FILES = 4;
const FLUSH_BYTES = 64 * 1024;
/** A memo is read this much at a time (twice: checked, then replayed), never whole. */
const READ_BYTES = 64 * 1024;
/**
 * A memo up to this size (about 150,000 commits) is read once and its text held for the replay:
 * one pass, as fast as before; only a larger one pays for the second pass and its digests.
 */
const HOLD_BYTES = 16 << 20;
/** A record longer than this (a subject of megabytes) makes the memo unusable: the range is walked again. */
const MAX_LINE_BYTES = 16 << 20;

export interface WalkInputs {
  include: string[];
  exclude: string[];
  parsed: string[];
  shallow: Iterable<string>;
  hashAlgorithm: string;
}

/** SHA-256 over the verdict key and the walk's inputs, each length-prefixed. */
export function walkMemoKey(verdictKey: string, walk: WalkInputs): string {
  const hash = createHash('sha256');
  const field = (label: string, value: string): void => {
    hash.update(`${label}:${Buffer.byteLength(value)}:`);
    hash.update(value);
  };
  field('memo-version', String(VERSION));
  field('verdict-key', verdictKey);
  field('hash', walk.hashAlgorithm);
  field('revisions', JSON.stringify([walk.include, walk.exclude, walk.parsed]));
  field('shallow', [...walk.shallow].sort().join(','));
  return hash.digest('hex');
}

interface SharedVerdict {
  verdict: SignatureVerdict;
  mergetags: TagResult[];
}

export class WalkMemo implements RangeMemo {
  private readonly path: string;
  ignoredReason: string | undefined;
  /** Why the memo could not be written (the run's verdicts stand; the next run walks again). */
  writeProblem: string | undefined;
  private writer: MemoWriter | undefined;
  readonly statistics: MemoReadStatistics = { bytesRead: 0, largestRead: 0 };

  constructor(
    readonly directory: string,
    readonly key: string,
    /** Whether every verdict may be reused (an explicit --now is in the key). */
    private readonly explicitNow: boolean,
    private readonly secret: Buffer,
    /** Bytes read at a time, and up to what size a memo is held whole instead (settable for tests). */
    private readonly limits: { readBytes?: number; holdBytes?: number } = {},
  ) {
    this.path = join(directory, `${key}.memo`);
  }

  recall(): RecalledRange | undefined {
    let file: CacheFileReader | undefined;
    let scanned: ScannedMemo | string;
    try {
      file = openCacheFile(this.path);
      if (!file) return undefined;
      scanned = this.scan(file);
    } catch (error) {
      if (!(error instanceof UnusableCacheFile)) throw error;
      this.ignoredReason = `${this.path}: ${error.message}; ignored, walking again`;
      return undefined;
    } finally {
      file?.close();
    }
    if (typeof scanned === 'string') {
      this.ignoredReason = `${this.path}: ${scanned}; ignored, walking again`;
      return undefined;
    }
    if (scanned.text !== undefined) {
      const text = scanned.text;
      return { length: scanned.length, [Symbol.iterator]: () => replayRecords(text, []) };
    }
    return replay(this.path, scanned, this.limits.readBytes ?? READ_BYTES, this.statistics);
  }

  record(result: CommitResult): void {
    if (this.writeProblem) return;
    try {
      // An unguessable name, created exclusively: whoever can write the directory (a restored CI
      // cache) could plant a symlink at any predictable name and have the memo written through it.
      this.writer ??= new MemoWriter(this.directory, `${this.path}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`, this.secret, this.key);
      this.writer.add(result, this.explicitNow || reusableWithoutNow(result));
    } catch (error) {
      // The verdicts stand without their memo: the caller says so, and the next run walks again.
      this.writeProblem = (error as Error).message;
      this.abandon();
    }
  }

  complete(): void {
    if (!this.writer) return;
    try {
      const temporary = this.writer.finish();
      this.writer = undefined;
      renameSync(temporary, this.path);
      prune(this.directory);
    } catch (error) {
      this.writeProblem = (error as Error).message;
      this.abandon();
    }
  }

  abandon(): void {
    try {
      this.writer?.discard();
    } catch {
      // Already closed or removed: nothing of it is used.
    }
    this.writer = undefined;
  }

  /**
   * The first of two passes, a piece at a time: the header, the MAC over the body, every
   * record's shape, and a digest of each piece so that the second pass (the replay) uses only
   * the bytes checked here. A problem, or what the replay needs.
   */
  private scan(file: CacheFileReader): ScannedMemo | string {
    const head = Buffer.alloc(Math.min(HEADER_LENGTH, file.size));
    this.countRead(file.read(head, 0));
    const header = head.toString('latin1');
    const fields = header.length === HEADER_LENGTH && header.endsWith('\n') ? header.slice(0, -1).split(' ') : [];
    if (fields.length !== 4 || fields[0] !== MAGIC) return 'not a signet walk memo';
    if (fields[1] !== String(VERSION)) return `version ${fields[1]}, not ${VERSION}`;
    if (fields[2] !== this.key) return 'made for another range, keys or time';
    const hmac = mac(this.secret, this.key);
    const digests: Buffer[] = [];
    let length = 0;
    let parses = true;
    const lines = new LineSplitter();
    const body = Math.max(file.size - HEADER_LENGTH, 1);
    const hold = body <= (this.limits.holdBytes ?? HOLD_BYTES);
    const piece = Buffer.allocUnsafeSlow(hold ? body : Math.min(this.limits.readBytes ?? READ_BYTES, body));
    let held: string | undefined;
    for (let at = HEADER_LENGTH; at < file.size; at += piece.length) {
      const bytes = piece.subarray(0, this.countRead(file.read(piece, at)));
      if (bytes.length === 0) break;
      hmac.update(bytes);
      if (!hold) digests.push(createHash('sha256').update(bytes).digest());
      if (!parses) continue;
      const text = lines.push(bytes);
      if (hold) held = text;
      if (lines.tooLong) parses = false;
      if (text === undefined || !parses) continue;
      const checked = checkRecords(text);
      if (checked === undefined) parses = false;
      else length += checked;
    }
    const expected = hmac.digest();
    const given = /^[0-9a-f]{64}$/.test(fields[3]!) ? Buffer.from(fields[3]!, 'hex') : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "not written with this machine's cache key, or damaged";
    // A last line without its newline is cut short.
    if (!parses || !lines.empty) return 'a record does not parse';
    return { size: file.size, digests, length, ...(hold ? { text: held ?? '' } : {}) };
  }

  private countRead(bytes: number): number {
    this.statistics.bytesRead += bytes;
    this.statistics.largestRead = Math.max(this.statistics.largestRead, bytes);
    return bytes;
  }
}

/** What a memo's first pass leaves for its replay. */
interface ScannedMemo {
  size: number;
  /** SHA-256 of each piece of the body, in order. */
  digests: Buffer[];
  /** Commits in the range. */
  length: number;
  /** The whole body's text, when the memo was small enough to hold. */
  text?: string;
}

/** What reading memos has cost: for the test that a memo is never read whole. */
export interface MemoReadStatistics {
  bytesRead: number;
  largestRead: number;
}

/**
 * Whole lines out of pieces of bytes: a line may span pieces (a long subject), and a piece may
 * end inside a UTF-8 character, never inside a newline. The unfinished line is kept as pieces
 * (joined once, when it ends) and only up to MAX_LINE_BYTES: a planted file of one endless line
 * is refused, not gathered.
 */
class LineSplitter {
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** A line ran past MAX_LINE_BYTES: the memo does not parse. */
  tooLong = false;

  get empty(): boolean {
    return this.partsLength === 0;
  }

  /** The whole lines these bytes complete, or undefined when they complete none. */
  push(bytes: Buffer): string | undefined {
    const end = bytes.lastIndexOf(0x0a);
    if (end < 0) {
      this.keep(bytes);
      return undefined;
    }
    const lines = this.parts.length > 0 ? Buffer.concat([...this.parts, bytes.subarray(0, end + 1)]) : bytes.subarray(0, end + 1);
    this.parts = [];
    this.partsLength = 0;
    this.keep(bytes.subarray(end + 1));
    return lines.toString('utf8');
  }

  private keep(bytes: Buffer): void {
    if (bytes.length === 0) return;
    if (this.partsLength + bytes.length > MAX_LINE_BYTES) {
      this.tooLong = true;
      this.parts = [];
      this.partsLength = 0;
      return;
    }
    // A copy: the piece's buffer is read into again.
    this.parts.push(Buffer.from(bytes));
    this.partsLength += bytes.length;
  }
}

/** The commits among whole lines of records, or undefined when one does not parse. */
function checkRecords(text: string): number | undefined {
  // Blocks of records a match: one native match per record cost a microsecond each.
  for (let start = 0; start < text.length;) {
    RECORDS.lastIndex = start;
    if (!RECORDS.test(text)) return undefined;
    start = RECORDS.lastIndex;
  }
  let verdicts = 0;
  for (let at = text.startsWith('v\t') ? 0 : text.indexOf('\nv\t'); at >= 0; at = text.indexOf('\nv\t', at + 1)) {
    const start = text[at] === 'v' ? at : at + 1;
    if (sharedVerdict(text.slice(start + 2, text.indexOf('\n', start))) === undefined) return undefined;
    verdicts++;
  }
  return countLines(text) - verdicts;
}

function sharedVerdict(json: string): SharedVerdict | undefined {
  let value: SharedVerdict;
  try {
    value = JSON.parse(json) as SharedVerdict;
  } catch {
    return undefined;
  }
  return typeof value?.verdict?.status === 'string' && Array.isArray(value.mergetags) ? value : undefined;
}

function mac(secret: Buffer, key: string): Hmac {
  return createHmac('sha256', secret).update(MAGIC).update('\0').update(key).update('\0');
}

/**
 * The second pass: the memo read again a piece at a time, each piece held to the digest the
 * first pass took (a file changed in between fails the run: what it says was not checked), and
 * each commit's result made as it is replayed, so a long range is never held, as bytes or objects.
 */
function replay(path: string, scanned: ScannedMemo, readBytes: number, statistics: MemoReadStatistics): RecalledRange {
  const changed = (): SignetError => new SignetError('STORE_UNAVAILABLE', `walk memo ${path} changed while it was read; run again`);
  return {
    length: scanned.length,
    *[Symbol.iterator]() {
      let file: CacheFileReader | undefined;
      try {
        file = openCacheFile(path);
      } catch (error) {
        if (error instanceof UnusableCacheFile) throw changed();
        throw error;
      }
      if (!file || file.size !== scanned.size) {
        file?.close();
        throw changed();
      }
      try {
        const shared: SharedVerdict[] = [];
        const lines = new LineSplitter();
        const piece = Buffer.allocUnsafeSlow(Math.min(readBytes, Math.max(scanned.size - HEADER_LENGTH, 1)));
        let number = 0;
        for (let at = HEADER_LENGTH; at < scanned.size; at += piece.length, number++) {
          const read = file.read(piece, at);
          statistics.bytesRead += read;
          statistics.largestRead = Math.max(statistics.largestRead, read);
          const bytes = piece.subarray(0, read);
          const digest = scanned.digests[number];
          if (!digest || !createHash('sha256').update(bytes).digest().equals(digest)) throw changed();
          const text = lines.push(bytes);
          if (text !== undefined) yield* replayRecords(text, shared);
        }
      } finally {
        file.close();
      }
    },
  };
}

/** The results of whole lines of checked records; `shared` gathers the verdicts as they come. */
function* replayRecords(text: string, shared: SharedVerdict[]): Generator<CommitResult | string> {
  for (let start = 0; start < text.length;) {
    const stop = text.indexOf('\n', start);
    if (text[start] === 'v') {
      const value = sharedVerdict(text.slice(start + 2, stop));
      if (!value) throw new SignetError('INTERNAL', 'walk memo: a verdict record no longer parses');
      shared.push(value);
    } else {
      const oidEnd = text.indexOf('\t', start + 2);
      const numberEnd = text.indexOf('\t', oidEnd + 1);
      const parentsEnd = text.indexOf('\t', numberEnd + 1);
      const oid = text.slice(start + 2, oidEnd);
      if (text.charCodeAt(oidEnd + 1) === 45) yield oid;
      else {
        const entry = shared[Number(text.slice(oidEnd + 1, numberEnd))];
        // Numbered in order of first use by the writer: an authentic memo cannot point past its table.
        if (!entry) throw new SignetError('INTERNAL', `walk memo: ${oid} names a verdict the memo does not hold`);
        const parents = parentsEnd === numberEnd + 1 ? [] : text.slice(numberEnd + 1, parentsEnd).split(' ');
        const raw = text.slice(parentsEnd + 1, stop);
        yield {
          commit: oid,
          parents,
          subject: text[start] === 'C' ? (JSON.parse(raw) as string) : raw,
          verdict: entry.verdict,
          mergetags: entry.mergetags,
        };
      }
    }
    start = stop + 1;
  }
}

const ID = '(?:[0-9a-f]{40}|[0-9a-f]{64})';
/** Up to 256 records: `v`, `c` (plain subject) or `C` (subject as a JSON string). */
const RECORDS = new RegExp(`(?:v\t[^\n]*\n|[cC]\t${ID}\t(?:-|[0-9]{1,9})\t(?:${ID}(?: ${ID})*)?\t[^\n]*\n){1,256}`, 'y');

function countLines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

/** Streams the memo to a temporary file as results come, so a million-commit range is never held whole. */
class MemoWriter {
  private readonly fd: number;
  private readonly hmac: Hmac;
  private readonly numbers = new Map<string, number>();
  private pending: string[] = [];
  private pendingLength = 0;

  constructor(
    directory: string,
    private readonly temporary: string,
    secret: Buffer,
    private readonly key: string,
  ) {
    mkdirSync(directory, { recursive: true });
    this.fd = openSync(temporary, 'wx', 0o600);
    writeSync(this.fd, Buffer.alloc(HEADER_LENGTH, 0x20));
    this.hmac = mac(secret, key);
  }

  add(result: CommitResult, reusable: boolean): void {
    let number = '-';
    if (reusable) {
      const shared = JSON.stringify({ verdict: result.verdict, mergetags: result.mergetags });
      let known = this.numbers.get(shared);
      if (known === undefined) {
        known = this.numbers.size;
        this.numbers.set(shared, known);
        this.push(`v\t${shared}\n`);
      }
      number = String(known);
    }
    const plain = !/[\n\r]/.test(result.subject);
    this.push(`${plain ? 'c' : 'C'}\t${result.commit}\t${number}\t${result.parents.join(' ')}\t${plain ? result.subject : JSON.stringify(result.subject)}\n`);
  }

  /** Writes the header over its placeholder and returns the temporary file's name. */
  finish(): string {
    this.flush();
    const header = `${MAGIC} ${VERSION} ${this.key} ${this.hmac.digest('hex')}\n`;
    writeSync(this.fd, Buffer.from(header, 'latin1'), 0, HEADER_LENGTH, 0);
    closeSync(this.fd);
    return this.temporary;
  }

  discard(): void {
    closeSync(this.fd);
    rmSync(this.temporary, { force: true });
  }

  private push(line: string): void {
    this.pending.push(line);
    this.pendingLength += line.length;
    if (this.pendingLength >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingLength = 0;
    this.hmac.update(bytes);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
  }
}

/** Keeps the newest few memo files. */
function prune(directory: string): void {
  let files: Array<{ name: string; mtime: number }>;
  try {
    files = readdirSync(directory)
      .filter((name) => name.endsWith('.memo'))
      .map((name) => ({ name, mtime: statSync(join(directory, name)).mtimeMs }));
  } catch {
    // Housekeeping: a file another run removed first is no reason to fail the run.
    return;
  }
  files.sort((a, b) => b.mtime - a.mtime);
  for (const file of files.slice(KEEP_FILES)) rmSync(join(directory, file.name), { force: true });
}
