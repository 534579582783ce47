import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../../src/core/report/types.ts';
import { VerdictRecords } from '../../../src/store/verdict-records.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { buildReportHistory, gitLetters, type GitLetter, type ReportHistory } from '../../helpers/report-history.ts';

function signet(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), ...args], { encoding: 'utf8' });
}

const SINCE = '2023-11-14';
const UNTIL = '2023-12-31';
const since = Date.parse(`${SINCE}T00:00:00Z`) / 1000;
const until = Date.parse(`${UNTIL}T00:00:00Z`) / 1000;

/**
 * `signet report` against git itself: a generated history (bench bulk + real `git commit -S`
 * with gpg and ssh-keygen keys over several weeks), and every number of the report compared
 * with `git log --pretty=%G?` run with the same registry.
 */
describe('signet report, numbers checked against git log %G?', () => {
  const dir = tempDir('report');
  let h: ReportHistory;
  let report: ComplianceReport;
  let letters: Map<string, GitLetter[]>;
  const lettersOf = (ref: string): GitLetter[] => letters.get(ref)!;
  const run = (extra: string[] = []): ComplianceReport => {
    const result = signet(['report', '--repo', h.worktree, '--policy', h.keys.policy, '--since', SINCE, '--until', UNTIL, '--format', 'json', ...extra]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return JSON.parse(result.stdout) as ComplianceReport;
  };

  beforeAll(() => {
    h = buildReportHistory(dir.path, 60);
    letters = gitLetters(h, ['refs/heads/main', 'refs/heads/release/1']);
    report = run();
  });
  afterAll(() => {
    for (const home of [h?.signHome, h?.verifyHome, h?.thiefHome])
      if (home) spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home.home } });
    dir.remove();
  });

  it('reports the refs the policy protects, and counts every letter per ref as git does', () => {
    expect(report.refs.map((ref) => ref.ref)).toEqual(['refs/heads/main', 'refs/heads/release/1']);
    const seen = new Set<string>();
    for (const ref of report.refs) {
      const inPeriod = lettersOf(ref.ref).filter((c) => c.time >= since && c.time < until);
      const counts = { G: 0, B: 0, U: 0, X: 0, Y: 0, R: 0, E: 0, N: 0 } as Record<string, number>;
      for (const c of inPeriod) counts[c.letter] = (counts[c.letter] ?? 0) + 1;
      for (const c of inPeriod) seen.add(c.letter);
      expect(ref.statuses).toEqual(counts);
      expect(ref.commits).toBe(inPeriod.length);
      expect(ref.signed).toBe(inPeriod.length - counts.N!);
      expect(ref.good).toBe(counts.G);
      // git's own date filter agrees on this history (no clock skew).
      expect(ref.commits).toBe(Number(git(h.worktree, ['rev-list', '--count', `--since=${since}`, `--until=${until - 1}`, ref.ref])));
      expect(ref.tip).toBe(git(h.worktree, ['rev-parse', ref.ref]));
    }
    // The history exercises every letter a registry can give without a clock of its own.
    expect([...seen].sort()).toEqual(['B', 'E', 'G', 'N', 'R', 'U']);
    expect(report.refs[0]!.commits).toBeGreaterThan(130);
  });

  it('buckets coverage per week and per day as git dates the commits', () => {
    const check = (r: ComplianceReport, width: number): void => {
      for (const ref of r.refs) {
        const inPeriod = lettersOf(ref.ref).filter((c) => c.time >= Date.parse(r.since) / 1000 && c.time < Date.parse(r.until) / 1000);
        expect(ref.coverage.reduce((sum, b) => sum + b.commits, 0)).toBe(inPeriod.length);
        for (const bucket of ref.coverage) {
          const start = Date.parse(bucket.start) / 1000;
          expect(Date.parse(bucket.end) / 1000 - start).toBe(width);
          const inside = inPeriod.filter((c) => c.time >= start && c.time < start + width);
          expect({ start: bucket.start, commits: bucket.commits, good: bucket.good, signed: bucket.signed }).toEqual({
            start: bucket.start,
            commits: inside.length,
            good: inside.filter((c) => c.letter === 'G').length,
            signed: inside.filter((c) => c.letter !== 'N').length,
          });
        }
      }
    };
    expect(report.bucket).toBe('week');
    expect(new Date(report.refs[0]!.coverage[0]!.start).getUTCDay()).toBe(1); // weeks start on Monday
    check(report, 7 * 86_400);
    const daily = run(['--bucket', 'day', '--since', '2023-11-15', '--until', '2023-12-01']);
    expect(daily.refs[0]!.coverage).toHaveLength(16);
    check(daily, 86_400);
    // Quiet days are there, empty, not skipped.
    expect(daily.refs[0]!.coverage.filter((b) => b.commits === 0).length).toBeGreaterThan(0);
    // Calendar months: November 2023 (30 days) and December (31).
    const monthly = run(['--bucket', 'month']);
    const main = lettersOf('refs/heads/main').filter((c) => c.time >= since && c.time < until);
    const month = (c: GitLetter) => new Date(c.time * 1000).toISOString().slice(0, 7);
    expect(monthly.refs[0]!.coverage.map((b) => [b.start, b.end, b.commits, b.good])).toEqual([
      [
        '2023-11-01T00:00:00.000Z',
        '2023-12-01T00:00:00.000Z',
        main.filter((c) => month(c) === '2023-11').length,
        main.filter((c) => month(c) === '2023-11' && c.letter === 'G').length,
      ],
      [
        '2023-12-01T00:00:00.000Z',
        '2024-01-01T00:00:00.000Z',
        main.filter((c) => month(c) === '2023-12').length,
        main.filter((c) => month(c) === '2023-12' && c.letter === 'G').length,
      ],
    ]);
    expect(monthly.refs[0]!.coverage[1]!.commits).toBeGreaterThan(0);
  });

  it('counts signers per key as git names them (%GP primary key, %GK for SSH)', () => {
    const main = report.refs[0]!;
    const good = new Map<string, number>();
    for (const c of lettersOf('refs/heads/main')) {
      if (c.letter !== 'G' || c.time < since || c.time >= until) continue;
      const id = c.primary || c.key;
      good.set(id, (good.get(id) ?? 0) + 1);
    }
    const reported = new Map(main.signers.filter((s) => s.statuses.G).map((s) => [s.key, s.statuses.G!]));
    expect(reported).toEqual(good);
    // Alice signs with her newer subkey; the report attributes it to her primary key.
    expect(main.signers.find((s) => s.key === h.alice.fingerprint)?.signer).toBe('Alice <alice@example.com>');
    expect(main.signers.map((s) => s.commits).reduce((a, b) => a + b, 0)).toBe(main.signed);
  });

  it('lists keys with expiry and last rotation as gpg and allowed_signers state them', () => {
    const alice = report.keys.find((k) => k.id === h.alice.fingerprint)!;
    const listing = h.signHome.gpg(['--with-colons', '--list-keys', h.alice.fingerprint]).split('\n');
    const pub = listing.find((l) => l.startsWith('pub:'))!.split(':');
    const sub = listing.find((l) => l.startsWith('sub:'))!.split(':');
    // Alice can sign until the later of her primary (2y) and her subkey (1y).
    expect(alice.expiresAt).toBe(Math.max(Number(pub[6]), Number(sub[6])));
    expect(alice.createdAt).toBe(Number(pub[5]));
    expect(alice.lastRotation).toBe(Number(sub[5]));
    expect(alice.signingKeys).toContain(h.alice.subkey);
    const carol = report.keys.find((k) => k.id === h.carol.fingerprint)!;
    expect(carol.revoked).toBe(true);
    expect(carol.revokedAt).toBe(h.carolRevokedAt);
    const bob = report.keys.find((k) => k.names.includes('bob@example.com'))!;
    expect(bob.kind).toBe('ssh');
    expect(bob.expiresAt).toBe(Date.parse('2099-12-31T00:00:00Z') / 1000);
    // Unique commits of the period per key: the merge brings release/1's commits into main.
    const unique = new Map([...lettersOf('refs/heads/main'), ...lettersOf('refs/heads/release/1')].map((c) => [c.oid, c]));
    const aliceCommits = [...unique.values()].filter((c) => c.time >= since && c.time < until && c.primary === h.alice.fingerprint).length;
    expect(alice.commitsInPeriod).toBe(aliceCommits);
  });

  it('reports commits accepted with a recorded first verdict as exemptions, and the policy tally', () => {
    const before = report.refs[0]!;
    expect(before.exemptions).toEqual([]);
    expect(before.compliant).toBe(before.good);
    expect(before.violations).toBe(before.commits - before.good);
    // The hook accepted carol's commit while her key was valid and kept that verdict.
    const carolCommit = lettersOf('refs/heads/main').find((c) => c.letter === 'R')!;
    const records = new VerdictRecords(join(h.worktree, '.git', 'signet', 'verdicts'));
    records.recordFirst({
      commit: carolCommit.oid,
      verdict: {
        status: 'G',
        format: 'openpgp',
        reason: 'valid',
        key: h.carol.fingerprint,
        primaryKey: h.carol.fingerprint,
        signer: 'Carol <carol@example.com>',
      },
      acceptedAt: '2023-11-15T10:00:00Z',
      ref: 'refs/heads/main',
      pusher: 'carol',
    });
    const after = run().refs[0]!;
    expect(after.exemptions).toEqual([{ oid: carolCommit.oid, status: 'R', reason: 'first-verdict' }]);
    expect(after.compliant).toBe(before.good + 1);
    expect(after.statuses).toEqual(before.statuses); // letters stay git's
  });

  it('draws the coverage as SVG whose bars carry the JSON numbers', () => {
    const result = signet(['report', '--repo', h.worktree, '--policy', h.keys.policy, '--since', SINCE, '--until', UNTIL, '--format', 'svg']);
    expect(result.status).toBe(0);
    const svg = result.stdout;
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // Well-formed XML, as an independent parser reads it.
    execFileSync('python3', ['-c', 'import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.stdin.read())'], { input: svg });
    const bars = [...svg.matchAll(/<g class="bucket" data-start="([^"]+)" data-commits="(\d+)" data-good="(\d+)" data-signed="(\d+)">/g)].map((m) => ({
      start: m[1],
      commits: Number(m[2]),
      good: Number(m[3]),
      signed: Number(m[4]),
    }));
    const expected = report.refs.flatMap((ref) => ref.coverage.map((b) => ({ start: b.start, commits: b.commits, good: b.good, signed: b.signed })));
    expect(bars).toEqual(expected);
    expect(svg).toContain('refs/heads/main:');
    expect(svg).toContain('100 %');
    expect(svg).toContain('share of commits');
  });

  it('renders Markdown with the letters table, signers, tags and keys', () => {
    const result = signet(['report', '--repo', h.worktree, '--policy', h.keys.policy, '--since', SINCE, '--until', UNTIL]);
    expect(result.status).toBe(0);
    const main = report.refs[0]!;
    expect(result.stdout).toContain('### refs/heads/main');
    expect(result.stdout).toContain(`| ${['G', 'B', 'U', 'X', 'Y', 'R', 'E', 'N'].map((l) => main.statuses[l as 'G']).join(' | ')} |`);
    expect(result.stdout).toMatch(/\| v1\.0 \| G \| Alice &lt;alice@example\.com&gt; \| 2023-11-26 \|/);
    expect(result.stdout).toContain(`\`${h.carol.fingerprint}\``);
  });

  it('refuses bad input with one line and exit 2', () => {
    for (const [args, pattern] of [
      [['report', '--repo', h.worktree], /--since DATE is required/],
      [['report', '--repo', h.worktree, '--since', 'yesterday'], /--since: 'yesterday' is not a date/],
      [['report', '--repo', h.worktree, '--since', '2024-01-02', '--until', '2024-01-01'], /must be after --since/],
      [['report', '--repo', h.worktree, '--since', '30d', '--format', 'pdf'], /--format must be markdown, json or svg/],
      [['report', '--repo', h.worktree, '--since', '30d', '--ref', 'nope'], /--ref nope: no such ref/],
    ] as Array<[string[], RegExp]>) {
      const result = signet(args);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
  });
});
