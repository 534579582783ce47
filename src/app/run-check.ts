/**
 * One GitHub check from claim to completed check run. The check run is created in progress
 * first and always completed: success, failure, or neutral without a policy; any error on
 * the way becomes a failure that says what broke (a required check left pending blocks
 * merges forever).
 */
import type { Logger } from 'pino';
import type { SignatureVerdict } from '../core/verdict.ts';
import { commitsInScope, decideSignatures, type Decision } from '../forge/decide.ts';
import { describeFailure, ForgeError } from '../forge/forge-error.ts';
import { buildCheckRegistries, type ForgeAccountKeys } from '../forge/forge-keys.ts';
import type { GitCache } from '../forge/git-cache.ts';
import { gitHubAccountKeys, gitHubAccountsOfEmails, gitHubFileReader, type GitHubCaches, type GitHubRequest } from '../forge/github-api.ts';
import { loadPolicy } from '../forge/policy-source.ts';
import { failureReport, noPolicyReport, type SignatureReport } from '../forge/report.ts';
import type { SignetStore } from '../store/store.ts';
import { scopeOf, type CheckContext } from '../forge/scope.ts';
import { CHECK_NAME, POLICY_PATH, planPull, type CheckTarget, type RepositoryRef } from './plan.ts';

export interface CheckDependencies {
  store: SignetStore;
  gitCache: GitCache;
  caches: GitHubCaches;
  log: Logger;
  instanceId: string;
  /** How long an unfinished claim blocks others (an instance that died mid-check). */
  leaseMs: number;
  /** Budget for one check, fetch included. */
  checkTimeoutMs: number;
  now: () => Date;
}

export interface GitHubInstallation {
  request: GitHubRequest;
  /** An installation access token for git over HTTP. */
  token: () => Promise<string>;
}

export interface CheckOutcome {
  status: 'posted' | 'duplicate' | 'not-posted';
  conclusion?: string;
  checkRunId?: number;
  report?: SignatureReport;
}

export function repositoryKey(repository: RepositoryRef): string {
  return `github:${repository.fullName}`;
}

/** Reads the pull request a `/signet recheck` or rerun is about, then checks it. */
export async function recheckPull(installation: GitHubInstallation, deps: CheckDependencies, repository: RepositoryRef, number: number, trigger: string, event: string, delivery: string, commentId?: number): Promise<CheckOutcome> {
  let pull: Record<string, unknown>;
  try {
    pull = (await installation.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner: repository.owner, repo: repository.name, pull_number: number })).data as Record<string, unknown>;
  } catch (error) {
    deps.log.error({ err: error, repository: repository.fullName, number }, 'cannot read the pull request to re-check');
    await audit(deps, repository, event, delivery, undefined, 'error', { error: `cannot read pull request #${number}: ${(error as Error).message}` });
    return { status: 'not-posted' };
  }
  const target = planPull(pull, repository, event, trigger);
  if (!target) {
    await audit(deps, repository, event, delivery, undefined, 'skipped', { reason: `pull request #${number} has no head or base` });
    return { status: 'not-posted' };
  }
  const outcome = await runCheck(installation, deps, { ...target, ...(commentId !== undefined ? { commentId } : {}) }, delivery);
  if (commentId !== undefined && outcome.status === 'posted') {
    await installation.request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', { owner: repository.owner, repo: repository.name, comment_id: commentId, content: 'rocket' }).catch((error: unknown) => {
      deps.log.warn({ err: error }, 'could not react to the /signet recheck comment');
    });
  }
  return outcome;
}

export async function runCheck(installation: GitHubInstallation, deps: CheckDependencies, target: CheckTarget, delivery: string): Promise<CheckOutcome> {
  const { repository, headSha } = target;
  const repoKey = repositoryKey(repository);
  const claimed = await deps.store.claimCheck({ repository: repoKey, headSha, trigger: target.trigger, owner: deps.instanceId, leaseMs: deps.leaseMs, now: deps.now() });
  if (!claimed) {
    await audit(deps, repository, target.event, delivery, headSha, 'skipped', { reason: `already checked for ${target.trigger}` });
    return { status: 'duplicate' };
  }
  const base = { owner: repository.owner, repo: repository.name };
  let checkRunId: number;
  try {
    const created = await installation.request('POST /repos/{owner}/{repo}/check-runs', {
      ...base, name: CHECK_NAME, head_sha: headSha, status: 'in_progress', started_at: deps.now().toISOString(), external_id: delivery,
    });
    checkRunId = (created.data as { id: number }).id;
  } catch (error) {
    deps.log.error({ err: error, repository: repository.fullName, headSha }, 'cannot create the check run');
    await deps.store.releaseCheck(repoKey, headSha, target.trigger);
    await audit(deps, repository, target.event, delivery, headSha, 'error', { error: `cannot create the check run: ${(error as Error).message}` });
    return { status: 'not-posted' };
  }

  const started = Date.now();
  let report: SignatureReport;
  let decision: Decision | undefined;
  let failure: string | undefined;
  try {
    const result = await withTimeout(computeReport(installation, deps, target, delivery), deps.checkTimeoutMs);
    report = result.report;
    decision = result.decision;
  } catch (error) {
    const described = describeFailure(error);
    failure = described.line;
    deps.log.error({ err: error, repository: repository.fullName, headSha, stage: described.stage }, 'check failed');
    report = failureReport(described.line);
  }

  const completion = {
    ...base, check_run_id: checkRunId, status: 'completed', conclusion: report.conclusion, completed_at: deps.now().toISOString(),
    output: { title: report.title, summary: report.summary },
  };
  try {
    await installation.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', completion);
  } catch (error) {
    // The API may have refused the body (too large, odd characters): try a plain failure so
    // the check does not stay in progress.
    deps.log.error({ err: error }, 'cannot complete the check run; trying a plain failure');
    try {
      const line = `signet could not post its result: ${(error as Error).message.split('\n')[0]}`;
      await installation.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', { ...completion, conclusion: 'failure', output: { title: line.slice(0, 120), summary: line } });
    } catch (second) {
      deps.log.error({ err: second }, 'the check run stays in progress: GitHub refused both completions');
      await deps.store.releaseCheck(repoKey, headSha, target.trigger);
      await audit(deps, repository, target.event, delivery, headSha, 'error', { error: `cannot complete check run ${checkRunId}: ${(second as Error).message}` });
      return { status: 'not-posted', checkRunId };
    }
  }

  await deps.store.completeCheck(repoKey, headSha, target.trigger, { checkRunId: String(checkRunId), conclusion: report.conclusion });
  if (decision) await recordAccepted(deps, repoKey, decision, delivery);
  await audit(deps, repository, target.event, delivery, headSha, failure ? 'error' : report.conclusion, {
    checkRunId, commits: report.rows.length, rejected: report.rows.filter((r) => !r.accepted).length, elapsedMs: Date.now() - started, ...(failure ? { error: failure } : {}),
  });
  return { status: 'posted', conclusion: report.conclusion, checkRunId, report };
}

async function computeReport(installation: GitHubInstallation, deps: CheckDependencies, target: CheckTarget, _delivery: string): Promise<{ report: SignatureReport; decision?: Decision }> {
  const { repository, headSha } = target;
  const base = { owner: repository.owner, repo: repository.name };
  const contexts = [...target.contexts];
  if (target.lookUpPullRequests) contexts.push(...(await openPullContexts(installation.request, repository, headSha)));

  const token = await installation.token().catch((error: unknown) => {
    throw new ForgeError('api', `cannot get an installation token: ${(error as Error).message}`);
  });
  const repo = await deps.gitCache.sync({
    key: repositoryKey(repository),
    url: repository.cloneUrl,
    refs: [...new Set([...target.fetchRefs, `refs/heads/${repository.defaultBranch}`])],
    wants: [headSha],
    auth: { username: 'x-access-token', password: token },
  });

  const loaded = await loadPolicy(gitHubFileReader(installation.request, deps.caches, base.owner, base.repo, repository.defaultBranch), [POLICY_PATH]);
  if (!loaded) return { report: noPolicyReport(POLICY_PATH, repository.defaultBranch) };

  const scope = scopeOf(contexts, repo, repository.defaultBranch);
  const commits = commitsInScope(repo, scope);
  let accounts: ForgeAccountKeys[] = [];
  let accountOfEmail: Map<string, string> = new Map();
  if (loaded.policy.keys.forgeAccounts || loaded.policy.keys.trustWebFlow) {
    const samples = new Map<string, string>();
    for (const commit of commits) if (commit.committerEmail && !samples.has(commit.committerEmail)) samples.set(commit.committerEmail, commit.oid);
    if (loaded.policy.keys.forgeAccounts) {
      accountOfEmail = await gitHubAccountsOfEmails(installation.request, deps.caches, base.owner, base.repo, samples, new Map(target.knownAccounts));
      const logins = [...new Set(accountOfEmail.values())];
      accounts = await Promise.all(
        logins.map(async (login) => {
          const keys = await gitHubAccountKeys(installation.request, deps.caches, login);
          const emails = new Set([...keys.verifiedEmails, ...[...accountOfEmail].filter(([, l]) => l === login).map(([email]) => email)]);
          return { ...keys, verifiedEmails: [...emails] };
        }),
      );
    }
    if (loaded.policy.keys.trustWebFlow) accounts.push(await gitHubAccountKeys(installation.request, deps.caches, 'web-flow', { trustedForAnyEmail: true }));
  }
  let checkRegistries;
  try {
    checkRegistries = await buildCheckRegistries(loaded.files, accounts);
  } catch (error) {
    throw new ForgeError('keys', (error as Error).message);
  }
  const recorded = await deps.store.lookupVerdicts(repositoryKey(repository), commits.map((c) => c.oid));
  const decision = await decideSignatures({
    repo, policy: loaded.policy, checkRegistries, scope, now: deps.now(), recorded,
    accountOfEmail: (email) => accountOfEmail.get(email),
  });
  return { report: decision.report, decision };
}

/** Open pull requests whose head is this commit: their base rules apply to it too. */
async function openPullContexts(request: GitHubRequest, repository: RepositoryRef, headSha: string): Promise<CheckContext[]> {
  let pulls: unknown;
  try {
    pulls = (await request('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', { owner: repository.owner, repo: repository.name, commit_sha: headSha, per_page: 100 })).data;
  } catch (error) {
    throw new ForgeError('api', `listing the pull requests of ${headSha.slice(0, 12)}: ${(error as Error).message.split('\n')[0]}`);
  }
  const contexts: CheckContext[] = [];
  for (const pull of Array.isArray(pulls) ? pulls : []) {
    const p = pull as { state?: string; head?: { sha?: string }; base?: { ref?: string; sha?: string; repo?: { full_name?: string } } };
    if (p.state !== 'open' || p.head?.sha !== headSha || !p.base?.ref) continue;
    if (p.base.repo?.full_name && p.base.repo.full_name !== repository.fullName) continue;
    contexts.push({ ref: `refs/heads/${p.base.ref}`, oldOid: p.base.sha ?? null, newOid: headSha, ...(p.base.sha ? { baseOid: p.base.sha } : {}) });
  }
  return contexts;
}

async function recordAccepted(deps: CheckDependencies, repoKey: string, decision: Decision, delivery: string): Promise<void> {
  const { evaluation } = decision;
  if (!evaluation.allowed) return;
  const records: Array<{ repository: string; commit: string; verdict: SignatureVerdict; recordedAt: string; ref: string; delivery: string }> = [];
  for (const refDecision of evaluation.decisions) {
    if (refDecision.noPolicy) continue;
    for (const commit of refDecision.commits) {
      const result = evaluation.commits.get(commit.oid);
      if (result && commit.accepted) records.push({ repository: repoKey, commit: commit.oid, verdict: result.verdict, recordedAt: deps.now().toISOString(), ref: refDecision.ref, delivery });
    }
  }
  await deps.store.recordFirstVerdicts(records);
}

export async function audit(deps: CheckDependencies, repository: RepositoryRef, event: string, delivery: string, headSha: string | undefined, outcome: string, detail: Record<string, unknown>): Promise<void> {
  try {
    await deps.store.appendAudit({ at: deps.now().toISOString(), forge: 'github', repository: repositoryKey(repository), event, delivery, ...(headSha ? { headSha } : {}), outcome, detail });
  } catch (error) {
    deps.log.error({ err: error }, 'cannot write the audit trail');
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ForgeError('timeout', `the check took longer than ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
