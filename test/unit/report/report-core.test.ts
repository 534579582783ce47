import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { issueBody, markerOf, planIssueSync, type ExistingIssue } from '../../../src/core/report/issue-sync.ts';
import { findCommitsAfterWithdrawal, findExpiringKeys, updateSnapshot, withdrawnKeys } from '../../../src/core/report/key-watch.ts';
import { bucketBoundaries, defaultBucket, summarizeRef } from '../../../src/core/report/summarize.ts';
import { STATUS_LETTERS, type RegistryKeyReport, type ReportCommit } from '../../../src/core/report/types.ts';

const DAY = 86_400;
const key = (id: string, extra: Partial<RegistryKeyReport> = {}): RegistryKeyReport => ({
  kind: 'openpgp',
  id,
  names: [`${id} <${id}@example.com>`],
  source: 'k.asc',
  revoked: false,
  signingKeys: [id],
  commitsInPeriod: 0,
  ...extra,
});

describe('report buckets and counts', () => {
  it('weeks start on Monday 00:00 UTC and cover the period without gaps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.integer({ min: 1, max: 400 * DAY }),
        fc.constantFrom('day' as const, 'week' as const, 'month' as const),
        (since, span, size) => {
          const buckets = bucketBoundaries(since, since + span, size);
          expect(buckets[0]![0]).toBeLessThanOrEqual(since);
          expect(buckets.at(-1)![1]).toBeGreaterThanOrEqual(since + span);
          for (let i = 1; i < buckets.length; i++) expect(buckets[i]![0]).toBe(buckets[i - 1]![1]);
          for (const [start] of buckets) {
            const date = new Date(start * 1000);
            expect(date.getUTCHours() + date.getUTCMinutes() + date.getUTCSeconds()).toBe(0);
            if (size === 'week') expect(date.getUTCDay()).toBe(1);
            if (size === 'month') expect(date.getUTCDate()).toBe(1);
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(defaultBucket(0, 31 * DAY)).toBe('day');
    expect(defaultBucket(0, 32 * DAY)).toBe('week');
    expect(defaultBucket(0, 400 * DAY)).toBe('month');
    expect(() => bucketBoundaries(10, 10, 'day')).toThrow(/period is empty/);
  });

  it('counts every commit of the period once: letters, buckets and signers add up', () => {
    const commit = fc.record({
      committedAt: fc.integer({ min: 1_700_000_000, max: 1_700_000_000 + 90 * DAY }),
      status: fc.constantFrom(...STATUS_LETTERS),
      key: fc.constantFrom('K1', 'K2', 'K3'),
    });
    fc.assert(
      fc.property(fc.array(commit, { maxLength: 80 }), fc.integer({ min: 0, max: 60 * DAY }), (raw, offset) => {
        const commits: ReportCommit[] = raw.map((c, i) => ({
          oid: String(i),
          committedAt: c.committedAt,
          status: c.status,
          format: 'openpgp',
          ...(c.status === 'N' ? {} : { key: c.key }),
        }));
        const since = 1_700_000_000 + offset;
        const until = since + 30 * DAY;
        const inside = commits.filter((c) => c.committedAt >= since && c.committedAt < until);
        const ref = summarizeRef(commits, { ref: 'refs/heads/main', tip: null, rules: [], since, until, bucket: 'week', judged: false });
        expect(ref.commits).toBe(inside.length);
        expect(Object.values(ref.statuses).reduce((a, b) => a + b, 0)).toBe(inside.length);
        expect(ref.coverage.reduce((a, b) => a + b.commits, 0)).toBe(inside.length);
        expect(ref.coverage.reduce((a, b) => a + b.good, 0)).toBe(ref.good);
        expect(ref.signers.reduce((a, b) => a + b.commits, 0)).toBe(ref.signed);
        expect(ref.compliant).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });
});

describe('issue sync plan', () => {
  const desired = (id: string, title = `title ${id}`, body = `body ${id}`) => ({ id: `key-expiry:${id}`, title, body });
  const existing = (number: number, id: string, state: 'open' | 'closed' = 'open', title = `title ${id}`): ExistingIssue => ({
    number,
    title,
    body: issueBody(desired(id)),
    state,
  });

  it('creates missing, updates changed or closed, closes stale, leaves equal ones alone', () => {
    const actions = planIssueSync(
      'key-expiry',
      [
        existing(1, 'A'),
        existing(2, 'B', 'closed'),
        { ...existing(3, 'C'), body: issueBody(desired('C')).replace(/\n/g, '\r\n') }, // CRLF from the forge: unchanged
        existing(4, 'D'),
        existing(5, 'E', 'closed'),
        { number: 6, title: 'not ours', body: 'hello', state: 'open' },
        { number: 7, title: 'other kind', body: '<!-- signet:revoked-key:X -->', state: 'open' },
        existing(8, 'A'), // a copy: the older issue is the one kept in step
      ],
      [desired('A', 'new title'), desired('B'), desired('C'), desired('F')],
      () => 'gone',
    );
    expect(actions.map((a) => `${a.kind} ${a.kind === 'create' ? a.desired.id : a.issue.number}${a.kind === 'update' && a.reopen ? ' reopen' : ''}`)).toEqual([
      'update 1',
      'update 2 reopen',
      'create key-expiry:F',
      'close 4',
    ]);
  });

  it('reads back the marker it writes, whatever the body around it', () => {
    fc.assert(
      fc.property(fc.string(), fc.stringMatching(/^[A-Za-z0-9:+/=_-]{1,60}$/), (body, id) => {
        expect(markerOf(issueBody({ id: `key-expiry:${id}`, title: 't', body: body.replace(/<!--/g, '') }))).toBe(`key-expiry:${id}`);
      }),
    );
  });
});

describe('key watch', () => {
  it('finds keys expiring within the window, expired ones, and never revoked or unlimited keys', () => {
    const now = 1_800_000_000;
    const findings = findExpiringKeys(
      [
        key('SOON', { expiresAt: now + 5 * DAY + 10 }),
        key('EDGE', { expiresAt: now + 30 * DAY }),
        key('LATER', { expiresAt: now + 30 * DAY + 1 }),
        key('GONE', { expiresAt: now - DAY }),
        key('NEVER'),
        key('REVOKED', { expiresAt: now + DAY, revoked: true, revokedAt: now - 10 }),
      ],
      now,
      30,
    );
    expect(findings.map((f) => [f.key.id, f.daysLeft, f.state])).toEqual([
      ['GONE', -1, 'expired'],
      ['SOON', 5, 'expiring'],
      ['EDGE', 30, 'expiring'],
    ]);
  });

  it('remembers removed keys from the first sweep that misses them, and forgets the removal when they return', () => {
    const first = updateSnapshot(undefined, [key('A', { signingKeys: ['A', 'A-SUB'] }), key('B')], '2026-01-01T00:00:00.000Z');
    const second = updateSnapshot(first, [key('B')], '2026-01-02T00:00:00.000Z');
    const third = updateSnapshot(second, [key('B')], '2026-01-03T00:00:00.000Z');
    expect(third.keys.find((k) => k.id === 'A')).toMatchObject({
      removedAt: '2026-01-02T00:00:00.000Z',
      signingKeys: ['A', 'A-SUB'],
      firstSeen: '2026-01-01T00:00:00.000Z',
    });
    const back = updateSnapshot(third, [key('A'), key('B')], '2026-01-04T00:00:00.000Z');
    expect(back.keys.find((k) => k.id === 'A')!.removedAt).toBeUndefined();
    expect(withdrawnKeys(back)).toEqual([]);
  });

  it('reports signatures after the withdrawal, late acceptances, and any use when the time is unknown', () => {
    const revokedAt = 1_800_000_000;
    const fpr = 'AAAA'.repeat(10);
    const keys = withdrawnKeys({ keys: [{ kind: 'openpgp', id: fpr, names: ['C'], signingKeys: [fpr], firstSeen: '', revokedAt }] }, [
      { id: 'SHA256:ssh', names: ['s'] },
    ]);
    const findings = findCommitsAfterWithdrawal(keys, [
      { oid: 'before', ref: 'main', committedAt: 0, signedAt: revokedAt - 1, status: 'R', primaryKey: fpr, key: fpr },
      { oid: 'at', ref: 'main', committedAt: 0, signedAt: revokedAt, status: 'R', primaryKey: fpr, key: fpr },
      { oid: 'late', ref: 'main', committedAt: 0, signedAt: revokedAt - 100, acceptedAt: revokedAt + 5, status: 'R', key: fpr },
      { oid: 'by-key-id', ref: 'main', committedAt: revokedAt + 9, status: 'E', key: fpr.slice(-16) },
      { oid: 'ssh', ref: 'main', committedAt: 1, status: 'R', key: 'SHA256:ssh' },
      { oid: 'unsigned', ref: 'main', committedAt: revokedAt + 9, status: 'N' },
      { oid: 'other', ref: 'main', committedAt: revokedAt + 9, status: 'G', key: 'BBBB' },
    ]);
    expect(findings.map((f) => `${f.commit} ${f.why}`)).toEqual(['at signed-after', 'late accepted-after', 'by-key-id signed-after', 'ssh time-unknown']);
  });
});

describe('report key table wording', () => {
  it('gives each key one state in words, never "valid" next to an expired date, never a negative day count', async () => {
    const { renderReportMarkdown } = await import('../../../src/report/render-markdown.ts');
    const now = Date.UTC(2026, 11, 4) / 1000;
    const report = {
      repository: 'r',
      generatedAt: new Date(now * 1000).toISOString(),
      since: '2026-01-01T00:00:00.000Z',
      until: '2026-12-04T00:00:00.000Z',
      bucket: 'month' as const,
      policy: null,
      refs: [],
      tags: [],
      keys: [
        key('GONE', { expiresAt: Date.UTC(2020, 11, 31) / 1000 }),
        key('SOON', { expiresAt: now + 5 * DAY + 10 }),
        key('LATER', { expiresAt: now + 300 * DAY }),
        key('NEVER'),
        key('REVOKED', { expiresAt: Date.UTC(2020, 0, 1) / 1000, revoked: true, revokedAt: now - 10 * DAY }),
      ],
    };
    const rows = renderReportMarkdown(report)
      .split('\n')
      .filter((line) => /^\| openpgp /.test(line));
    const row = (id: string): string => rows.find((line) => line.includes(`\`${id}\``))!;
    expect(row('GONE')).toContain('| **expired** 2164 days ago | 2020-12-31 |');
    expect(row('GONE')).not.toMatch(/valid|-\d+ days/);
    expect(row('SOON')).toContain('| valid, **expires in 5 days** |');
    expect(row('LATER')).toMatch(/\| valid \| 2027-09-30 \|/);
    expect(row('NEVER')).toMatch(/\| valid \| /);
    expect(row('REVOKED')).toMatch(/\| revoked 2026-11-24 \| 2020-01-01 \|/);
  });
});

describe('day counts in words', () => {
  it('says "in N days", "today" or "N days ago", never a negative number', async () => {
    const { dayCount } = await import('../../../src/report/dates.ts');
    expect([dayCount(5), dayCount(1), dayCount(0), dayCount(-1), dayCount(-2530)]).toEqual(['in 5 days', 'in 1 day', 'today', '1 day ago', '2530 days ago']);
  });
});

describe('times in the configured zone', () => {
  it('writes a date and time as they read in the zone, with its offset', async () => {
    const { inTimeZone } = await import('../../../src/report/dates.ts');
    const at = new Date('2026-12-07T08:00:00Z');
    expect(inTimeZone(at, 'Europe/Berlin')).toBe('2026-12-07 09:00 +01:00');
    expect(inTimeZone(new Date('2026-07-07T08:00:00Z'), 'Europe/Berlin')).toBe('2026-07-07 10:00 +02:00');
    expect(inTimeZone(at, 'UTC')).toBe('2026-12-07 08:00 +00:00');
    expect(inTimeZone(at, 'America/New_York')).toBe('2026-12-07 03:00 -05:00');
  });
});
