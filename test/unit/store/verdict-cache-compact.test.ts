/**
 * The verdict cache's records are compact and cost no object each (issue 20, memory with the
 * cache on): a signed commit's record is about 200 bytes, not its 700 bytes of JSON, the verdict
 * is shared by the commits that have it (its signature time kept per commit), and the records
 * live in one buffer, so filling the cache leaves the JavaScript heap as it was. A Map of a JSON
 * string per commit (the format before) held 20 MiB of old generation at 100,000 commits.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommitResult } from '../../../src/core/verify-object.ts';
import { VERDICT_CACHE_BUDGET_BYTES, VerdictCache } from '../../../src/store/verdict-cache.ts';
import { WalkMemo } from '../../../src/store/walk-memo.ts';

const SECRET = Buffer.from('a-secret-of-thirty-two-bytes-or-more!!');
const KEY = 'e'.repeat(64);

/** An id as git makes them: no shared prefix to lean on. */
const id = (index: number, salt = 'c'): string => createHmac('sha1', salt).update(String(index)).digest('hex');

/** A commit as the bench's SSH half looks, with both persons and a full verdict. */
function sshResult(index: number): CommitResult {
  const person = { name: 'Bench Author', email: 'bench-ssh@signet.test', time: 1_700_000_000 + index, timezone: '+0000' };
  return {
    commit: id(index),
    parents: [id(index + 1)],
    author: person,
    committer: { ...person },
    subject: `bench: ssh commit ${index}`,
    verdict: {
      status: 'G',
      format: 'ssh',
      reason: 'valid',
      key: 'SHA256:FcGX8fJ6xN4zWxmHmtk6U40cjg8E+oDAwpra/P/x6Rs',
      hashAlgorithm: 'sha512',
      signer: 'bench-ssh@signet.test',
      identities: ['bench-ssh@signet.test'],
      emailMatches: true,
    },
    mergetags: [],
  };
}

/** An OpenPGP verdict carries the signature's own time: a different verdict per commit. */
function openpgpResult(index: number): CommitResult {
  const result = sshResult(index);
  result.commit = id(index, 'pgp');
  result.verdict = {
    status: 'G',
    format: 'openpgp',
    reason: 'valid',
    key: 'CEDC66FBE10A99A6B180B2D0F9B3E98CD08EB7F6',
    signer: 'Bench Author <bench@signet.test>',
    identities: ['bench@signet.test'],
    emailMatches: true,
    signedAt: 1_700_000_000 + index,
    hashAlgorithm: 'sha256',
  };
  return result;
}

/** The heap's live bytes, after full collections. */
function liveHeap(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return getHeapStatistics().used_heap_size;
}

describe('the verdict cache keeps compact records', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-verdict-compact-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const cacheFile = (): string =>
    join(
      dir,
      readdirSync(dir).find((name) => name.endsWith('.cache'))!,
    );

  it('writes a signed commit in at most 260 bytes and shares its verdict, on disk and held', () => {
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    for (let index = 0; index < 5000; index++) cache.put(sshResult(index));
    const held = cache.statistics;
    expect(held.records).toBe(5000);
    expect(held.verdicts).toBe(1);
    expect(held.recordBytes / held.records).toBeLessThanOrEqual(260);
    // The index finding them: a few Int32 slots a record.
    expect(held.indexBytes / held.records).toBeLessThanOrEqual(16);
    cache.save();
    expect(statSync(cacheFile()).size / 5000).toBeLessThanOrEqual(262);
    const reloaded = new VerdictCache(dir, KEY, true, SECRET);
    for (const index of [0, 2500, 4999]) expect(reloaded.get(sshResult(index).commit)).toEqual(sshResult(index));
  });

  it('keeps the signature time per commit: one shared verdict for a key, each time exact', () => {
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    for (let index = 0; index < 1000; index++) cache.put(openpgpResult(index));
    expect(cache.statistics.verdicts).toBe(1);
    cache.save();
    const reloaded = new VerdictCache(dir, KEY, true, SECRET);
    for (const index of [0, 1, 999]) expect(reloaded.get(openpgpResult(index).commit)).toEqual(openpgpResult(index));
  });

  it('fills its budget without growing the heap: the records are one buffer, not an object each', () => {
    const before = liveHeap();
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    let index = 0;
    while (!cache.outgrown) cache.put(sshResult(index++));
    expect(liveHeap() - before, 'heap bytes held by a full cache').toBeLessThan(1024 * 1024);
    expect(cache.statistics.recordBytes).toBeGreaterThan(VERDICT_CACHE_BUDGET_BYTES * 0.99);
    // Over 16,000 commits at the default budget; the JSON Map held 11,000 in 8 MiB of heap.
    expect(cache.size).toBeGreaterThan(16_000);
    cache.save();
    const reloaded = new VerdictCache(dir, KEY, true, SECRET);
    expect(reloaded.size).toBe(cache.size);
    expect(liveHeap() - before, 'heap bytes held by a full cache and its reloaded copy').toBeLessThan(2 * 1024 * 1024);
    expect(reloaded.get(sshResult(index - 2).commit)).toEqual(sshResult(index - 2));
  });

  it('round-trips what a commit may carry: tabs, newlines and backslashes, a missing author, mergetags', () => {
    const odd = sshResult(1);
    odd.subject = 'tab\there, backslash \\t not a tab, CR\r and LF\n — ✓';
    odd.author = { name: 'Eve\t<x>', email: 'eve\\@evil\n', time: -5, timezone: '-0130' };
    delete odd.committer;
    odd.mergetags = [
      {
        tag: id(9, 't'),
        name: 'v1.0',
        target: id(10),
        targetType: 'commit',
        subject: 'tag\twith tab',
        verdict: { status: 'N', format: 'none', reason: 'unsigned' },
      },
    ];
    const plain = sshResult(2);
    plain.parents = [];
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    cache.put(odd);
    cache.put(plain);
    cache.save();
    const reloaded = new VerdictCache(dir, KEY, true, SECRET);
    expect(reloaded.get(odd.commit)).toEqual(odd);
    expect(reloaded.get(plain.commit)).toEqual(plain);
  });

  it('round-trips random text of separators, escapes and NULs in every field, and so does the walk memo', () => {
    // Whoever makes the commits writes their subjects and names: every mix of the record's
    // separators and its escape character (runs of backslashes before t, n, r; a trailing one)
    // must come back as written, never shifting a field into the next.
    const alphabet = ['\\', '\t', '\n', '\r', '\0', 't', 'n', 'r', 'x', ' ', 'ü', '\u2028', '{', '"'];
    let seed = 7;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const text = (length: number): string => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const results = Array.from({ length: 400 }, (_, index) => {
      const result = sshResult(1000 + index);
      result.subject = text(index % 23);
      result.author = { name: text(index % 7), email: text(index % 5), time: index - 200, timezone: text(index % 3) };
      result.committer = { name: text(3), email: text(2), time: index, timezone: '+0000' };
      return result;
    });
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    for (const result of results) cache.put(result);
    cache.save();
    const reloaded = new VerdictCache(dir, KEY, true, SECRET);
    for (const result of results) expect(reloaded.get(result.commit)).toEqual(result);
    const walk = { include: [results[0]!.commit], exclude: [], parsed: [], shallow: [], hashAlgorithm: 'sha1' };
    const memo = new WalkMemo(dir, KEY, walk, true, SECRET, { readBytes: 256, holdBytes: 0 });
    for (const result of results) memo.record(result);
    memo.complete();
    const replayed = [...new WalkMemo(dir, KEY, walk, true, SECRET, { readBytes: 256, holdBytes: 0 }).recall()!];
    // The memo keeps what the output prints: no author or committer.
    expect(replayed).toEqual(results.map(({ author: _author, committer: _committer, ...printed }) => printed));
  });

  it('does not record what UTF-8 cannot carry: a subject with a lone surrogate is verified again', () => {
    const odd = sshResult(3);
    odd.subject = 'half a pair \ud800';
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    cache.put(odd);
    expect(cache.get(odd.commit)).toBeUndefined();
  });

  it('ignores a file of the earlier format (version 1): the commits are verified again', () => {
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    cache.put(sshResult(0));
    cache.save();
    const text = readFileSync(cacheFile(), 'latin1');
    writeFileSync(cacheFile(), text.replace('signet-verify-cache 2 ', 'signet-verify-cache 1 '), 'latin1');
    const reloaded = new VerdictCache(dir, KEY, true, SECRET);
    expect(reloaded.get(sshResult(0).commit)).toBeUndefined();
    expect(reloaded.ignoredReason).toMatch(/version 1, not 2; ignored, verifying again/);
  });

  it('ignores an authentic file whose record does not parse (a bug or a forgery), never half-reads it', () => {
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    cache.put(sshResult(0));
    cache.save();
    const text = readFileSync(cacheFile(), 'utf8');
    const header = text.slice(0, text.indexOf('\n')).split(' ');
    // A record line with no id before its tab, under a MAC made with the secret.
    const body = `${text.slice(text.indexOf('\n') + 1)}not-an-id\t0\t\n`;
    header[3] = createHmac('sha256', SECRET).update(KEY).update('\0').update(body).digest('hex');
    writeFileSync(cacheFile(), `${header.join(' ')}\n${body}`);
    const reloaded = new VerdictCache(dir, KEY, true, SECRET);
    expect(reloaded.get(sshResult(0).commit)).toBeUndefined();
    expect(reloaded.ignoredReason).toMatch(/a record does not parse; ignored, verifying again/);
  });
});
