/**
 * The dashboard page: server-rendered HTML with inline CSS and inline SVG, readable without
 * JavaScript (the page carries none). Cells that hold numbers carry `data-field` names so
 * people and tests can find them.
 */
import { coverageRatio } from '../core/report/summarize.ts';
import { renderCoverageSvg, escapeXml } from '../report/render-svg.ts';
import type { ViolationCode } from '../core/policy/types.ts';
import type { AuditRecord } from '../jobs/audit-trail.ts';
import type { DashboardView, RepositoryView } from './view.ts';

const html = escapeXml;
const pct = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;
const day = (iso: string): string => iso.slice(0, 10);
const minute = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; } h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #666; font-size: 13px; }
table { border-collapse: collapse; background: #fff; margin: 6px 0 12px; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.good { color: #2e7d32; font-weight: 600; } .warn { color: #b26a00; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
section.repo { border-top: 2px solid #ddd; margin-top: 24px; }
.chart { max-width: 100%; overflow-x: auto; background: #fff; border: 1px solid #ddd; display: inline-block; }
code { font-size: 12px; }
`;

function coverageClass(ratio: number): string {
  return ratio >= 0.99 ? 'good' : ratio >= 0.9 ? 'warn' : 'bad';
}

function summaryRow(repository: RepositoryView): string {
  const report = repository.report;
  const name = html(repository.name);
  if (!report)
    return `<tr data-repository="${name}"><td>${name}</td><td colspan="5">no compliance report yet (run <code>signet jobs run compliance-report</code>)</td><td class="num" data-field="expiring">${repository.expiring.length}</td></tr>`;
  const commits = report.refs.reduce((sum, ref) => sum + ref.commits, 0);
  const good = report.refs.reduce((sum, ref) => sum + ref.good, 0);
  const signed = report.refs.reduce((sum, ref) => sum + ref.signed, 0);
  const ratio = coverageRatio({ commits, good });
  return (
    `<tr data-repository="${name}"><td>${name}</td><td>${day(report.since)} – ${day(report.until)}</td>` +
    `<td class="num" data-field="commits">${commits}</td><td class="num" data-field="signed">${signed}</td><td class="num" data-field="good">${good}</td>` +
    `<td class="num ${coverageClass(ratio)}" data-field="coverage">${pct(ratio)}</td>` +
    `<td class="num" data-field="expiring">${repository.expiring.length}</td></tr>`
  );
}

function refTable(repository: RepositoryView): string {
  const report = repository.report;
  if (!report || report.refs.length === 0) return '';
  const rows = report.refs
    .map((ref) => {
      const letters =
        Object.entries(ref.statuses)
          .filter(([, n]) => n > 0)
          .map(([letter, n]) => `${letter} ${n}`)
          .join(', ') || '–';
      return (
        `<tr data-ref="${html(ref.ref)}"><td><code>${html(ref.ref)}</code></td><td class="num" data-field="commits">${ref.commits}</td><td class="num" data-field="good">${ref.good}</td>` +
        `<td class="num ${coverageClass(coverageRatio(ref))}" data-field="coverage">${pct(coverageRatio(ref))}</td><td>${html(letters)}</td>` +
        `<td class="num" data-field="violations">${ref.violations ?? '–'}</td><td class="num" data-field="exemptions">${ref.exemptions.length}</td></tr>`
      );
    })
    .join('\n');
  return `<table><thead><tr><th>ref</th><th class="num">commits</th><th class="num">G</th><th class="num">coverage</th><th>letters</th><th class="num">not allowed</th><th class="num">exemptions</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function historyTable(repository: RepositoryView): string {
  if (repository.history.length < 2) return '';
  const rows = repository.history
    .slice(-12)
    .reverse()
    .map(
      (point) =>
        `<tr><td>${day(point.since)} – ${day(point.until)}</td><td class="num">${point.commits}</td><td class="num">${point.good}</td><td class="num ${coverageClass(coverageRatio(point))}">${pct(coverageRatio(point))}</td></tr>`,
    )
    .join('\n');
  return `<h3>Coverage by report period</h3><table data-table="history"><thead><tr><th>period</th><th class="num">commits</th><th class="num">G</th><th class="num">coverage</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function expiryTable(repository: RepositoryView): string {
  if (repository.expiring.length === 0) {
    return `<p class="meta">No registry key expires within the warning window${repository.expiryCheckedAt ? ` (checked ${minute(repository.expiryCheckedAt)})` : ' (the key-expiry job has not run yet)'}.</p>`;
  }
  const rows = repository.expiring
    .map(
      (key) =>
        `<tr data-key="${html(key.id)}"><td>${key.kind}</td><td><code>${html(key.id)}</code></td><td>${html(key.names.join(', '))}</td>` +
        `<td>${day(key.expiresAt)}</td><td class="num ${key.daysLeft < 7 ? 'bad' : 'warn'}" data-field="days-left">${key.state === 'expired' ? 'expired' : key.daysLeft}</td></tr>`,
    )
    .join('\n');
  return `<h3>Keys close to expiry</h3><table data-table="expiring"><thead><tr><th>kind</th><th>key</th><th>names</th><th>expires</th><th class="num">days left</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The "why" column in words; the codes stay in the cell's data-codes for scripts. */
const VIOLATION_WORDS: Record<ViolationCode, string> = {
  UNSIGNED_COMMIT: 'unsigned commit',
  COMMIT_SIGNATURE_NOT_ACCEPTED: 'commit signature not accepted',
  COMMIT_SIGNER_NOT_ALLOWED: 'commit signer not allowed on this ref',
  COMMIT_EMAIL_MISMATCH: 'committer e-mail not on the signing key',
  COMMIT_WEAK_HASH: 'commit signed with SHA-1',
  MERGETAG_BAD_SIGNATURE: 'merged tag altered after signing',
  PATH_SIGNER_NOT_ALLOWED: 'protected path changed by a signer not allowed there',
  PATH_THRESHOLD_NOT_MET: 'protected path needs more signers',
  FORCE_PUSH_FORBIDDEN: 'force push',
  DELETION_FORBIDDEN: 'protected ref deleted',
  TAG_NOT_ANNOTATED: 'lightweight tag',
  UNSIGNED_TAG: 'unsigned tag',
  TAG_SIGNATURE_NOT_ACCEPTED: 'tag signature not accepted',
  TAG_SIGNER_NOT_ALLOWED: 'tag signer not allowed',
  TAG_EMAIL_MISMATCH: 'tagger e-mail not on the signing key',
  TAG_WEAK_HASH: 'tag signed with SHA-1',
  PUSH_NOT_SIGNED: 'push not signed',
  PUSH_SIGNATURE_NOT_ACCEPTED: 'push signature not accepted',
  PUSH_SIGNER_NOT_ALLOWED: 'push signer not allowed',
  PUSH_NONCE_NOT_VERIFIED: 'signed push could be a replay',
  TAG_NAME_MISMATCH: 'signed tag pushed under another name',
  REPLACE_REF_FORBIDDEN: 'replace ref without a rule',
};

function problemRow(record: AuditRecord): string {
  const what = record.source === 'hook' ? 'push rejected' : `check ${record.verdict}`;
  const detail = record.detail ?? {};
  const about = record.ref ?? (typeof detail.headSha === 'string' ? detail.headSha.slice(0, 12) : '');
  const codes = Array.isArray(detail.violations)
    ? [...new Set((detail.violations as Array<{ code?: string }>).map((v) => v.code).filter((code): code is string => Boolean(code)))]
    : [];
  const why =
    codes.length > 0
      ? codes.map((code) => VIOLATION_WORDS[code as ViolationCode] ?? code.toLowerCase().replace(/_/g, ' ')).join('; ')
      : typeof detail.error === 'string'
        ? detail.error
        : typeof detail.summary === 'string'
          ? detail.summary
          : '';
  const who = record.actor === 'unknown' ? 'not recorded' : record.actor;
  return `<tr data-source="${html(record.source)}"><td>${minute(record.at)}</td><td>${html(record.repository)}</td><td>${html(what)}</td><td><code>${html(about)}</code></td><td>${html(who)}</td><td data-codes="${html(codes.join(' '))}">${html(why)}</td></tr>`;
}

export function renderDashboard(view: DashboardView, links: { svg: (repository: string) => string }): string {
  const summary = view.repositories.map(summaryRow).join('\n');
  const problems =
    view.problems.length > 0
      ? `<table data-table="problems"><thead><tr><th>when</th><th>repository</th><th>what</th><th>ref / commit</th><th>who</th><th>why</th></tr></thead><tbody>${view.problems.map(problemRow).join('\n')}</tbody></table>`
      : '<p class="meta">None.</p>';
  const sections = view.repositories
    .map((repository) => {
      const chart = repository.report
        ? `<div class="chart">${renderCoverageSvg(repository.report).replace(/^<svg /, '<svg aria-label="signing coverage over time" ')}</div><p class="meta"><a href="${html(links.svg(repository.name))}">chart as SVG</a></p>`
        : '';
      return `<section class="repo" data-repository="${html(repository.name)}"><h2>${html(repository.name)}</h2>${refTable(repository)}${chart}${historyTable(repository)}${expiryTable(repository)}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>signet: signing coverage</title><style>${STYLE}</style></head>
<body>
<h1>signet: signing coverage</h1>
<p class="meta">As of ${minute(view.generatedAt)}; numbers from the latest compliance reports, key-expiry runs and audit trail.</p>
<table data-table="summary"><thead><tr><th>repository</th><th>period</th><th class="num">commits</th><th class="num">signed</th><th class="num">G</th><th class="num">coverage</th><th class="num">keys expiring</th></tr></thead>
<tbody>${summary || '<tr><td colspan="7">no repositories configured</td></tr>'}</tbody></table>
<h2>Rejected pushes and failing checks since ${day(view.since)}</h2>
${problems}
${sections}
</body></html>
`;
}
