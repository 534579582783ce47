import { createHash, createHmac, randomBytes, timingSafeEqual, type Hmac } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CommitResult, TagResult } from '../core/verify-object.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import type { RangeMemo, RecalledRange } from '../git/verify-range.ts';
import { readCacheFile, UnusableCacheFile } from './read-cache-file.ts';
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
const FLUSH_BYTES = 1 << 20;

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

  constructor(
    readonly directory: string,
    readonly key: string,
    /** Whether every verdict may be reused (an explicit --now is in the key). */
    private readonly explicitNow: boolean,
    private readonly secret: Buffer,
  ) {
    this.path = join(directory, `${key}.memo`);
  }

  recall(): RecalledRange | undefined {
    let bytes: Buffer | undefined;
    try {
      bytes = readCacheFile(this.path);
    } catch (error) {
      if (!(error instanceof UnusableCacheFile)) throw error;
      this.ignoredReason = `${this.path}: ${error.message}; ignored, walking again`;
      return undefined;
    }
    if (!bytes) return undefined;
    const problem = this.check(bytes);
    const parsed = problem ? undefined : parseBody(bytes.subarray(HEADER_LENGTH).toString('utf8'));
    if (!parsed) {
      this.ignoredReason = `${this.path}: ${problem ?? 'a record does not parse'}; ignored, walking again`;
      return undefined;
    }
    return parsed;
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

  private check(bytes: Buffer): string | undefined {
    const header = bytes.subarray(0, HEADER_LENGTH).toString('latin1');
    const fields = header.endsWith('\n') ? header.slice(0, -1).split(' ') : [];
    if (fields.length !== 4 || fields[0] !== MAGIC) return 'not a signet walk memo';
    if (fields[1] !== String(VERSION)) return `version ${fields[1]}, not ${VERSION}`;
    if (fields[2] !== this.key) return 'made for another range, keys or time';
    const expected = mac(this.secret, this.key).update(bytes.subarray(HEADER_LENGTH)).digest();
    const given = /^[0-9a-f]{64}$/.test(fields[3]!) ? Buffer.from(fields[3]!, 'hex') : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "not written with this machine's cache key, or damaged";
    return undefined;
  }
}

function mac(secret: Buffer, key: string): Hmac {
  return createHmac('sha256', secret).update(MAGIC).update('\0').update(key).update('\0');
}

/**
 * Every record's shape is checked before any is used (an authentic file that does not parse is
 * a bug or a forgery: ignored all the same); the commits' results are then made one at a time
 * as the range is replayed, so a long range is never held as objects.
 */
function parseBody(text: string): RecalledRange | undefined {
  // Blocks of records a match: one native match per record cost a microsecond each.
  for (let start = 0; start < text.length;) {
    RECORDS.lastIndex = start;
    if (!RECORDS.test(text)) return undefined;
    start = RECORDS.lastIndex;
  }
  const shared: SharedVerdict[] = [];
  const starts = text.startsWith('v\t') ? [0] : [];
  for (let at = text.indexOf('\nv\t'); at >= 0; at = text.indexOf('\nv\t', at + 1)) starts.push(at + 1);
  for (const at of starts) {
    let value: SharedVerdict;
    try {
      value = JSON.parse(text.slice(at + 2, text.indexOf('\n', at))) as SharedVerdict;
    } catch {
      return undefined;
    }
    if (typeof value?.verdict?.status !== 'string' || !Array.isArray(value.mergetags)) return undefined;
    shared.push(value);
  }
  const length = countLines(text) - shared.length;
  return {
    length,
    *[Symbol.iterator]() {
      for (let start = 0; start < text.length;) {
        const stop = text.indexOf('\n', start);
        if (text[start] !== 'v') {
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
    },
  };
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
