/**
 * The compliance report job: each watched repository's report over the last `period_days`,
 * kept in the job state (JSON, Markdown, SVG; the dashboard reads the latest and a history of
 * totals) and, with `publish: issue`, posted as one issue per period (the previous period's is
 * closed when the new one is filed).
 */
import { coverageRatio } from '../core/report/summarize.ts';
import type { ComplianceReport } from '../core/report/types.ts';
import { buildComplianceReport } from '../report/collect.ts';
import { renderReportMarkdown } from '../report/render-markdown.ts';
import { renderCoverageSvg } from '../report/render-svg.ts';
import { forEachRepository, issueTracker, repositoryContext, type JobEnvironment, type JobRun } from './context.ts';
import { syncIssues } from './issue-tracker.ts';
import { slug } from './ports.ts';

/** One point of the long-term coverage trend: a report period's totals over its protected refs. */
export interface CoveragePoint {
  since: string;
  until: string;
  commits: number;
  signed: number;
  good: number;
  violations: number;
}

export function totals(report: ComplianceReport): CoveragePoint {
  const sum = (pick: (r: ComplianceReport['refs'][number]) => number): number => report.refs.reduce((total, ref) => total + pick(ref), 0);
  return {
    since: report.since,
    until: report.until,
    commits: sum((r) => r.commits),
    signed: sum((r) => r.signed),
    good: sum((r) => r.good),
    violations: sum((r) => r.violations ?? 0),
  };
}

export async function runComplianceReport(environment: JobEnvironment): Promise<JobRun> {
  const settings = environment.config.jobs['compliance-report'];
  return forEachRepository(environment, 'compliance-report', async (repository) => {
    const context = await repositoryContext(repository);
    const until = environment.now();
    const since = new Date(until.getTime() - settings.periodDays * 86_400_000);
    let report: ComplianceReport;
    try {
      report = await buildComplianceReport({ cwd: '/', since, until, now: until, name: repository.name }, context);
    } finally {
      context.repo.objects.close();
    }
    const base = `reports/${slug(repository.name)}`;
    const stamp = until.toISOString().replace(/[:.]/g, '-');
    await environment.state.write(`${base}/${stamp}.json`, report);
    await environment.state.write(`${base}/${stamp}.md`, renderReportMarkdown(report));
    await environment.state.write(`${base}/${stamp}.svg`, renderCoverageSvg(report));
    await environment.state.write(`${base}/latest.json`, report);
    const history = (await environment.state.read<CoveragePoint[]>(`${base}/history.json`)) ?? [];
    const point = totals(report);
    await environment.state.write(`${base}/history.json`, [...history.filter((p) => p.until !== point.until), point].slice(-520));

    const tracker = settings.publish === 'issue' && !environment.dryRun ? issueTracker(environment, repository) : undefined;
    const title = `Signing compliance ${report.since.slice(0, 10)} to ${report.until.slice(0, 10)}: ${(coverageRatio(point) * 100).toFixed(1)} % signed by registry keys`;
    const issues = tracker
      ? await syncIssues(
          tracker,
          'compliance-report',
          settings.label,
          [{ id: `compliance-report:${report.until.slice(0, 10)}`, title, body: renderReportMarkdown(report) }],
          () => `Superseded by the report for ${report.since.slice(0, 10)} to ${report.until.slice(0, 10)}.`,
        )
      : undefined;
    const violations = point.violations;
    return {
      outcome: violations > 0 ? 'findings' : 'ok',
      findings: violations,
      ...(issues ? { issues: { created: issues.created, updated: issues.updated, closed: issues.closed, unchanged: issues.unchanged } } : {}),
      data: point,
    };
  });
}
