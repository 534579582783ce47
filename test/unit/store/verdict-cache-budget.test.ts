/**
 * The verdict cache holds a byte budget of records, not a run's every verdict: a 100,000-commit
 * `verify` with the cache on held 69 MB of records and wrote them as one string (434 MiB peak
 * RSS). Past the budget the oldest records make room; a file over the budget is not read.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommitResult } from '../../../src/core/verify-object.ts';
import { VerdictCache } from '../../../src/store/verdict-cache.ts';

const SECRET = Buffer.from('a-secret-of-thirty-two-bytes-or-more!!');
const KEY = 'd'.repeat(64);
const BUDGET = 16 * 1024;

function result(index: number): CommitResult {
  return {
    commit: index.toString(16).padStart(40, '0'),
    parents: [(index + 1).toString(16).padStart(40, '0')],
    subject: `commit ${index} — ✓`,
    verdict: { status: 'G', format: 'ssh', reason: 'valid', key: 'SHA256:k' } as CommitResult['verdict'],
    mergetags: [],
  };
}

describe('the verdict cache keeps a byte budget', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-verdict-budget-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const cacheFile = (): string =>
    join(
      dir,
      readdirSync(dir).find((name) => name.endsWith('.cache'))!,
    );

  it("keeps a run's first verdicts within the budget, on disk and after reloading, and makes room for the next run's", () => {
    const count = 400;
    const cache = new VerdictCache(dir, KEY, true, SECRET, BUDGET);
    for (let index = 0; index < count; index++) cache.put(result(index));
    expect(cache.outgrown).toBe(true);
    cache.save();
    expect(statSync(cacheFile()).size).toBeLessThanOrEqual(BUDGET + 256);
    const reloaded = new VerdictCache(dir, KEY, true, SECRET, BUDGET);
    expect(reloaded.ignoredReason).toBeUndefined();
    expect(reloaded.size).toBeGreaterThan(20);
    expect(reloaded.size).toBeLessThan(count);
    // The first put (a walk's newest commits) are kept; the run stopped adding past the budget.
    expect(reloaded.get(result(0).commit)).toEqual(result(0));
    expect(reloaded.get(result(count - 1).commit)).toBeUndefined();
    // A next run's verdicts find room: records of earlier runs make way, so the cache never freezes.
    reloaded.put(result(count));
    reloaded.save();
    const next = new VerdictCache(dir, KEY, true, SECRET, BUDGET);
    expect(next.get(result(count).commit)).toEqual(result(count));
    expect(next.get(result(0).commit)).toBeUndefined();
  });

  it('round-trips every verdict under the default budget (the file is written a piece at a time)', () => {
    const cache = new VerdictCache(dir, KEY, true, SECRET);
    for (let index = 0; index < 3000; index++) cache.put(result(index));
    expect(cache.outgrown).toBe(false);
    cache.save();
    const reloaded = new VerdictCache(dir, KEY, true, SECRET);
    expect(reloaded.ignoredReason).toBeUndefined();
    expect(reloaded.size).toBe(3000);
    for (const index of [0, 1234, 2999]) expect(reloaded.get(result(index).commit)).toEqual(result(index));
  });

  it('does not read a file larger than the budget: it is ignored, said, and the commits verified again', () => {
    const large = new VerdictCache(dir, KEY, true, SECRET);
    for (let index = 0; index < 400; index++) large.put(result(index));
    large.save();
    const small = new VerdictCache(dir, KEY, true, SECRET, BUDGET);
    expect(small.get(result(399).commit)).toBeUndefined();
    expect(small.ignoredReason).toMatch(/over the \d+-byte bound; ignored, verifying again/);
  });
});
