/**
 * One GitLab check: commit status `signet/signatures` (running, then success or failed) and,
 * on merge requests, one note with the same table as the GitHub check run, edited in place
 * on re-checks. Errors become a failed status that says what broke, never a running one.
 */
import type { Logger } from 'pino';
import type { SignatureVerdict } from '../core/verdict.ts';
import { commitsInScope, decideSignatures, type Decision } from '../forge/decide.ts';
import { describeFailure, ForgeError } from '../forge/forge-error.ts';
import { buildCheckRegistries, type ForgeAccountKeys } from '../forge/forge-keys.ts';
import type { GitCache } from '../forge/git-cache.ts';
import { gitLabAccountKeys, gitLabCall, gitLabFileReader, gitLabUserOfEmail, type CommitState, type GitLabApi, type GitLabCaches, type GitLabUser } from '../forge/gitlab-api.ts';
import { loadPolicy } from '../forge/policy-source.ts';
import { failureReport, noPolicyReport, type SignatureReport } from '../forge/report.ts';
import { scopeOf } from '../forge/scope.ts';
import type { SignetStore } from '../store/store.ts';
import { GITLAB_POLICY_PATHS, STATUS_NAME, type GitLabTarget, type ProjectRef } from './plan.ts';

export const NOTE_MARKER = '<!-- signet:signatures -->';

export interface GitLabDependencies {
  api: GitLabApi;
  token: string;
  caches: GitLabCaches;
  store: SignetStore;
  gitCache: GitCache;
  log: Logger;
  instanceId: string;
  leaseMs: number;
  checkTimeoutMs: number;
  now: () => Date;
}

export interface GitLabOutcome {
  status: 'posted' | 'duplicate' | 'not-posted';
  state?: CommitState;
  report?: SignatureReport;
}

export function projectKey(project: ProjectRef): string {
  return `gitlab:${project.fullName}`;
}

export async function runGitLabCheck(deps: GitLabDependencies, target: GitLabTarget, delivery: string): Promise<GitLabOutcome> {
  const { project, headSha } = target;
  const key = projectKey(project);
  if (!(await deps.store.claimCheck({ repository: key, headSha, trigger: target.trigger, owner: deps.instanceId, leaseMs: deps.leaseMs, now: deps.now() }))) {
    await audit(deps, project, target.event, delivery, headSha, 'skipped', { reason: `already checked for ${target.trigger}` });
    return { status: 'duplicate' };
  }
  const setStatus = (state: CommitState, description: string) =>
    gitLabCall(`setting the ${STATUS_NAME} status of ${headSha.slice(0, 12)}`, () =>
      deps.api.Commits.editStatus(project.id, headSha, state, { name: STATUS_NAME, description: description.length > 255 ? `${description.slice(0, 254)}…` : description }),
    );
  try {
    await setStatus('running', 'verifying commit signatures');
  } catch (error) {
    deps.log.error({ err: error, project: project.fullName, headSha }, 'cannot set the commit status');
    await deps.store.releaseCheck(key, headSha, target.trigger);
    await audit(deps, project, target.event, delivery, headSha, 'error', { error: (error as Error).message });
    return { status: 'not-posted' };
  }

  const started = Date.now();
  let report: SignatureReport;
  let decision: Decision | undefined;
  let failure: string | undefined;
  try {
    const result = await withTimeout(compute(deps, target), deps.checkTimeoutMs);
    report = result.report;
    decision = result.decision;
  } catch (error) {
    failure = describeFailure(error).line;
    deps.log.error({ err: error, project: project.fullName, headSha }, 'check failed');
    report = failureReport(failure);
  }
  const state: CommitState = report.conclusion === 'failure' ? 'failed' : 'success';
  try {
    await setStatus(state, report.conclusion === 'neutral' ? `neutral: ${report.title}` : report.title);
  } catch (error) {
    deps.log.error({ err: error }, 'cannot complete the commit status; trying a plain failure');
    try {
      await setStatus('failed', `signet could not post its result: ${(error as Error).message}`);
    } catch (second) {
      await deps.store.releaseCheck(key, headSha, target.trigger);
      await audit(deps, project, target.event, delivery, headSha, 'error', { error: `cannot complete the status: ${(second as Error).message}` });
      return { status: 'not-posted' };
    }
  }
  if (target.mergeRequestIid !== undefined) {
    try {
      await upsertNote(deps, project.id, target.mergeRequestIid, noteBody(report));
    } catch (error) {
      deps.log.warn({ err: error }, 'cannot write the merge request note (the status is set)');
    }
  }
  await deps.store.completeCheck(key, headSha, target.trigger, { conclusion: report.conclusion });
  if (decision?.evaluation.allowed) await recordAccepted(deps, key, decision, delivery);
  await audit(deps, project, target.event, delivery, headSha, failure ? 'error' : report.conclusion, {
    commits: report.rows.length, rejected: report.rows.filter((r) => !r.accepted).length, elapsedMs: Date.now() - started, ...(failure ? { error: failure } : {}),
  });
  return { status: 'posted', state, report };
}

export function noteBody(report: SignatureReport): string {
  const icon = report.conclusion === 'success' ? '✅' : report.conclusion === 'neutral' ? '➖' : '❌';
  return `${NOTE_MARKER}\n### ${icon} ${STATUS_NAME}: ${report.conclusion}\n\n${report.summary}\n\nComment \`/signet recheck\` to check again.`;
}

async function upsertNote(deps: GitLabDependencies, projectId: number, iid: number, body: string): Promise<void> {
  const notes = (await gitLabCall(`listing the notes of !${iid}`, () => deps.api.MergeRequestNotes.all(projectId, iid, { perPage: 100, maxPages: 5 }))) as Array<{ id: number; body?: string }>;
  const mine = notes.find((note) => note.body?.startsWith(NOTE_MARKER));
  if (mine) await gitLabCall(`editing note ${mine.id} of !${iid}`, () => deps.api.MergeRequestNotes.edit(projectId, iid, mine.id, { body }));
  else await gitLabCall(`writing a note on !${iid}`, () => deps.api.MergeRequestNotes.create(projectId, iid, body));
}

async function compute(deps: GitLabDependencies, target: GitLabTarget): Promise<{ report: SignatureReport; decision?: Decision }> {
  const { project, headSha } = target;
  const repo = await deps.gitCache.sync({
    key: projectKey(project),
    url: project.cloneUrl,
    refs: [...new Set([...target.fetchRefs, `refs/heads/${project.defaultBranch}`])],
    wants: [headSha],
    auth: { username: 'oauth2', password: deps.token },
  });
  const loaded = await loadPolicy(gitLabFileReader(deps.api, project.id, project.defaultBranch), GITLAB_POLICY_PATHS);
  if (!loaded) return { report: noPolicyReport(GITLAB_POLICY_PATHS[0]!, project.defaultBranch) };

  const scope = scopeOf(target.contexts, repo, project.defaultBranch);
  const commits = commitsInScope(repo, scope);
  const accountOfEmail = new Map<string, string>();
  const accounts: ForgeAccountKeys[] = [];
  if (loaded.policy.keys.forgeAccounts) {
    const known = new Map(target.knownUsers);
    const users = new Map<number, { user: GitLabUser; emails: string[] }>();
    for (const email of new Set(commits.map((c) => c.committerEmail).filter(Boolean))) {
      const user = known.get(email) ?? (await gitLabUserOfEmail(deps.api, deps.caches, email));
      if (!user) continue;
      accountOfEmail.set(email, user.username);
      const entry = users.get(user.id) ?? { user, emails: [] };
      entry.emails.push(email);
      users.set(user.id, entry);
    }
    for (const { user, emails } of users.values()) accounts.push(await gitLabAccountKeys(deps.api, deps.caches, user, emails));
  }
  let checkRegistries;
  try {
    checkRegistries = await buildCheckRegistries(loaded.files, accounts);
  } catch (error) {
    throw new ForgeError('keys', (error as Error).message);
  }
  const recorded = await deps.store.lookupVerdicts(projectKey(project), commits.map((c) => c.oid));
  const decision = await decideSignatures({ repo, policy: loaded.policy, checkRegistries, scope, now: deps.now(), recorded, accountOfEmail: (email) => accountOfEmail.get(email) });
  return { report: decision.report, decision };
}

async function recordAccepted(deps: GitLabDependencies, key: string, decision: Decision, delivery: string): Promise<void> {
  const records: Array<{ repository: string; commit: string; verdict: SignatureVerdict; recordedAt: string; ref: string; delivery: string }> = [];
  for (const refDecision of decision.evaluation.decisions) {
    if (refDecision.noPolicy) continue;
    for (const commit of refDecision.commits) {
      const result = decision.evaluation.commits.get(commit.oid);
      if (result && commit.accepted) records.push({ repository: key, commit: commit.oid, verdict: result.verdict, recordedAt: deps.now().toISOString(), ref: refDecision.ref, delivery });
    }
  }
  await deps.store.recordFirstVerdicts(records);
}

export async function audit(deps: Pick<GitLabDependencies, 'store' | 'log' | 'now'>, project: ProjectRef, event: string, delivery: string, headSha: string | undefined, outcome: string, detail: Record<string, unknown>): Promise<void> {
  try {
    await deps.store.appendAudit({ at: deps.now().toISOString(), forge: 'gitlab', repository: projectKey(project), event, delivery, ...(headSha ? { headSha } : {}), outcome, detail });
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
