/**
 * The per-key write lanes on their own: serial and spaced within a key, free across keys,
 * holds per key, and memory that stays flat however many keys pass through.
 */
import { describe, expect, it } from 'vitest';
import { WriteSpacing } from '../../../src/forge/write-spacing.ts';
import { githubWriteLanes, secondaryLimitHold } from '../../../src/forge/github-write-lanes.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WriteSpacing', () => {
  it('runs one key serially, each write the interval after the previous one ended; other keys meanwhile', async () => {
    const spacing = new WriteSpacing({ intervalMs: 100 });
    const log: Array<{ key: string; start: number; end: number }> = [];
    const write = (key: string) => () => {
      const start = Date.now();
      return sleep(20).then(() => log.push({ key, start, end: Date.now() }));
    };
    const t0 = Date.now();
    await Promise.all([...[1, 2, 3].map(() => spacing.schedule('a', write('a'))), ...[1, 2, 3].map(() => spacing.schedule('b', write('b')))]);
    for (const key of ['a', 'b']) {
      const mine = log.filter((entry) => entry.key === key);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.start - mine[i - 1]!.end).toBeGreaterThanOrEqual(99);
    }
    // Two lanes side by side: about three writes' time, not six.
    expect(Date.now() - t0).toBeLessThan(5 * 120);
    expect(Math.abs(log.find((e) => e.key === 'a')!.start - log.find((e) => e.key === 'b')!.start)).toBeLessThan(50);
  });

  it('a hold delays its key only', async () => {
    const spacing = new WriteSpacing({ intervalMs: 0 });
    spacing.holdOff('a', Date.now() + 300);
    const t0 = Date.now();
    const [a, b] = await Promise.all([spacing.schedule('a', async () => Date.now() - t0), spacing.schedule('b', async () => Date.now() - t0)]);
    expect(a).toBeGreaterThanOrEqual(298);
    expect(b).toBeLessThan(100);
  });

  it('a failed write releases its lane (the next one still runs, spaced)', async () => {
    const spacing = new WriteSpacing({ intervalMs: 50 });
    const failed = spacing.schedule('a', async () => {
      throw new Error('boom');
    });
    const next = spacing.schedule('a', async () => 'ran');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
  });

  it('keeps memory flat: idle lanes whose spacing has passed are swept past maxKeys', async () => {
    const spacing = new WriteSpacing({ intervalMs: 0, maxKeys: 50 });
    for (let i = 0; i < 5000; i++) await spacing.schedule(`installation-${i}`, async () => undefined);
    expect(spacing.size).toBeLessThanOrEqual(101);
  });

  it('never sweeps a lane whose spacing is still running (that would let a write start early)', async () => {
    const spacing = new WriteSpacing({ intervalMs: 10_000, maxKeys: 1 });
    await spacing.schedule('a', async () => undefined);
    await spacing.schedule('b', async () => undefined);
    await spacing.schedule('c', async () => undefined);
    expect(spacing.heldFor('a')).toBeGreaterThan(9000);
    expect(spacing.size).toBe(3);
  });
});

describe('secondary rate limits', () => {
  const limited = (status: number, headers: Record<string, string>, message = 'limited') =>
    Object.assign(new Error(message), { status, response: { headers } });

  it('reads Retry-After (seconds or a date), the secondary-limit message, and leaves refusals and primary limits alone', () => {
    expect(secondaryLimitHold(limited(429, { 'retry-after': '3' }))).toBe(3000);
    expect(secondaryLimitHold(limited(403, { 'retry-after': '0' }))).toBe(0);
    expect(secondaryLimitHold(limited(403, {}, 'You have exceeded a secondary rate limit'))).toBe(60_000);
    expect(secondaryLimitHold(limited(429, {}))).toBe(60_000);
    expect(secondaryLimitHold(limited(403, { 'retry-after': new Date(Date.now() + 5000).toUTCString() }))).toBeGreaterThan(3000);
    expect(secondaryLimitHold(limited(403, {}, 'Resource not accessible by integration'))).toBeUndefined();
    expect(secondaryLimitHold(limited(403, { 'x-ratelimit-remaining': '0' }, 'API rate limit exceeded'))).toBeUndefined();
    expect(secondaryLimitHold(limited(500, { 'retry-after': '1' }))).toBeUndefined();
  });

  it('waits out the hold and tries again; past maxHolds or a too-long hold the error stands', async () => {
    const spacing = new WriteSpacing({ intervalMs: 0 });
    let calls = 0;
    const request = githubWriteLanes(
      async () => {
        calls++;
        if (calls === 1) throw limited(429, { 'retry-after': '0.2' });
        return { status: 201, data: {}, headers: {} };
      },
      spacing,
      'k',
    );
    const t0 = Date.now();
    await expect(request('POST /repos/{owner}/{repo}/check-runs', {})).resolves.toMatchObject({ status: 201 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(198);
    expect(calls).toBe(2);

    const always = githubWriteLanes(
      async () => {
        throw limited(429, { 'retry-after': '0' });
      },
      spacing,
      'k2',
      { maxHolds: 2 },
    );
    await expect(always('POST /x', {})).rejects.toThrow('limited');
    const tooLong = githubWriteLanes(
      async () => {
        throw limited(429, { 'retry-after': '3600' });
      },
      spacing,
      'k3',
    );
    await expect(tooLong('POST /x', {})).rejects.toThrow('limited');
  });
});
