import { ForgeHttpError } from '../forge/http-error.ts';
import { errorCodeOf, SignetError, type SignetErrorCode } from '../core/errors.ts';
import { loadReportContext, type ReportContext } from '../report/collect.ts';
import type { AuditRecord } from './audit-trail.ts';
import type { JobName, JobsConfig, WatchedRepository } from './config.ts';
import { gitHubIssueTracker } from './github-issues.ts';
import { gitLabIssueTracker } from './gitlab-issues.ts';
import type { FetchLike } from './http.ts';
import type { IssueTracker, SyncResult } from './issue-tracker.ts';
import type { JobState, JobStore } from './ports.ts';

/** Everything a job touches, injected: tests swap the clock, the forge and the state. */
export interface JobEnvironment {
  config: JobsConfig;
  now: () => Date;
  /** Where forge tokens are read from (`token_env`). */
  env: NodeJS.ProcessEnv;
  fetch?: FetchLike;
  state: JobState;
  store?: JobStore;
  /** Appends one decision to the audit trail. */
  audit: (record: Omit<AuditRecord, 'source'>) => void;
  /** Who runs the job, for the audit trail (`scheduler@host`, `cli`). */
  actor: string;
  /** Replaces the forge issue tracker built from the configuration (tests, or the app's own client). */
  trackerFor?: (repository: WatchedRepository) => IssueTracker | undefined;
  /** Compute findings but file, update and close nothing. */
  dryRun?: boolean;
}

export interface RepositoryOutcome {
  repository: string;
  outcome: 'ok' | 'findings' | 'error';
  findings: number;
  issues?: Omit<SyncResult, 'unchanged'> & { unchanged: number };
  error?: string;
  /** With `error`: its code (docs/architecture.md "Errors"); an outage's next run may succeed. */
  code?: SignetErrorCode;
  /** Job-specific data (findings, report summary). */
  data?: unknown;
  /** Problems that did not stop the job (a forge key that could not be read). */
  warnings?: string[];
}

export interface JobRun {
  job: JobName;
  startedAt: string;
  finishedAt: string;
  repositories: RepositoryOutcome[];
}

export function issueTracker(environment: JobEnvironment, repository: WatchedRepository): IssueTracker | undefined {
  if (environment.trackerFor) return environment.trackerFor(repository);
  const forge = repository.forge;
  if (!forge) return undefined;
  const token = environment.env[forge.tokenEnv];
  if (!token) throw new SignetError('CONFIG_INVALID', `${repository.name}: the forge token variable ${forge.tokenEnv} is not set`);
  const fetch = environment.fetch ? { fetch: environment.fetch } : {};
  return forge.type === 'github'
    ? gitHubIssueTracker({ apiUrl: forge.apiUrl, repository: forge.project, token, ...fetch })
    : gitLabIssueTracker({ apiUrl: forge.apiUrl, project: forge.project, token, ...fetch });
}

export async function repositoryContext(repository: WatchedRepository): Promise<ReportContext> {
  return loadReportContext({
    repo: repository.path,
    cwd: '/',
    keyrings: repository.keyrings,
    ...(repository.allowedSigners ? { allowedSigners: repository.allowedSigners } : {}),
    ...(repository.revokedKeys ? { revokedKeys: repository.revokedKeys } : {}),
    ...(repository.policy ? { policy: repository.policy } : {}),
  });
}

/** An outage (the next run tries again) is told apart from a refusal (the token or the configuration needs fixing). */
function forgeFailure(error: ForgeHttpError): string {
  return `${error.retryable ? 'the forge is unavailable, the next run tries again' : 'the forge refused the request, check the token and forge settings'}: ${error.message}`;
}

/**
 * Runs `work` for every watched repository; one repository's failure is its outcome, not the
 * job's end. Every outcome joins the audit trail (and the store's, for forge repositories).
 */
export async function forEachRepository(
  environment: JobEnvironment,
  job: JobName,
  work: (repository: WatchedRepository) => Promise<Omit<RepositoryOutcome, 'repository'>>,
): Promise<JobRun> {
  const startedAt = environment.now().toISOString();
  const outcomes: RepositoryOutcome[] = [];
  for (const repository of environment.config.repositories) {
    let outcome: RepositoryOutcome;
    try {
      outcome = { repository: repository.name, ...(await work(repository)) };
    } catch (error) {
      // ForgeHttpError first: it is a SignetError too, and says outage or refusal in words.
      const message =
        error instanceof ForgeHttpError
          ? forgeFailure(error)
          : error instanceof SignetError
            ? error.message
            : `internal error: ${(error as Error)?.message ?? String(error)}`;
      outcome = { repository: repository.name, outcome: 'error', findings: 0, error: message, code: errorCodeOf(error) };
    }
    outcomes.push(outcome);
    const at = environment.now().toISOString();
    const detail = {
      findings: outcome.findings,
      ...(outcome.issues ? { issues: outcome.issues } : {}),
      ...(outcome.error ? { error: outcome.error } : {}),
      ...(outcome.warnings ? { warnings: outcome.warnings } : {}),
      ...(environment.dryRun ? { dryRun: true } : {}),
    };
    environment.audit({ at, actor: environment.actor, action: `job:${job}`, repository: repository.name, verdict: outcome.outcome, detail });
    if (environment.store && repository.forge) {
      await environment.store
        .appendAudit({
          at,
          forge: repository.forge.type,
          repository: `${repository.forge.type}:${repository.forge.project}`,
          event: `job:${job}`,
          delivery: `job:${job}:${startedAt}`,
          outcome: outcome.outcome,
          detail: { ...detail, actor: environment.actor },
        })
        .catch(() => {
          // The file audit log has the record; a store that is down must not fail the job.
        });
    }
  }
  return { job, startedAt, finishedAt: environment.now().toISOString(), repositories: outcomes };
}
