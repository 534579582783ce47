/**
 * Every Markdown renderer fed the hostile corpus in every field that reaches it: the check-run
 * summary and GitLab MR note (commit subject, signer's user ID or principal, reasons, fixes, ref
 * names, the policy path, ref problems), the `/sign-release` answer (tag, asset and link names,
 * what was made, errors, notes) and the compliance report (repository, refs, signers, keys, key
 * names, tags). The output is parsed by the real cmark-gfm: no link, image, HTML, comment,
 * heading or emphasis the data made; every table keeps its rows and cells; code spans balance.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../../src/core/policy/index.ts';
import { emptyStatusCounts, type ComplianceReport } from '../../../src/core/report/types.ts';
import type { PushEvaluation } from '../../../src/git/evaluate-push.ts';
import { buildReport, failureReport, noPolicyReport, SUMMARY_LIMIT } from '../../../src/forge/report.ts';
import { noteBody } from '../../../src/gitlab/run-check.ts';
import { renderReleaseComment, renderRefusal } from '../../../src/release/render.ts';
import { renderReportMarkdown } from '../../../src/report/render-markdown.ts';
import { HOSTILE_CORPUS } from '../../helpers/hostile-corpus.ts';

function gfm(markdown: string): string {
  return execFileSync('cmark-gfm', ['--unsafe', '-e', 'table', '-e', 'autolink', '-e', 'strikethrough'], {
    input: markdown,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
}

/** Nothing the data could have made: links, images, HTML, comments, emphasis, lists, math. */
function expectNoInjection(html: string): void {
  expect(html).not.toMatch(/<a |<img |<!--|<script|<em>|<del>|<blockquote>|<ol>|<iframe/);
  // Raw `<` only ever as an entity (cmark-gfm runs with --unsafe: raw HTML would pass through).
  expect(html.replace(/<\/?(p|table|thead|tbody|tr|th|td|code|pre|h[1-6]|strong|ul|li|details|summary|br ?\/?)( [^>]*)?>/g, '')).not.toMatch(/</);
}

/** Each table: every row has exactly as many cells as the header. */
function tables(html: string): Array<{ rows: number; cells: number[] }> {
  return [...html.matchAll(/<table>([\s\S]*?)<\/table>/g)].map(([, table]) => {
    const rows = [...table!.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(([, row]) => (row!.match(/<t[dh]( [^>]*)?>/g) ?? []).length);
    return { rows: rows.length, cells: rows };
  });
}

const SAMPLES = HOSTILE_CORPUS.map((text) => (text.length > 1000 ? text.slice(-2000) : text));
const LONG = HOSTILE_CORPUS.find((text) => text.length > 1000)!;

function evaluation(text: string): PushEvaluation {
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  const verdict = { status: 'E' as const, format: 'openpgp' as const, reason: 'unknown_key' as const, signer: text, detail: text };
  return {
    allowed: false,
    decisions: [
      {
        ref: `refs/heads/${text}`,
        allowed: false,
        noPolicy: false,
        violations: [
          { code: 'UNSIGNED_COMMIT', commit: a, message: `commit ${a.slice(0, 12)} ("${text}"): ${text}`, fix: `git commit --amend -S # ${text}`, rule: 0 },
          { code: 'FORCE_PUSH_FORBIDDEN', message: `refs/heads/${text}: ${text}`, fix: text, rule: 0 },
        ],
        commits: [
          { oid: a, accepted: false, reasons: [text] },
          { oid: b, accepted: true, reasons: [text] },
        ],
      },
    ],
    judgedUnder: [],
    commits: new Map([
      [a, { commit: a, parents: [], subject: text, verdict, mergetags: [] }],
      [b, { commit: b, parents: [a], subject: text, verdict: { ...verdict, status: 'G' as const }, mergetags: [] }],
    ]),
    tags: new Map(),
  } as PushEvaluation;
}

describe('check-run summary and GitLab MR note', () => {
  it('keep one table of two five-cell rows and inject nothing, for every corpus string in every field', () => {
    for (const text of [...SAMPLES, LONG]) {
      const report = buildReport(evaluation(text), { source: text } as Policy, [text]);
      expect(report.summary.length).toBeLessThanOrEqual(SUMMARY_LIMIT);
      for (const markdown of [report.summary, noteBody(report)]) {
        // The note starts with signet's own marker comment: the only comment allowed.
        const html = gfm(markdown).replace(/^<!-- signet[^>]*-->\n/, '');
        expectNoInjection(html);
        expect(tables(html)).toEqual([{ rows: 3, cells: [5, 5, 5] }]);
        // The head line's code spans (policy, ref) closed where they should: the table still follows.
        expect(html).toMatch(/<p><strong>[\s\S]*<\/strong> \(policy <code>[\s\S]*<\/code>, refs <code>refs\/heads\/[\s\S]*<\/code>\)<\/p>/);
      }
      expect(report.title).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
      for (const other of [failureReport(text), noPolicyReport(text, text)]) {
        const html = gfm(other.summary);
        expectNoInjection(html);
        expect(html).not.toMatch(/<table>|<h\d>|<li>/);
      }
    }
  });

  it('a branch named x`<!-- no longer comments out the table', () => {
    const html = gfm(buildReport(evaluation('x`<!--'), { source: '.github/signet.yml' } as Policy).summary);
    expect(html).toContain('<code>refs/heads/x`&lt;!--</code>');
    expect(tables(html)).toEqual([{ rows: 3, cells: [5, 5, 5] }]);
  });
});

describe('/sign-release answer', () => {
  it('keeps its result table and injects nothing, for every corpus string in every field', () => {
    for (const text of SAMPLES) {
      const body = renderReleaseComment({
        tag: text,
        rows: [
          { asset: text, made: text, status: 'failed', detail: text },
          { asset: `${text}.asc`, made: 'OpenPGP detached signature', status: 'uploaded' },
        ],
        notes: [text],
        inputs: [text],
      });
      const html = gfm(body).replace(/^<!-- signet:sign-release -->\n/, '');
      expectNoInjection(html);
      expect(tables(html)).toEqual([{ rows: 3, cells: [3, 3, 3] }]);
      expect(html.match(/<h3>/g)).toHaveLength(1);
      const refusal = gfm(renderRefusal('maintainer', text));
      expectNoInjection(refusal.replace(/^<!-- signet:sign-release -->\n/, ''));
    }
  });
});

describe('compliance report', () => {
  it('keeps every table and heading and injects nothing, for every corpus string in every field', () => {
    for (const text of SAMPLES) {
      const report: ComplianceReport = {
        repository: text,
        generatedAt: '2026-01-01T00:00:00Z',
        since: '2025-12-01T00:00:00Z',
        until: '2026-01-01T00:00:00Z',
        bucket: 'week',
        policy: text,
        refs: [
          {
            ref: text,
            tip: 'c'.repeat(40),
            rules: [0],
            commits: 2,
            signed: 1,
            good: 1,
            statuses: { ...emptyStatusCounts(), G: 1, N: 1 },
            exemptions: [],
            signers: [{ signer: text, key: text, format: 'openpgp', commits: 1, statuses: { G: 1 } }],
            coverage: [],
          },
        ],
        tags: [{ ref: `refs/tags/${text}`, name: text, status: 'G', signer: text, taggedAt: 1_700_000_000 }],
        keys: [{ kind: 'openpgp', id: text, names: [text, text], source: text, revoked: false, signingKeys: [], commitsInPeriod: 1 }],
      };
      const html = gfm(renderReportMarkdown(report));
      expectNoInjection(html);
      expect(html.match(/<h2>/g)).toHaveLength(1);
      expect(html.match(/<h3>/g)).toHaveLength(3); // the ref, Tags, Keys
      expect(tables(html)).toEqual([
        { rows: 2, cells: [8, 8] },
        { rows: 2, cells: [4, 4] },
        { rows: 2, cells: [4, 4] },
        { rows: 2, cells: [7, 7] },
      ]);
    }
  });
});
