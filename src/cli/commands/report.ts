import { parseArgs } from 'node:util';
import { SignetError } from '../../core/errors.ts';
import { buildComplianceReport } from '../../report/collect.ts';
import { parseDateOption } from '../../report/dates.ts';
import { renderReportMarkdown } from '../../report/render-markdown.ts';
import { renderCoverageSvg } from '../../report/render-svg.ts';
import { EXIT_OK, type CliIO } from '../io.ts';

const HELP = `usage: signet report --since DATE [--until DATE] [--repo DIR] [--ref REF]…
                     [--policy FILE] [--keyring FILE.asc]… [--allowed-signers FILE]
                     [--revoked-keys FILE] [--format markdown|json|svg] [--bucket day|week|month]

A compliance report for a local repository over a period: per protected ref the commits (by
committer date, as git log --since/--until), how many are signed, the count of each status
letter (git's %G?), exemptions, signers, and the registry's keys with expiry and last rotation.

  --since DATE       start of the period: 2026-01-01, an ISO time, or 30d / 12w / 6h ago
  --until DATE       end of the period (exclusive); default now
  --repo DIR         repository (work tree or bare); default the current one
  --ref REF          report on this ref (repeatable); default: the refs the policy protects,
                     without a policy every branch
  --policy FILE      policy: its key files join the registries; it decides exemptions
  --keyring FILE     armored OpenPGP keyring (repeatable)
  --allowed-signers FILE, --revoked-keys FILE   SSH registry files, as for signet verify
  --format FORMAT    markdown (default), json, or svg (coverage over time)
  --bucket SIZE      day, week or month per bar; default day up to 31 days, week up to
                     half a year, else month
  --name NAME        how to name the repository in the report
  --now TIME         judge key expiry at TIME instead of now
`;

export async function runReport(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      repo: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      ref: { type: 'string', multiple: true },
      policy: { type: 'string' },
      keyring: { type: 'string', multiple: true },
      'allowed-signers': { type: 'string' },
      'revoked-keys': { type: 'string' },
      format: { type: 'string', default: 'markdown' },
      bucket: { type: 'string' },
      name: { type: 'string' },
      now: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  const format = values.format;
  if (format !== 'markdown' && format !== 'json' && format !== 'svg') throw new SignetError('USAGE', `--format must be markdown, json or svg, not '${format}'`);
  if (values.bucket !== undefined && values.bucket !== 'day' && values.bucket !== 'week' && values.bucket !== 'month')
    throw new SignetError('USAGE', `--bucket must be day, week or month, not '${values.bucket}'`);
  if (!values.since) throw new SignetError('USAGE', '--since DATE is required (e.g. --since 2026-01-01 or --since 30d)');
  const now = values.now ? parseDateOption('now', values.now, new Date()) : new Date();
  const since = parseDateOption('since', values.since, now);
  const until = values.until ? parseDateOption('until', values.until, now) : now;
  if (until.getTime() <= since.getTime()) throw new SignetError('USAGE', `--until (${until.toISOString()}) must be after --since (${since.toISOString()})`);

  const report = await buildComplianceReport({
    cwd: io.cwd,
    since,
    until,
    now,
    ...(values.repo ? { repo: values.repo } : {}),
    ...(values.ref ? { refs: values.ref } : {}),
    ...(values.policy ? { policy: values.policy } : {}),
    ...(values.keyring ? { keyrings: values.keyring } : {}),
    ...(values['allowed-signers'] ? { allowedSigners: values['allowed-signers'] } : {}),
    ...(values['revoked-keys'] ? { revokedKeys: values['revoked-keys'] } : {}),
    ...(values.bucket ? { bucket: values.bucket } : {}),
    ...(values.name ? { name: values.name } : {}),
  });
  if (format === 'json') io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (format === 'svg') io.stdout.write(renderCoverageSvg(report));
  else io.stdout.write(renderReportMarkdown(report));
  return EXIT_OK;
}
