import { createHmac, type Hmac } from 'node:crypto';
import type { CommitResult, TagResult } from '../core/verify-object.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import { RecalledRangeUnusable } from '../git/verify-range.ts';

/**
 * The walk memo's file format (src/store/walk-memo.ts describes it), read: lines gathered out of
 * pieces, their shapes checked before the MAC is known (nothing parsed as JSON then but a
 * revisions line of ids), and records replayed once authenticated.
 */

export const MAGIC = 'signet-walk-memo';

export const VERSION = 2;

export const HEADER_LENGTH = MAGIC.length + 1 + String(VERSION).length + 1 + 64 + 1 + 64 + 1;

/**
 * A record longer than this (a subject of a megabyte) makes the memo unusable: the range is
 * walked again. Lines are gathered before the MAC is known (it covers the whole file): at
 * 16 MiB a planted line cost 87 MiB of RSS to gather, decode and match.
 */
const MAX_LINE_BYTES = 1 << 20;

export interface SharedVerdict {
  verdict: SignatureVerdict;
  mergetags: TagResult[];
}

/** The revisions a memo was walked from, as its `t` line holds them. */
export interface MemoRevisions {
  include: string[];
  exclude: string[];
  parsed: string[];
}

/**
 * Whole lines out of pieces of bytes: a line may span pieces (a long subject), and a piece may
 * end inside a UTF-8 character, never inside a newline. The unfinished line is kept as pieces
 * (joined once, when it ends) and only up to MAX_LINE_BYTES: a planted file of one endless line
 * is refused, not gathered.
 */
export class LineSplitter {
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
export function checkRecords(text: string): number | undefined {
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
export function namesAny(text: string, oids: Set<string>): boolean {
  for (let start = 0; start < text.length; start = text.indexOf('\n', start) + 1) {
    const type = text.charCodeAt(start);
    // c or C
    if ((type === 99 || type === 67) && oids.has(text.slice(start + 2, text.indexOf('\t', start + 2)))) return true;
  }
  return false;
}

/** A `t` line's revisions, or undefined when it is not one. */
export function readRevisions(line: string): MemoRevisions | undefined {
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

export function mac(secret: Buffer, key: string): Hmac {
  return createHmac('sha256', secret).update(MAGIC).update('\0').update(key).update('\0');
}

/** The results of whole lines of checked records; `shared` gathers the verdicts as they come. */
export function* replayRecords(text: string, shared: SharedVerdict[]): Generator<CommitResult | string> {
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
