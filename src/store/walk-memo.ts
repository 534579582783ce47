import { createHash, createHmac, randomBytes, timingSafeEqual, type Hmac } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitResult, TagResult } from '../core/verify-object.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import { RecalledRangeUnusable, type RangeMemo, type RecalledRange } from '../git/verify-range.ts';
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
 * the hash algorithm. Commits are named by their ids, so the same ids give the same history.
 *
 * A moved tip (one new commit on top, the common CI case) finds no memo under its own key, but
 * its walk may reach an earlier memo's tips: `recallMoved` walks the new commits only, up to the
 * moment rev-walk.ts's walkToEarlierTips proves the rest of the walk is the earlier one, checks
 * that none of the new commits is in the earlier range (streaming its records), and replays it.
 * The new memo is the new commits' records followed by the earlier memo's, copied.
 *
 * The file is `MAGIC VERSION key hmac\n` (fixed width, written last), `t<TAB>{include, exclude,
 * parsed}` (the revisions it was walked from: what finds it as an earlier memo, and what its key
 * is recomputed from), and lines of `v<TAB>{verdict, mergetags}` (a verdict shared by the commits
 * after it, numbered in order), `c<TAB>oid<TAB>verdict number or -<TAB>parents<TAB>subject` (`C`
 * when the subject is JSON) and `r` (the verdict numbers start again: the table reached
 * MAX_SHARED_VERDICTS, or the records after it were copied from an earlier memo).
 * `-` marks a verdict judged at the clock without `--now` (OpenPGP, X.509 expiry): the order is
 * reused and that commit verified again. HMAC-SHA256 under the verdict cache's secret over the
 * key and the body: a damaged, cut-short or foreign memo is ignored (the range is walked and
 * verified again), never trusted.
 */
const MAGIC = 'signet-walk-memo';
const VERSION = 2;
const HEADER_LENGTH = MAGIC.length + 1 + String(VERSION).length + 1 + 64 + 1 + 64 + 1;
/** Memo files kept per directory: each moved tip leaves one behind. */
const KEEP_FILES = 4;
const FLUSH_BYTES = 64 * 1024;
/** A memo is read this much at a time (twice: checked, then replayed), never whole. */
const READ_BYTES = 64 * 1024;
/**
 * A memo up to this size (about 36,000 commits) is read once and its text held for the replay;
 * a larger one pays for a second pass and its digests instead of holding its text: at 100,000
 * commits that pass cost no measurable time and held 11 MiB less (35 MiB less at the clock,
 * where the replay also verifies; 2026-12-04, load ~3).
 */
const HOLD_BYTES = 4 << 20;
/**
 * A record longer than this (a subject of a megabyte) makes the memo unusable: the range is
 * walked again. Lines are gathered before the MAC is known (it covers the whole file): at
 * 16 MiB a planted line cost 87 MiB of RSS to gather, decode and match.
 */
const MAX_LINE_BYTES = 1 << 20;
/** An earlier memo whose revisions line is longer than this (over 100,000 refs) is not a candidate. */
const MAX_INPUTS_BYTES = 8 << 20;
/**
 * Distinct shared verdicts a writer numbers (and a replay holds) before the table starts again
 * (`r`): with --now every OpenPGP verdict differs (its signature time), and a million of them
 * held as JSON by the writer and as objects by the replay was hundreds of megabytes.
 */
const MAX_SHARED_VERDICTS = 4096;
/** The copied records are written this much at a time. */
const COPY_CHARS = 1 << 20;

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

/** The revisions a memo was walked from, as its `t` line holds them. */
interface MemoRevisions {
  include: string[];
  exclude: string[];
  parsed: string[];
}

/** A range whose walk reaches an earlier memo's: the new commits, in git's order, then the earlier range. */
export interface MovedRange {
  found: string[];
  earlier: RecalledRange;
}

export class WalkMemo implements RangeMemo {
  readonly key: string;
  private readonly path: string;
  /** The inputs with the shallow boundary read once (every candidate's key is computed with it). */
  private readonly walk: WalkInputs;
  ignoredReason: string | undefined;
  /** Why the memo could not be written (the run's verdicts stand; the next run walks again). */
  writeProblem: string | undefined;
  private writer: MemoWriter | undefined;
  readonly statistics: MemoReadStatistics = { bytesRead: 0, largestRead: 0 };
  /** What was recalled: this range's own memo, or an earlier range's after `newCommits` new ones. */
  reused: { from: 'range' } | { from: 'earlier'; newCommits: number; earlierCommits: number } | undefined;

  constructor(
    readonly directory: string,
    private readonly verdictKey: string,
    walk: WalkInputs,
    /** Whether every verdict may be reused (an explicit --now is in the key). */
    private readonly explicitNow: boolean,
    private readonly secret: Buffer,
    /** Bytes read at a time, and up to what size a memo is held whole instead (settable for tests). */
    private readonly limits: { readBytes?: number; holdBytes?: number } = {},
  ) {
    this.walk = { include: walk.include, exclude: walk.exclude, parsed: walk.parsed, shallow: [...walk.shallow], hashAlgorithm: walk.hashAlgorithm };
    this.key = walkMemoKey(verdictKey, this.walk);
    this.path = join(directory, `${this.key}.memo`);
  }

  recall(): RecalledRange | undefined {
    let file: CacheFileReader | undefined;
    let scanned: ScannedMemo | string;
    try {
      file = openCacheFile(this.path);
      if (!file) return undefined;
      scanned = this.scan(file, this.key);
    } catch (error) {
      file?.close();
      if (!(error instanceof UnusableCacheFile)) throw error;
      this.ignoredReason = `${this.path}: ${error.message}; ignored, walking again`;
      return undefined;
    }
    if (typeof scanned === 'string') {
      file.close();
      this.ignoredReason = `${this.path}: ${scanned}; ignored, walking again`;
      return undefined;
    }
    this.reused = { from: 'range' };
    if (scanned.text !== undefined) {
      file.close();
      return this.reported(heldRange(scanned.text, scanned.length), this.path);
    }
    return this.reported(replay(this.path, file, scanned, this.limits.readBytes ?? READ_BYTES, this.statistics), this.path);
  }

  record(result: CommitResult): void {
    if (this.writeProblem) return;
    try {
      this.startWriter().add(result, this.explicitNow || reusableWithoutNow(result));
    } catch (error) {
      // The verdicts stand without their memo: the caller says so, and the next run walks again.
      this.writeProblem = (error as Error).message;
      this.abandon();
    }
  }

  /**
   * For a moved tip: the newest earlier memo of these keys whose walk this range's walk reaches
   * (`walkNew` walks the new commits to an earlier memo's tips: rev-walk.ts walkToEarlierTips),
   * authenticated and holding none of the new commits; replaying it also copies its records
   * into this range's memo, after the new commits' (record each of them first). Undefined when
   * there is none: the range is walked whole.
   */
  recallMoved(walkNew: (earlierTips: string[]) => string[] | undefined): MovedRange | undefined {
    if (this.walk.exclude.length > 0) return undefined;
    for (const path of this.candidates()) {
      let file: CacheFileReader | undefined;
      try {
        file = openCacheFile(path);
        if (!file) continue;
        const earlier = this.earlierRevisions(file);
        if (!earlier) continue;
        const found = walkNew(earlier.revisions.include);
        if (!found) continue;
        const scanned = this.scan(file, earlier.key, new Set(found));
        if (typeof scanned === 'string') {
          // Named for these keys and reached by the walk, yet not authentic: never trusted, and said.
          this.ignoredReason = `${path}: ${scanned}; ignored, walking again`;
          return undefined;
        }
        if (scanned.namesAbsent) continue;
        const copy = (text: string): void => this.copyRecords(text);
        let range: RecalledRange;
        if (scanned.text !== undefined) range = this.reported(heldRange(scanned.text, scanned.length, copy), path);
        else {
          // The replay reads the file it checked: it owns (and closes) the open file from here.
          range = this.reported(replay(path, file, scanned, this.limits.readBytes ?? READ_BYTES, this.statistics, copy), path);
          file = undefined;
        }
        this.reused = { from: 'earlier', newCommits: found.length, earlierCommits: scanned.length };
        return { found, earlier: range };
      } catch (error) {
        if (!(error instanceof UnusableCacheFile)) throw error;
        // A planted FIFO, symlink or unreadable file among the candidates: not one.
        continue;
      } finally {
        file?.close();
      }
    }
    return undefined;
  }

  complete(): void {
    if (!this.writer) return;
    let temporary: string | undefined;
    try {
      temporary = this.writer.finish();
      this.writer = undefined;
      renameSync(temporary, this.path);
    } catch (error) {
      this.writeProblem = (error as Error).message;
      this.abandon();
      // Not renamed (a directory planted at the name, a full disk): a memo-sized file left
      // behind by every run would fill the disk.
      if (temporary) rmSync(temporary, { force: true });
      return;
    }
    prune(this.directory);
  }

  private startWriter(): MemoWriter {
    // An unguessable name, created exclusively: whoever can write the directory (a restored CI
    // cache) could plant a symlink at any predictable name and have the memo written through it.
    this.writer ??= new MemoWriter(this.directory, `${this.path}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`, this.secret, this.key, {
      include: this.walk.include,
      exclude: this.walk.exclude,
      parsed: this.walk.parsed,
    });
    return this.writer;
  }

  /** An earlier memo's checked records (whole lines, its `t` line first), after this range's new ones. */
  private copyRecords(text: string): void {
    if (this.writeProblem) return;
    try {
      this.startWriter().copy(text);
    } catch (error) {
      this.writeProblem = (error as Error).message;
      this.abandon();
    }
  }

  /** The other memos of the directory, newest first, a few at most (each may cost a short walk). */
  private candidates(): string[] {
    let names: string[];
    try {
      names = readdirSync(this.directory).filter((name) => /^[0-9a-f]{64}\.memo$/.test(name) && name !== `${this.key}.memo`);
    } catch {
      return [];
    }
    const files: Array<{ path: string; mtime: number }> = [];
    for (const name of names) {
      const path = join(this.directory, name);
      try {
        // Not followed: a planted link is no candidate (openCacheFile would refuse it too).
        files.push({ path, mtime: lstatSync(path).mtimeMs });
      } catch {
        // Removed by another run meanwhile.
      }
    }
    return files
      .sort((a, b) => b.mtime - a.mtime)
      .slice(0, KEEP_FILES)
      .map((file) => file.path);
  }

  /**
   * An earlier memo's revisions, when its key is what these keys, shallow boundary and hash
   * algorithm give with them (else it is another registry's, policy's or clone's: undefined).
   * Not yet authenticated: only used to steer a walk, then checked with the whole memo.
   */
  private earlierRevisions(file: CacheFileReader): { key: string; revisions: MemoRevisions } | undefined {
    const head = Buffer.alloc(Math.min(HEADER_LENGTH, file.size));
    this.countRead(file.read(head, 0));
    const header = head.toString('latin1');
    const fields = header.endsWith('\n') ? header.slice(0, -1).split(' ') : [];
    if (head.length !== HEADER_LENGTH || fields.length !== 4 || fields[0] !== MAGIC || fields[1] !== String(VERSION)) return undefined;
    const lines = new LineSplitter(MAX_INPUTS_BYTES);
    const piece = Buffer.allocUnsafe(Math.min(this.limits.readBytes ?? READ_BYTES, Math.max(file.size - HEADER_LENGTH, 1)));
    for (let at = HEADER_LENGTH; at < file.size && !lines.tooLong; at += piece.length) {
      const bytes = piece.subarray(0, this.countRead(file.read(piece, at)));
      if (bytes.length === 0) break;
      const text = lines.push(bytes);
      if (text === undefined) continue;
      const revisions = readRevisions(text.slice(0, text.indexOf('\n')));
      if (!revisions || revisions.exclude.length > 0) return undefined;
      const key = walkMemoKey(this.verdictKey, { ...revisions, shallow: this.walk.shallow, hashAlgorithm: this.walk.hashAlgorithm });
      return key === fields[2] ? { key, revisions } : undefined;
    }
    return undefined;
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
  private scan(file: CacheFileReader, key: string, absent?: Set<string>): ScannedMemo | string {
    const head = Buffer.alloc(Math.min(HEADER_LENGTH, file.size));
    this.countRead(file.read(head, 0));
    const header = head.toString('latin1');
    const fields = header.length === HEADER_LENGTH && header.endsWith('\n') ? header.slice(0, -1).split(' ') : [];
    if (fields.length !== 4 || fields[0] !== MAGIC) return 'not a signet walk memo';
    if (fields[1] !== String(VERSION)) return `version ${fields[1]}, not ${VERSION}`;
    if (fields[2] !== key) return 'made for another range, keys or time';
    const hmac = mac(this.secret, key);
    const digests: Buffer[] = [];
    let length = 0;
    let parses = true;
    let revisions: MemoRevisions | undefined;
    let namesAbsent = false;
    const lines = new LineSplitter();
    const body = Math.max(file.size - HEADER_LENGTH, 1);
    const hold = body <= (this.limits.holdBytes ?? HOLD_BYTES);
    // A piece at a time either way: a held memo keeps its text (as whole lines per piece), never
    // also a buffer of the whole body (11 MiB more at 100,000 commits, until the next full GC).
    const piece = Buffer.allocUnsafeSlow(Math.min(this.limits.readBytes ?? READ_BYTES, body));
    const held: string[] = [];
    for (let at = HEADER_LENGTH; at < file.size; at += piece.length) {
      const bytes = piece.subarray(0, this.countRead(file.read(piece, at)));
      if (bytes.length === 0) break;
      hmac.update(bytes);
      if (!hold) digests.push(createHash('sha256').update(bytes).digest());
      if (!parses) continue;
      const text = lines.push(bytes);
      if (hold && text !== undefined) held.push(text);
      if (lines.tooLong) parses = false;
      if (text === undefined || !parses) continue;
      let records = text;
      if (!revisions) {
        // The first line: the revisions the memo was walked from.
        const end = text.indexOf('\n');
        revisions = readRevisions(text.slice(0, end));
        if (!revisions) parses = false;
        records = text.slice(end + 1);
      }
      const checked = parses ? checkRecords(records) : undefined;
      if (checked === undefined) parses = false;
      else length += checked;
      if (parses && absent && absent.size > 0 && !namesAbsent) namesAbsent = namesAny(records, absent);
    }
    const expected = hmac.digest();
    const given = /^[0-9a-f]{64}$/.test(fields[3]!) ? Buffer.from(fields[3]!, 'hex') : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "not written with this machine's cache key, or damaged";
    // A last line without its newline is cut short.
    if (!parses || !lines.empty || !revisions) return 'a record does not parse';
    // Authentic, so written by signet: a key other than its revisions give is a bug, not a memo to use.
    if (walkMemoKey(this.verdictKey, { ...revisions, shallow: this.walk.shallow, hashAlgorithm: this.walk.hashAlgorithm }) !== key) {
      return 'its revisions do not give its key';
    }
    return { size: file.size, digests, length, namesAbsent, ...(hold ? { text: held } : {}) };
  }

  /** A replay that says, once the run ends, why it could not go on (the range is then walked again). */
  private reported(range: RecalledRange, path: string): RecalledRange {
    const said = (reason: string): void => {
      this.ignoredReason = `${path}: ${reason}; ignored, walking again`;
    };
    return {
      length: range.length,
      *[Symbol.iterator]() {
        try {
          yield* range;
        } catch (error) {
          if (error instanceof RecalledRangeUnusable) said(error.reason);
          throw error;
        }
      },
    };
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
  /** Whether a commit it was asked about (a moved tip's new commits) is in the range. */
  namesAbsent: boolean;
  /** The whole body's text (whole lines, a piece's worth each), when the memo was small enough to hold. */
  text?: string[];
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
  /** A line ran past the bound: the memo does not parse. */
  tooLong = false;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

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
    if (this.partsLength + bytes.length > this.maxLineBytes) {
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
  // A `v` line's JSON is parsed only once authenticated (by the replay): parsed before, a planted
  // megabyte of `[{},{},…]` became hundreds of megabytes of objects (623 MiB of RSS at 16 MiB).
  let others = 0;
  for (let at = text.startsWith('v\t') ? 0 : text.indexOf('\nv\t'); at >= 0; at = text.indexOf('\nv\t', at + 1)) others++;
  for (let at = text.startsWith('r\n') ? 0 : text.indexOf('\nr\n'); at >= 0; at = text.indexOf('\nr\n', at + 1)) others++;
  return countLines(text) - others;
}

/** Whether whole lines of checked records name one of these commits (as a commit, not a parent). */
function namesAny(text: string, oids: Set<string>): boolean {
  for (let start = 0; start < text.length; start = text.indexOf('\n', start) + 1) {
    const type = text.charCodeAt(start);
    // c or C
    if ((type === 99 || type === 67) && oids.has(text.slice(start + 2, text.indexOf('\t', start + 2)))) return true;
  }
  return false;
}

/** A `t` line's revisions, or undefined when it is not one. */
function readRevisions(line: string): MemoRevisions | undefined {
  // Read before the MAC is checked (an earlier memo's line steers a walk): only ids, as the writer
  // puts them, are parsed, never JSON of any shape (megabytes of `[{},…]` are as many objects).
  if (!isRevisionsLine(line)) return undefined;
  let value: Partial<MemoRevisions>;
  try {
    value = JSON.parse(line.slice(2)) as Partial<MemoRevisions>;
  } catch {
    return undefined;
  }
  const ids = (list: unknown): list is string[] => Array.isArray(list) && list.every((oid) => typeof oid === 'string' && ONE_ID.test(oid));
  if (!ids(value?.include) || !ids(value.exclude) || !ids(value.parsed)) return undefined;
  return { include: value.include, exclude: value.exclude, parsed: value.parsed };
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
 * The second pass: the file the first pass checked (the same open file, so that another run
 * renaming its memo into place or pruning this one changes nothing) read again a piece at a
 * time, each piece held to the digest the first pass took (bytes changed in place stop the
 * replay with RecalledRangeUnusable: what they say was not checked, and verifyCommitBatches walks
 * the rest of the range), and each commit's result made as it is replayed, so a long
 * range is never held, as bytes or objects. It closes the file once replayed; a range is replayed once.
 */
function replay(
  path: string,
  file: CacheFileReader,
  scanned: ScannedMemo,
  readBytes: number,
  statistics: MemoReadStatistics,
  copy?: (text: string) => void,
): RecalledRange {
  const changed = (): SignetError => new RecalledRangeUnusable('changed while it was read');
  let replayed = false;
  return {
    length: scanned.length,
    *[Symbol.iterator]() {
      if (replayed) throw new SignetError('INTERNAL', `walk memo ${path}: replayed twice`);
      replayed = true;
      try {
        const shared: SharedVerdict[] = [];
        const lines = new LineSplitter();
        const piece = Buffer.allocUnsafeSlow(Math.min(readBytes, Math.max(scanned.size - HEADER_LENGTH, 1)));
        let number = 0;
        for (let at = HEADER_LENGTH; at < scanned.size; at += piece.length, number++) {
          let read: number;
          try {
            read = file.read(piece, at);
          } catch (error) {
            if (error instanceof UnusableCacheFile) throw changed();
            throw error;
          }
          statistics.bytesRead += read;
          statistics.largestRead = Math.max(statistics.largestRead, read);
          const bytes = piece.subarray(0, read);
          const digest = scanned.digests[number];
          if (!digest || !createHash('sha256').update(bytes).digest().equals(digest)) throw changed();
          const text = lines.push(bytes);
          if (text === undefined) continue;
          copy?.(text);
          yield* replayRecords(text, shared);
        }
        if (number !== scanned.digests.length) throw changed();
      } finally {
        file.close();
      }
    },
  };
}

/** A memo held whole (checked): its replay, and its copy where a moved tip's memo is written. */
function heldRange(texts: string[], length: number, copy?: (text: string) => void): RecalledRange {
  return {
    length,
    *[Symbol.iterator]() {
      const shared: SharedVerdict[] = [];
      for (const text of texts) {
        copy?.(text);
        yield* replayRecords(text, shared);
      }
    },
  };
}

/** The results of whole lines of checked records; `shared` gathers the verdicts as they come. */
function* replayRecords(text: string, shared: SharedVerdict[]): Generator<CommitResult | string> {
  for (let start = 0; start < text.length;) {
    const stop = text.indexOf('\n', start);
    if (text[start] === 't') {
      // The revisions line: read by the scan.
    } else if (text[start] === 'r') {
      // Records copied from an earlier memo: numbered from its own table.
      shared.length = 0;
    } else if (text[start] === 'v') {
      const value = sharedVerdict(text.slice(start + 2, stop));
      // Parsed only now, once authenticated: an authentic memo that does not hold is a cache problem.
      if (!value) throw new RecalledRangeUnusable('a verdict record does not parse');
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
        if (!entry) throw new RecalledRangeUnusable(`${oid} names a verdict the memo does not hold`);
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
const ONE_ID = new RegExp(`^${ID}$`);
/** One id of a `t` line's lists, and what follows it. */
const QUOTED_ID = new RegExp(`"${ID}"[,\\]]`, 'y');

/**
 * Whether a line is a `t` line as the writer makes it, JSON of three lists of ids, checked an id
 * at a time (one regular expression over a list of 100,000 ids overflows the matcher's stack).
 */
function isRevisionsLine(line: string): boolean {
  let at = 0;
  for (const name of ['include', 'exclude', 'parsed']) {
    const opening = `${at === 0 ? 't\t{' : ','}"${name}":[`;
    if (!line.startsWith(opening, at)) return false;
    at += opening.length;
    if (line[at] === ']') {
      at++;
      continue;
    }
    do {
      QUOTED_ID.lastIndex = at;
      if (!QUOTED_ID.test(line)) return false;
      at = QUOTED_ID.lastIndex;
    } while (line[at - 1] === ',');
  }
  return line.length === at + 1 && line[at] === '}';
}
/** Up to 256 records: `v` (a JSON object, parsed once authenticated), `c` (plain subject), `C` (subject as a JSON string) or `r`. */
const RECORDS = new RegExp(`(?:v\t\\{"verdict":\\{[^\n]*\\}\n|[cC]\t${ID}\t(?:-|[0-9]{1,9})\t(?:${ID}(?: ${ID})*)?\t[^\n]*\n|r\n){1,256}`, 'y');

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
  /** An earlier memo's records were copied: nothing is added after them (their numbers are their own). */
  private copying = false;

  constructor(
    directory: string,
    private readonly temporary: string,
    secret: Buffer,
    private readonly key: string,
    revisions: MemoRevisions,
  ) {
    mkdirSync(directory, { recursive: true });
    this.fd = openSync(temporary, 'wx', 0o600);
    writeSync(this.fd, Buffer.alloc(HEADER_LENGTH, 0x20));
    this.hmac = mac(secret, key);
    this.push(`t\t${JSON.stringify({ include: revisions.include, exclude: revisions.exclude, parsed: revisions.parsed })}\n`);
  }

  /**
   * Whole lines of an earlier memo's checked records, in order, the first piece starting with
   * its `t` line: that becomes `r` (the verdict numbers start again), the rest is copied as is.
   */
  copy(text: string): void {
    let from = 0;
    if (!this.copying) {
      this.copying = true;
      this.push('r\n');
      from = text.indexOf('\n') + 1;
    }
    // In pieces cut at line ends: a piece's text can be long (a record of megabytes).
    while (from < text.length) {
      const to = from + COPY_CHARS >= text.length ? text.length : text.indexOf('\n', from + COPY_CHARS) + 1 || text.length;
      this.push(text.slice(from, to));
      from = to;
    }
  }

  add(result: CommitResult, reusable: boolean): void {
    if (this.copying) throw new SignetError('INTERNAL', 'walk memo: a record added after the copied ones');
    let number = '-';
    if (reusable) {
      const shared = JSON.stringify({ verdict: result.verdict, mergetags: result.mergetags });
      let known = this.numbers.get(shared);
      if (known === undefined) {
        if (this.numbers.size >= MAX_SHARED_VERDICTS) {
          this.numbers.clear();
          this.push('r\n');
        }
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
      // Only names signet gives its memos (the directory may be a planted symlink's target).
      .filter((name) => /^[0-9a-f]{64}\.memo$/.test(name))
      .map((name) => ({ name, mtime: statSync(join(directory, name)).mtimeMs }));
  } catch {
    // Housekeeping: a file another run removed first is no reason to fail the run.
    return;
  }
  files.sort((a, b) => b.mtime - a.mtime);
  for (const file of files.slice(KEEP_FILES)) {
    try {
      rmSync(join(directory, file.name), { force: true });
    } catch {
      // A directory planted at a memo's name, or no right to remove it: the memo written stands.
    }
  }
}
