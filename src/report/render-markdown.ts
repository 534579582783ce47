/** A compliance report as GitHub/GitLab-flavoured Markdown, for an issue, a comment or a file. */
import { STATUS_LETTERS, type ComplianceReport, type RefReport, type RegistryKeyReport } from '../core/report/types.ts';
import { coverageRatio } from '../core/report/summarize.ts';
import { markdownCode, markdownText } from '../core/render/markdown-text.ts';

const DAY = 86_400;

export function isoDay(seconds: number | undefined): string {
  return seconds === undefined ? 'never' : new Date(seconds * 1000).toISOString().slice(0, 10);
}

/** Table cells must not break the table: names, keys and refs are pushers' and key owners' text. */
const cell = markdownText;

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`;
}

function refSection(ref: RefReport): string[] {
  const lines = [`### ${markdownText(ref.ref)}`, ''];
  if (ref.commits === 0) {
    lines.push('No commits in the period.', '');
    return lines;
  }
  lines.push(
    `${ref.commits} commits, ${ref.signed} signed, ${ref.good} signed by a registry key (**${percent(coverageRatio(ref))}**)` +
      (ref.compliant !== undefined ? `; ${ref.compliant} allowed by the policy, ${ref.violations} not` : '') +
      (ref.tip ? `. Tip ${markdownCode(ref.tip.slice(0, 12))}.` : '.'),
    '',
    `| ${STATUS_LETTERS.join(' | ')} |`,
    `| ${STATUS_LETTERS.map(() => '---:').join(' | ')} |`,
    `| ${STATUS_LETTERS.map((letter) => ref.statuses[letter]).join(' | ')} |`,
    '',
  );
  if (ref.exemptions.length > 0) {
    lines.push(`Exemptions (${ref.exemptions.length}): commits allowed although not \`G\`:`, '');
    for (const exemption of ref.exemptions.slice(0, 20)) {
      lines.push(
        `- ${markdownCode(exemption.oid.slice(0, 12))} ${exemption.status}: ${exemption.reason === 'first-verdict' ? 'accepted with a good signature when pushed (verdict kept)' : 'the rule accepts this letter'}`,
      );
    }
    if (ref.exemptions.length > 20) lines.push(`- … and ${ref.exemptions.length - 20} more (see the JSON report)`);
    lines.push('');
  } else {
    lines.push('Exemptions: none.', '');
  }
  if (ref.signers.length > 0) {
    lines.push('| signer | key | commits | letters |', '| --- | --- | ---: | --- |');
    for (const signer of ref.signers) {
      const letters = Object.entries(signer.statuses)
        .map(([letter, n]) => `${letter} ${n}`)
        .join(', ');
      lines.push(`| ${cell(signer.signer)} | ${markdownCode(signer.key, { inTable: true })} | ${signer.commits} | ${letters} |`);
    }
    lines.push('');
  }
  return lines;
}

function keyRow(key: RegistryKeyReport, now: number): string {
  return `| ${key.kind} | ${markdownCode(key.id, { inTable: true })} | ${cell(key.names.join(', '))} | ${keyState(key, now)} | ${isoDay(key.expiresAt)} | ${isoDay(key.lastRotation)} | ${key.commitsInPeriod} |`;
}

/** One state per key, in words: revoked wins over expired, expired over expiring. */
export function keyState(key: Pick<RegistryKeyReport, 'revoked' | 'revokedAt' | 'expiresAt'>, now: number): string {
  if (key.revoked) return `revoked ${key.revokedAt !== undefined ? isoDay(key.revokedAt) : ''}`.trim();
  if (key.expiresAt === undefined) return 'valid';
  if (key.expiresAt <= now) return `**expired** ${daysText(Math.floor((now - key.expiresAt) / DAY))} ago`;
  const days = Math.floor((key.expiresAt - now) / DAY);
  return days <= 30 ? `valid, **expires in ${daysText(days)}**` : 'valid';
}

function daysText(days: number): string {
  return days === 1 ? '1 day' : `${days} days`;
}

export function renderReportMarkdown(report: ComplianceReport): string {
  const now = Math.floor(Date.parse(report.generatedAt) / 1000);
  const lines = [
    `## Signing compliance: ${markdownText(report.repository)}`,
    '',
    `Period ${report.since.slice(0, 10)} to ${report.until.slice(0, 10)} (committer dates, UTC). Policy: ${report.policy ? markdownCode(report.policy) : 'none (every branch, no exemptions)'}. Generated ${report.generatedAt}.`,
    '',
  ];
  if (report.refs.length === 0) lines.push('No protected refs.', '');
  for (const ref of report.refs) lines.push(...refSection(ref));
  if (report.tags.length > 0) {
    lines.push('### Tags', '', '| tag | status | signer | tagged |', '| --- | --- | --- | --- |');
    for (const tag of report.tags) lines.push(`| ${cell(tag.name)} | ${tag.status} | ${cell(tag.signer ?? '-')} | ${isoDay(tag.taggedAt)} |`);
    lines.push('');
  }
  lines.push('### Keys', '');
  if (report.keys.length === 0) {
    lines.push('No registry keys.', '');
  } else {
    lines.push('| kind | key | names | state | expires | last rotation | commits in period |', '| --- | --- | --- | --- | --- | --- | ---: |');
    for (const key of report.keys) lines.push(keyRow(key, now));
    lines.push('');
  }
  if (report.keyringWarnings?.length) {
    // Key files are the policy author's, user IDs the key owners': escaped, one item each.
    lines.push('### Keyring warnings', '', ...report.keyringWarnings.map((warning) => `- ${markdownText(warning)}`), '');
  }
  return `${lines.join('\n')}`;
}
