/**
 * What a check run (GitHub) or a merge-request note and commit status (GitLab) says: the
 * conclusion, a title, and a Markdown table with one row per commit (commit, letter, signer,
 * reason, fix). Data first, then rendering, both without I/O.
 */
import type { Policy, Violation } from '../core/policy/index.ts';
import type { StatusLetter } from '../core/verdict.ts';
import type { PushEvaluation } from '../git/evaluate-push.ts';
import { joinMarkdown, markdownCode, markdownText, md, trustedMarkdown, type Markdown } from '../core/render/markdown-text.ts';
import { terminalText } from '../core/render/terminal-text.ts';
import type { SignetErrorCode } from '../core/errors.ts';

export type Conclusion = 'success' | 'failure' | 'neutral';

export interface ReportRow {
  commit: string;
  subject: string;
  letter: StatusLetter;
  signer: string;
  reason: string;
  fix: string;
  accepted: boolean;
}

export interface SignatureReport {
  conclusion: Conclusion;
  /** Plain text on one line (check-run title, commit-status description): controls made visible. */
  title: string;
  /** Markdown: one line of counts, problems that are about refs, then the table. */
  summary: Markdown;
  rows: ReportRow[];
  /** Violations not tied to one commit (force pushes, deletions, tags). */
  refProblems: string[];
}

/** GitHub refuses check-run summaries over 65 535 characters. */
export const SUMMARY_LIMIT = 65_000;
/** A user ID, reason or fix longer than this is cut in its cell, so one row cannot push the rest out. */
const CELL_LIMIT = 1_000;

export function buildReport(evaluation: PushEvaluation, policy: Policy, skippedKeys: string[] = [], keyringWarnings: readonly string[] = []): SignatureReport {
  const rows: ReportRow[] = [];
  const seen = new Set<string>();
  const refProblems: string[] = [];
  const fixes = new Map<string, Violation>();
  for (const decision of evaluation.decisions) {
    for (const violation of decision.violations) {
      if (violation.commit && evaluation.commits.has(violation.commit)) {
        if (!fixes.has(violation.commit)) fixes.set(violation.commit, violation);
      } else {
        refProblems.push(`${decision.ref}: ${violation.message}${violation.fix ? ` — fix: ${violation.fix}` : ''}`);
      }
    }
    for (const commit of decision.commits) {
      if (seen.has(commit.oid)) continue;
      seen.add(commit.oid);
      const result = evaluation.commits.get(commit.oid);
      const verdict = result?.verdict;
      const violation = fixes.get(commit.oid);
      rows.push({
        commit: commit.oid,
        subject: result?.subject ?? '',
        letter: verdict?.status ?? 'E',
        signer: verdict?.signer ?? verdict?.key ?? '',
        reason: commit.accepted ? (verdict?.reason ?? '') : [verdict?.reason, ...commit.reasons].filter(Boolean).join(': '),
        fix: commit.accepted ? '' : (violation?.fix ?? ''),
        accepted: commit.accepted,
      });
    }
  }
  // A commit rejected by one ref's rules and accepted by another's is rejected.
  for (const decision of evaluation.decisions) {
    for (const commit of decision.commits) {
      if (commit.accepted) continue;
      const row = rows.find((r) => r.commit === commit.oid);
      if (row && row.accepted) Object.assign(row, { accepted: false, reason: commit.reasons.join('; '), fix: fixes.get(commit.oid)?.fix ?? '' });
    }
  }

  const matched = evaluation.decisions.filter((d) => !d.noPolicy);
  const rejected = rows.filter((r) => !r.accepted).length;
  let conclusion: Conclusion;
  let title: string;
  if (matched.length === 0) {
    conclusion = 'neutral';
    title = `no rule of ${policy.source} applies to ${evaluation.decisions.map((d) => d.ref).join(', ') || 'this change'}`;
  } else if (evaluation.allowed) {
    conclusion = 'success';
    title = `${rows.length} commit${rows.length === 1 ? '' : 's'} meet${rows.length === 1 ? 's' : ''} the signing policy`;
  } else {
    conclusion = 'failure';
    title =
      rejected > 0
        ? `${rejected} of ${rows.length} commit${rows.length === 1 ? '' : 's'} do${rejected === 1 ? 'es' : ''} not meet the signing policy`
        : `the signing policy refuses this change`;
  }
  // A key the policy lists but signet cannot use is not silently gone: the title (GitLab's
  // commit status) counts them, the summary names each.
  if (keyringWarnings.length > 0) title += ` (${keyringWarnings.length} keyring warning${keyringWarnings.length === 1 ? '' : 's'})`;
  // Ref names, the policy's path and every problem are the pusher's text: escaped, never raw.
  // Each piece is cut at CELL_LIMIT: the head must leave room for the table under SUMMARY_LIMIT.
  const head = [
    md`**${markdownText(title, CELL_LIMIT)}** (policy ${markdownCode(policy.source, { limit: CELL_LIMIT })}, refs ${joinMarkdown(
      evaluation.decisions.slice(0, 20).map((d) => markdownCode(d.ref, { limit: CELL_LIMIT })),
      ', ',
    )})`,
    ...refProblems.slice(0, 20).map((p) => md`- ${markdownText(p, CELL_LIMIT)}`),
    ...skippedKeys.slice(0, 20).map((s) => md`- skipped an unreadable forge key: ${markdownText(s, CELL_LIMIT)}`),
    ...keyringWarnings.slice(0, 20).map((w) => md`- keyring warning: ${markdownText(w, CELL_LIMIT)}`),
    ...(evaluation.decisions.length > 20 || refProblems.length > 20 || skippedKeys.length > 20 || keyringWarnings.length > 20
      ? [
          md`- … more refs, problems or keys than shown (${evaluation.decisions.length} refs, ${refProblems.length} problems, ${skippedKeys.length} skipped keys, ${keyringWarnings.length} keyring warnings)`,
        ]
      : []),
  ];
  return { conclusion, title: terminalText(title), summary: renderSummary(head, rows), rows, refProblems };
}

/** The title and summary for "no policy file": neutral, never a silent success. */
export function noPolicyReport(policyPath: string, branch: string): SignatureReport {
  const title = 'no policy configured';
  return {
    conclusion: 'neutral',
    title,
    summary: md`**${markdownText(title)}**: add ${markdownCode(policyPath)} to the default branch (${markdownCode(branch)}) to require signed commits. See signet's docs/policy.md.`,
    rows: [],
    refProblems: [],
  };
}

/** The failure every internal error becomes: a required check must never stay pending. */
/** What an outage's title ends with, kept whatever the length of the cause (GitLab shows only the title). */
export const OUTAGE_SUFFIX = ' — could not check, try again';

/**
 * A failure that says what broke. With `outage` (the forge, the store or the time budget did
 * not answer; docs/architecture.md "Errors") the title ends "could not check, try again" and the
 * summary says nothing passed: a failure, never mistaken for a verdict on the commits.
 */
export function failureReport(line: string, outage?: { code: SignetErrorCode }): SignatureReport {
  const room = outage ? 120 - OUTAGE_SUFFIX.length : 120;
  const title = `${line.length > room ? `${line.slice(0, room - 1)}…` : line}${outage ? OUTAGE_SUFFIX : ''}`;
  const summary = outage
    ? md`**${markdownText(line)}**\n\nsignet could not check: a service it needs did not answer (${markdownCode(outage.code)}). Nothing was verified and nothing passed. Re-run the check (or comment \`/signet recheck\`) later.`
    : md`**${markdownText(line)}**\n\nNothing was verified. Re-run the check (or comment \`/signet recheck\`) once this is fixed.`;
  return { conclusion: 'failure', title: terminalText(title), summary, rows: [], refProblems: [] };
}

export function renderSummary(head: Markdown[], rows: ReportRow[]): Markdown {
  // Rejected commits first: they are what people need to see when the table is cut.
  const ordered = [...rows.filter((r) => !r.accepted), ...rows.filter((r) => r.accepted)];
  const lines: Markdown[] = [...head, md``];
  if (ordered.length > 0) lines.push(md`| commit | letter | signer | reason | fix |`, md`| --- | --- | --- | --- | --- |`);
  let length = lines.join('\n').length;
  let shown = 0;
  for (const row of ordered) {
    const line = md`| ${markdownCode(row.commit.slice(0, 12), { inTable: true })} ${markdownText(clip(row.subject, 50))} | ${markdownText(row.letter)} | ${markdownText(row.signer, CELL_LIMIT)} | ${markdownText(row.reason, CELL_LIMIT)} | ${markdownCode(row.fix, { inTable: true, limit: CELL_LIMIT })} |`;
    if (length + line.length + 200 > SUMMARY_LIMIT) break;
    lines.push(line);
    length += line.length + 1;
    shown++;
  }
  if (shown < ordered.length)
    lines.push(
      md``,
      trustedMarkdown(
        `… and ${ordered.length - shown} more commit${ordered.length - shown === 1 ? '' : 's'} (${ordered.slice(shown).filter((r) => !r.accepted).length} rejected) not shown.`,
      ),
    );
  return joinMarkdown(lines);
}

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
