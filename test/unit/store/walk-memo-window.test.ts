/**
 * A walk memo of a million commits is about 110 MB: read whole (and made one string) it alone was
 * twice the 128 MiB a `verify` may use. It is read a piece at a time, twice: first its MAC and
 * every record's shape, then the replay, each piece held to the digest the first pass took.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommitResult } from '../../../src/core/verify-object.ts';
import { SignetError } from '../../../src/core/errors.ts';
import { RecalledRangeUnusable } from '../../../src/git/verify-range.ts';
import { WalkMemo } from '../../../src/store/walk-memo.ts';

const SECRET = Buffer.from('a-secret-of-thirty-two-bytes-or-more!!');
const KEY = 'c'.repeat(64);
/** The revisions the memo stands for (their ids need not exist: no walk reads them here). */
const WALK = { include: ['1'.repeat(40)], exclude: [], parsed: [], shallow: [], hashAlgorithm: 'sha1' };
const PIECE = 4096;

function results(count: number): CommitResult[] {
  return Array.from({ length: count }, (_, index) => {
    const oid = index.toString(16).padStart(40, '0');
    return {
      commit: oid,
      parents: index + 1 < count ? [(index + 1).toString(16).padStart(40, '0')] : [],
      // Multi-byte characters (split across pieces), a subject longer than a piece, one needing JSON.
      subject: index === 37 ? 'ü'.repeat(PIECE * 3) : index === 41 ? 'two\nlines' : `commit ${index} — äöü ✓`,
      verdict: (index % 3 === 0
        ? { status: 'N', format: 'none', reason: 'unsigned' }
        : { status: 'G', format: 'ssh', reason: 'valid', key: `SHA256:${index % 2}` }) as CommitResult['verdict'],
      mergetags: [],
    };
  });
}

describe('a walk memo is read a piece at a time, never whole', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-memo-window-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function written(count: number): CommitResult[] {
    const all = results(count);
    const memo = new WalkMemo(dir, KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    for (const result of all) memo.record(result);
    memo.complete();
    expect(memo.writeProblem).toBeUndefined();
    return all;
  }
  const memoPath = (): string =>
    join(
      dir,
      readdirSync(dir).find((name) => name.endsWith('.memo'))!,
    );

  it('replays every result as recorded, reading no more than a piece at once', () => {
    const all = written(3000);
    const size = readFileSync(memoPath()).length;
    expect(size).toBeGreaterThan(40 * PIECE);
    const memo = new WalkMemo(dir, KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    const recalled = memo.recall();
    expect(memo.ignoredReason).toBeUndefined();
    expect(recalled?.length).toBe(all.length);
    expect([...recalled!]).toEqual(all);
    // Two passes over the file, each a piece at a time: a whole-file read would be `size` at once.
    expect(memo.statistics.largestRead).toBeLessThanOrEqual(PIECE);
    expect(memo.statistics.bytesRead).toBeGreaterThanOrEqual(2 * (size - PIECE));
    // Under the hold budget (the default's 4 MiB) the same memo is read once and held.
    const small = new WalkMemo(dir, KEY, WALK, true, SECRET);
    expect([...small.recall()!]).toEqual(all);
    expect(small.statistics.bytesRead).toBe(size);
  });

  it('a moved tip reads the earlier memo a piece at a time too, and copies it whole into its own', () => {
    const all = written(3000);
    const size = readFileSync(memoPath()).length;
    const newest: CommitResult = { ...all[0]!, commit: 'e'.repeat(40), parents: [all[0]!.commit], subject: 'one new commit' };
    const moved = { ...WALK, include: [newest.commit] };
    const memo = new WalkMemo(dir, KEY, moved, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    // The walk is the caller's (src/git/rev-walk.ts walkToEarlierTips): here it reaches the earlier tips after one commit.
    const recalled = memo.recallMoved((earlierTips) => (earlierTips.join() === WALK.include.join() ? [newest.commit] : undefined))!;
    expect(recalled.found).toEqual([newest.commit]);
    memo.record(newest);
    expect([...recalled.earlier]).toEqual(all);
    memo.complete();
    expect(memo.reused).toEqual({ from: 'earlier', newCommits: 1, earlierCommits: 3000 });
    expect(memo.statistics.largestRead).toBeLessThanOrEqual(PIECE);
    expect(memo.statistics.bytesRead).toBeGreaterThanOrEqual(2 * (size - PIECE));
    // Its own memo: the new commit, then the earlier records, replayed for the same tips.
    const again = new WalkMemo(dir, KEY, moved, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    expect([...again.recall()!]).toEqual([newest, ...all]);
    expect(again.reused).toEqual({ from: 'range' });
  });

  it('numbers at most 4,096 distinct verdicts at once (with --now every OpenPGP verdict differs), and replays them all', () => {
    const all = results(10_000).map((result, index) => ({
      ...result,
      verdict: { status: 'G', format: 'openpgp', reason: 'valid', key: 'A'.repeat(40), signedAt: 1_700_000_000 + index } as unknown as CommitResult['verdict'],
    }));
    const memo = new WalkMemo(dir, KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    for (const result of all) memo.record(result);
    memo.complete();
    const body = readFileSync(memoPath(), 'utf8');
    const tables = body.split('\nr\n');
    expect(tables).toHaveLength(3);
    for (const table of tables) expect(table.split('\n').filter((line) => line.startsWith('v\t')).length).toBeLessThanOrEqual(4096);
    const reader = new WalkMemo(dir, KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    expect([...reader.recall()!]).toEqual(all);
    expect([...new WalkMemo(dir, KEY, WALK, true, SECRET).recall()!]).toEqual(all);
  });

  it('stops the replay when the file changes between its check and its replay (nothing unchecked is used; the range is walked again: test/unit/verify/replay-changed.test.ts)', () => {
    written(3000);
    const memo = new WalkMemo(dir, KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    const recalled = memo.recall()!;
    // Same length and still well-formed, but not what was checked: a subject far into the file.
    const bytes = readFileSync(memoPath(), 'latin1');
    const at = bytes.indexOf('\tcommit 2900 ');
    expect(at).toBeGreaterThan(20 * PIECE);
    writeFileSync(memoPath(), `${bytes.slice(0, at)}\tforged 2900 ${bytes.slice(at + 13)}`, 'latin1');
    const seen: Array<CommitResult | string> = [];
    let failure: unknown;
    try {
      for (const entry of recalled) seen.push(entry);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(SignetError);
    expect((failure as SignetError).code).toBe('STORE_UNAVAILABLE');
    expect((failure as Error).message).toMatch(/changed while it was read/);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((entry) => typeof entry !== 'string' && entry.subject.startsWith('forged'))).toBe(false);
  });

  it('replays what it checked when another run renames its memo over this one or prunes it meanwhile (two verify runs at once)', () => {
    // Without the open file kept from the check to the replay, the replay opened the name again
    // and failed the run ("changed while it was read") although nothing it read had changed.
    const all = written(3000);
    const path = memoPath();
    for (const meanwhile of ['renamed over', 'pruned']) {
      const memo = new WalkMemo(dir, KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
      const recalled = memo.recall()!;
      expect(memo.ignoredReason).toBeUndefined();
      if (meanwhile === 'pruned') rmSync(path);
      else {
        // Another run of the same range whose memo is laid out otherwise (one verdict fewer shared: another size).
        const other = new WalkMemo(join(dir, 'other'), KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
        for (const result of all.slice(1)) other.record(result);
        other.complete();
        const otherPath = join(dir, 'other', readdirSync(join(dir, 'other'))[0]!);
        expect(readFileSync(otherPath).length).not.toBe(readFileSync(path).length);
        renameSync(otherPath, path);
      }
      expect([...recalled]).toEqual(all);
      if (meanwhile === 'renamed over') written(3000);
    }
  });

  it('never gives a record a verdict of a table before its `r`, nor one not yet defined, even in an authentic memo', () => {
    // Written with the secret (a writer bug, or whoever holds the secret): each verdict table
    // starts again at `r`, so number 0 after it is not the 0 before. Failing closed: no verdict.
    const memo = new WalkMemo(dir, KEY, WALK, true, SECRET);
    const oid = (digit: string): string => digit.repeat(40);
    const good = JSON.stringify({ verdict: { status: 'G', format: 'ssh', reason: 'valid' }, mergetags: [] });
    const t = `t\t${JSON.stringify({ include: WALK.include, exclude: [], parsed: [] })}\n`;
    for (const records of [`v\t${good}\nc\t${oid('a')}\t0\t\tfirst\nr\nc\t${oid('b')}\t0\t\tsecond\n`, `c\t${oid('b')}\t0\t\tsecond\nv\t${good}\n`]) {
      const body = t + records;
      const tag = createHmac('sha256', SECRET).update('signet-walk-memo').update('\0').update(memo.key).update('\0').update(body).digest('hex');
      writeFileSync(join(dir, `${memo.key}.memo`), `signet-walk-memo 2 ${memo.key} ${tag}\n${body}`);
      const reader = new WalkMemo(dir, KEY, WALK, true, SECRET);
      const recalled = reader.recall()!;
      expect(reader.ignoredReason).toBeUndefined();
      const seen: Array<CommitResult | string> = [];
      expect(() => {
        for (const entry of recalled) seen.push(entry);
      }).toThrow(RecalledRangeUnusable);
      expect(reader.ignoredReason).toMatch(/names a verdict the memo does not hold; ignored, walking again$/);
      expect(seen.some((entry) => typeof entry !== 'string' && entry.commit === oid('b'))).toBe(false);
    }
  });

  it('does not gather a record of more than 1 MiB: the memo is ignored and the range walked again', () => {
    const [first] = results(1);
    const memo = new WalkMemo(dir, KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    memo.record({ ...first!, subject: 'x'.repeat(2 << 20) });
    memo.complete();
    const reader = new WalkMemo(dir, KEY, WALK, true, SECRET, { readBytes: PIECE, holdBytes: 0 });
    expect(reader.recall()).toBeUndefined();
    expect(reader.ignoredReason).toMatch(/a record does not parse; ignored, walking again/);
    expect(reader.statistics.largestRead).toBeLessThanOrEqual(PIECE);
  });
});
