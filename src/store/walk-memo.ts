import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstatSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitResult } from '../core/verify-object.ts';
import { RecalledRangeUnusable, type RangeMemo, type RecalledRange } from '../git/verify-range.ts';
import { openCacheFile, UnusableCacheFile, type CacheFileReader } from './read-cache-file.ts';
import { reusableWithoutNow } from './verdict-cache.ts';
import { SignetError } from '../core/errors.ts';
import {
  checkRecords,
  HEADER_LENGTH,
  LineSplitter,
  MAGIC,
  mac,
  namesAny,
  readRevisions,
  replayRecords,
  VERSION,
  type MemoRevisions,
  type SharedVerdict,
} from './walk-memo-records.ts';
import { MemoWriter } from './walk-memo-writer.ts';
import { removeStaleTemporaries } from './stale-temporaries.ts';

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
 *
 * Here: finding, checking and replaying memos; the records' format and their reading in
 * walk-memo-records.ts; the writer (and MAX_SHARED_VERDICTS) in walk-memo-writer.ts.
 */

/** Memo files kept per directory: each moved tip leaves one behind. */
const KEEP_FILES = 4;

/** An earlier memo with more tips than this (and than 4 times this range's) is no candidate. */
const MAX_EARLIER_TIPS = 64;

/** A memo is read this much at a time (twice: checked, then replayed), never whole. */
const READ_BYTES = 64 * 1024;

/**
 * A memo up to this size (about 36,000 commits) is read once and its text held for the replay;
 * a larger one pays for a second pass and its digests instead of holding its text: at 100,000
 * commits that pass cost no measurable time and held 11 MiB less (35 MiB less at the clock,
 * where the replay also verifies; 2026-12-04, load ~3).
 */
const HOLD_BYTES = 4 << 20;

/** An earlier memo whose revisions line is longer than this (over 100,000 refs) is not a candidate. */
const MAX_INPUTS_BYTES = 8 << 20;

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
        // Not yet authenticated, and each tip is read before the walk: a planted list of every
        // commit of the repository would cost their nodes. Far more tips than this range has
        // cannot all be in its walk's queue at one moment but in odd shapes: walked whole.
        if (!earlier || earlier.revisions.include.length > Math.max(MAX_EARLIER_TIPS, 4 * this.walk.include.length)) continue;
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

/** Keeps the newest few memo files, and removes temporaries killed runs left. */
function prune(directory: string): void {
  removeStaleTemporaries(directory);
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
