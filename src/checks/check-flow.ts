/**
 * One check from claim to a completed result, for any forge (docs/architecture.md "Checks").
 * claim → mark running → compute within the time budget → complete, always: any error on the
 * way becomes a failure that says what broke, because a required check left running blocks
 * merges forever. Accepted verdicts are recorded and every step is audited. What differs per
 * forge (how "running" and the result are posted) is the adapter's `CheckPublisher`.
 */
import type { Logger } from 'pino';
import type { SignatureVerdict } from '../core/verdict.ts';
import type { Decision } from '../forge/decide.ts';
import type { ErrorKind, SignetErrorCode } from '../core/errors.ts';
import { describeFailure, ForgeError } from '../forge/forge-error.ts';
import { failureReport, type SignatureReport } from '../forge/report.ts';
import type { SignetStore } from '../store/store.ts';
import type { InstallationShares } from './installation-shares.ts';
import type { VerdictMemo } from './verdict-memo.ts';

/** What every check needs, whatever the forge. */
export interface CheckSettings {
  store: SignetStore;
  log: Logger;
  instanceId: string;
  /** How long an unfinished claim blocks others (an instance that died mid-check). */
  leaseMs: number;
  /** Budget for one check, fetch included. */
  checkTimeoutMs: number;
  /** Most commits one check judges (SIGNET_CHECK_MAX_COMMITS); more is a failure that says so. */
  maxCommits?: number;
  now: () => Date;
  /** Verdicts kept across checks in this process (absent: every check verifies every commit). */
  verdictMemo?: VerdictMemo;
  /** Each installation's (project's) share of the verification work (absent: first come, first served). */
  shares?: InstallationShares;
}

/** The check being run: store key, claim key and what the audit names. */
export interface CheckRequest {
  forge: 'github' | 'gitlab';
  /** `github:owner/name` or `gitlab:group/project` (store and audit key). */
  repositoryKey: string;
  event: string;
  trigger: string;
  headSha: string;
  delivery: string;
  /** Whose share of the verification work this check uses (the GitHub installation); default the repository. */
  shareKey?: string;
}

/** How one forge shows a check: in progress first, then a result. */
export interface CheckPublisher {
  /** Posts "running"; returns the forge's id of the check, when it has one (a check run id). */
  start(): Promise<string | undefined>;
  /** Posts the result. Throws when the forge refused it. */
  complete(report: SignatureReport): Promise<void>;
  /** Extras after the result is posted (a merge request note); failures are only logged. */
  annotate?(report: SignatureReport): Promise<void>;
}

export interface ComputedCheck {
  report: SignatureReport;
  decision?: Decision;
  /** Commits the store already held a first verdict for: recording them again changes nothing. */
  recordedBefore?: ReadonlySet<string>;
}

export interface FlowOutcome {
  status: 'posted' | 'duplicate' | 'not-posted';
  conclusion?: SignatureReport['conclusion'];
  /** The forge's id of the check (GitHub check run id). */
  postedId?: string;
  report?: SignatureReport;
  /** Why nothing was posted (`not-posted`): an outage's webhook answer is 503, so the delivery can be retried. */
  failure?: { code: SignetErrorCode; kind: ErrorKind };
}

export async function runCheckFlow(
  settings: CheckSettings,
  request: CheckRequest,
  publisher: CheckPublisher,
  compute: () => Promise<ComputedCheck>,
): Promise<FlowOutcome> {
  const { store, log } = settings;
  const { repositoryKey, headSha, trigger } = request;
  const logged = { repository: repositoryKey, headSha };
  if (!(await store.claimCheck({ repository: repositoryKey, headSha, trigger, owner: settings.instanceId, leaseMs: settings.leaseMs, now: settings.now() }))) {
    await auditCheck(settings, request, 'skipped', { reason: `already checked for ${trigger}` });
    return { status: 'duplicate' };
  }
  let postedId: string | undefined;
  try {
    postedId = await publisher.start();
  } catch (error) {
    const { code, kind } = describeFailure(error);
    log.error({ err: error, ...logged, code }, 'cannot mark the check as running');
    await store.releaseCheck(repositoryKey, headSha, trigger);
    await auditCheck(settings, request, 'error', { code, error: `cannot mark the check as running: ${(error as Error).message}` });
    return { status: 'not-posted', failure: { code, kind } };
  }
  const idDetail = postedId !== undefined ? { checkRunId: Number(postedId) } : {};

  const started = Date.now();
  let report: SignatureReport;
  let decision: Decision | undefined;
  let recordedBefore: ReadonlySet<string> | undefined;
  let failure: { line: string; code: SignetErrorCode } | undefined;
  try {
    const deadline = started + settings.checkTimeoutMs;
    const shared = settings.shares
      ? settings.shares.run(request.shareKey ?? repositoryKey, () =>
          // Its turn came after the budget ran out: the check has failed already, do not start the work.
          Date.now() >= deadline ? Promise.reject(new ForgeError('timeout', 'the check waited out its time budget')) : compute(),
        )
      : compute();
    const result = await withTimeBudget(shared, settings.checkTimeoutMs);
    report = result.report;
    decision = result.decision;
    recordedBefore = result.recordedBefore;
  } catch (error) {
    const described = describeFailure(error);
    failure = { line: described.line, code: described.code };
    log.error({ err: error, ...logged, stage: described.stage, code: described.code }, 'check failed');
    report = failureReport(described.line, described.kind === 'outage' ? { code: described.code } : undefined);
  }

  try {
    await publisher.complete(report);
  } catch (error) {
    // The forge may have refused the body (too large, odd characters): try a plain failure so
    // the check does not stay running.
    log.error({ err: error, ...logged }, 'cannot complete the check; trying a plain failure');
    try {
      await publisher.complete(failureReport(`signet could not post its result: ${(error as Error).message.split('\n')[0]}`));
    } catch (second) {
      const { code, kind } = describeFailure(second);
      log.error({ err: second, ...logged, code }, 'the check stays running: the forge refused both completions');
      await store.releaseCheck(repositoryKey, headSha, trigger);
      await auditCheck(settings, request, 'error', { ...idDetail, code, error: `cannot complete the check: ${(second as Error).message}` });
      return { status: 'not-posted', failure: { code, kind }, ...(postedId !== undefined ? { postedId } : {}) };
    }
  }
  if (publisher.annotate) {
    try {
      await publisher.annotate(report);
    } catch (error) {
      log.warn({ err: error, ...logged }, 'cannot write the annotation (the result is posted)');
    }
  }

  await store.completeCheck(repositoryKey, headSha, trigger, { ...(postedId !== undefined ? { checkRunId: postedId } : {}), conclusion: report.conclusion });
  if (decision) await recordAccepted(settings, repositoryKey, decision, request.delivery, recordedBefore);
  await auditCheck(settings, request, failure ? 'error' : report.conclusion, {
    ...idDetail,
    commits: report.rows.length,
    rejected: report.rows.filter((r) => !r.accepted).length,
    elapsedMs: Date.now() - started,
    ...(failure ? { code: failure.code, error: failure.line } : {}),
  });
  return { status: 'posted', conclusion: report.conclusion, report, ...(postedId !== undefined ? { postedId } : {}) };
}

/** First verdicts of the commits an allowed evaluation accepted under a rule (the store's record). */
async function recordAccepted(
  settings: CheckSettings,
  repositoryKey: string,
  decision: Decision,
  delivery: string,
  recordedBefore: ReadonlySet<string> | undefined,
): Promise<void> {
  const { evaluation } = decision;
  if (!evaluation.allowed) return;
  const records: Array<{ repository: string; commit: string; verdict: SignatureVerdict; recordedAt: string; ref: string; delivery: string }> = [];
  for (const refDecision of evaluation.decisions) {
    if (refDecision.noPolicy) continue;
    for (const commit of refDecision.commits) {
      const result = evaluation.commits.get(commit.oid);
      // The store keeps the first verdict of a commit (ON CONFLICT DO NOTHING): skip known ones.
      if (result && commit.accepted && !recordedBefore?.has(commit.oid))
        records.push({
          repository: repositoryKey,
          commit: commit.oid,
          verdict: result.verdict,
          recordedAt: settings.now().toISOString(),
          ref: refDecision.ref,
          delivery,
        });
    }
  }
  if (records.length > 0) await settings.store.recordFirstVerdicts(records);
}

/** One audit entry; a store that cannot write it is logged, never fatal to the check. */
export async function auditEvent(
  settings: Pick<CheckSettings, 'store' | 'log' | 'now'>,
  entry: { forge: 'github' | 'gitlab'; repositoryKey: string; event: string; delivery: string; headSha?: string | undefined },
  outcome: string,
  detail: Record<string, unknown>,
): Promise<void> {
  try {
    await settings.store.appendAudit({
      at: settings.now().toISOString(),
      forge: entry.forge,
      repository: entry.repositoryKey,
      event: entry.event,
      delivery: entry.delivery,
      ...(entry.headSha ? { headSha: entry.headSha } : {}),
      outcome,
      detail,
    });
  } catch (error) {
    settings.log.error({ err: error }, 'cannot write the audit trail');
  }
}

function auditCheck(settings: CheckSettings, request: CheckRequest, outcome: string, detail: Record<string, unknown>): Promise<void> {
  return auditEvent(settings, request, outcome, detail);
}

async function withTimeBudget<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ForgeError('timeout', `the check took longer than ${Math.round(ms / 1000)} s (SIGNET_CHECK_TIMEOUT_MS)`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
