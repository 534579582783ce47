/**
 * What the dashboard shows, gathered from what the jobs and the faces already keep: the
 * compliance-report job's latest report and history per repository, the hook's audit logs
 * (rejected pushes), the store's audit rows (failing checks) and the key-expiry job's findings.
 * Nothing is verified on a page view: the page is cheap, and as fresh as the last job run.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ComplianceReport } from '../core/report/types.ts';
import { configValue, readGitConfig } from '../git/git-config.ts';
import { openRepository } from '../git/repository.ts';
import { fromStoreEntry, readAuditLog, type AuditRecord } from '../jobs/audit-trail.ts';
import type { CoveragePoint } from '../jobs/compliance-report.ts';
import type { JobsConfig } from '../jobs/config.ts';
import type { ExpiryFindingData } from '../jobs/key-expiry.ts';
import { slug, type JobState, type JobStore } from '../jobs/ports.ts';

export interface RepositoryView {
  name: string;
  /** The latest compliance report, if the job has run. */
  report?: ComplianceReport;
  history: CoveragePoint[];
  expiring: ExpiryFindingData[];
  /** When the key-expiry job last looked. */
  expiryCheckedAt?: string;
}

export interface DashboardView {
  generatedAt: string;
  /** How far back rejected pushes and failing checks go. */
  since: string;
  repositories: RepositoryView[];
  /** Rejected pushes (hook) and failing or erroring checks (app, bot), newest first. */
  problems: AuditRecord[];
}

export interface ViewSources {
  config: JobsConfig;
  state: JobState;
  store?: Pick<JobStore, 'listAudit'>;
  now: () => Date;
  /** Days of rejected pushes and failing checks to show; default 14. */
  days?: number;
  /** At most this many of them; default 50. */
  limit?: number;
}

const FAILING = new Set(['rejected', 'error', 'failure']);

function hookLogOf(path: string): string | undefined {
  try {
    const repo = openRepository({ path, cwd: '/', env: {} });
    const configured = configValue(readGitConfig(join(repo.commonDir, 'config')), 'signet.auditLog');
    return configured ? resolve(repo.commonDir, configured) : join(repo.commonDir, 'signet', 'audit.log');
  } catch {
    return undefined;
  }
}

export async function loadDashboardView(sources: ViewSources): Promise<DashboardView> {
  const now = sources.now();
  const since = new Date(now.getTime() - (sources.days ?? 14) * 86_400_000);
  const repositories: RepositoryView[] = [];
  const problems: AuditRecord[] = [];
  for (const repository of sources.config.repositories) {
    const key = slug(repository.name);
    const report = await sources.state.read<ComplianceReport>(`reports/${key}/latest.json`);
    const expiry = await sources.state.read<{ at: string; findings: ExpiryFindingData[] }>(`key-expiry/${key}.json`);
    repositories.push({
      name: repository.name,
      ...(report ? { report } : {}),
      history: (await sources.state.read<CoveragePoint[]>(`reports/${key}/history.json`)) ?? [],
      expiring: expiry?.findings ?? [],
      ...(expiry ? { expiryCheckedAt: expiry.at } : {}),
    });
    const log = hookLogOf(repository.path);
    if (log && existsSync(log)) {
      for (const record of await readAuditLog(log, { since, until: now }, () => {})) {
        if (FAILING.has(record.verdict)) problems.push({ ...record, repository: record.repository === 'unknown' ? repository.name : record.repository });
      }
    }
    if (sources.store && repository.forge) {
      const entries = await sources.store.listAudit(`${repository.forge.type}:${repository.forge.project}`, 500);
      for (const entry of entries) {
        const at = Date.parse(entry.at);
        if (at >= since.getTime() && at < now.getTime() && FAILING.has(entry.outcome) && !entry.event.startsWith('job:')) problems.push(fromStoreEntry(entry));
      }
    }
  }
  problems.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  return { generatedAt: now.toISOString(), since: since.toISOString(), repositories, problems: problems.slice(0, sources.limit ?? 50) };
}
