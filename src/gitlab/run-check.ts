/**
 * The GitLab adapter of the one check flow (src/checks/): commit status `signet/signatures`
 * (running, then success or failed) and, on merge requests, one note with the same table as
 * the GitHub check run, edited in place on re-checks; and GitLab's answers for the check (the
 * users committer e-mails belong to and their keys).
 */
import type { ForgeAccountKeys } from '../forge/forge-keys.ts';
import type { GitCache } from '../forge/git-cache.ts';
import { gitLabAccountKeys, gitLabCall, gitLabFileReader, type CommitState, type GitLabCaches } from '../forge/gitlab-api.ts';
import type { GitLabClient } from '../forge/gitlab-client.ts';
import { gitLabUsersOfEmails } from '../forge/gitlab-verified-user.ts';
import type { SignatureReport } from '../forge/report.ts';
import type { CheckContext } from '../forge/scope.ts';
import { runCheckFlow, type CheckPublisher, type CheckSettings, type FlowOutcome } from '../checks/check-flow.ts';
import { computeCheck, type CheckSource } from '../checks/compute-check.ts';
import { confirmProject, type ConfirmedProject } from './confirm-project.ts';
import { GITLAB_POLICY_PATHS, STATUS_NAME, type GitLabTarget, type ProjectRef } from './plan.ts';

export const NOTE_MARKER = '<!-- signet:signatures -->';

/** Pages of 100 read before the check fails rather than judge with a partial list. */
const MAX_PAGES = 50;

export interface GitLabDependencies extends CheckSettings {
  /** The one GitLab client (GITLAB_URL and GITLAB_TOKEN): every API call goes through it. */
  client: GitLabClient;
  /** GITLAB_TOKEN, for git over HTTP to GITLAB_URL (the API's token stays inside the client). */
  token: string;
  caches: GitLabCaches;
  gitCache: GitCache;
}

export interface GitLabOutcome {
  status: 'posted' | 'duplicate' | 'not-posted';
  state?: CommitState;
  report?: SignatureReport;
  failure?: FlowOutcome['failure'];
}

export function projectKey(project: ProjectRef): string {
  return `gitlab:${project.fullName}`;
}

export async function runGitLabCheck(deps: GitLabDependencies, target: GitLabTarget, delivery: string): Promise<GitLabOutcome> {
  const { project, headSha } = target;
  const setStatus = (state: CommitState, description: string) =>
    gitLabCall(`setting the ${STATUS_NAME} status of ${headSha.slice(0, 12)}`, () =>
      deps.client.request(`/projects/${project.id}/statuses/${headSha}`, {
        method: 'POST',
        json: { state, name: STATUS_NAME, description: description.length > 255 ? `${description.slice(0, 254)}…` : description },
        idempotent: true,
      }),
    );
  const publisher: CheckPublisher = {
    async start() {
      await setStatus('running', 'verifying commit signatures');
      return undefined;
    },
    async complete(report) {
      await setStatus(stateOf(report), report.conclusion === 'neutral' ? `neutral: ${report.title}` : report.title);
    },
    ...(target.mergeRequestIid !== undefined
      ? { annotate: (report: SignatureReport) => upsertNote(deps, project.id, target.mergeRequestIid!, noteBody(report)) }
      : {}),
  };
  const outcome = await runCheckFlow(
    deps,
    { forge: 'gitlab', repositoryKey: projectKey(project), event: target.event, trigger: target.trigger, headSha, delivery },
    publisher,
    async () => computeCheck(deps, gitLabCheckSource(deps, target, await confirmProject(deps.client, project)), target),
  );
  return {
    status: outcome.status,
    ...(outcome.report ? { state: stateOf(outcome.report), report: outcome.report } : {}),
    ...(outcome.failure ? { failure: outcome.failure } : {}),
  };
}

/** GitLab statuses have no neutral: "no policy" is a success whose description says neutral. */
function stateOf(report: SignatureReport): CommitState {
  return report.conclusion === 'failure' ? 'failed' : 'success';
}

export function noteBody(report: SignatureReport): string {
  const icon = report.conclusion === 'success' ? '✅' : report.conclusion === 'neutral' ? '➖' : '❌';
  return `${NOTE_MARKER}\n### ${icon} ${STATUS_NAME}: ${report.conclusion}\n\n${report.summary}\n\nComment \`/signet recheck\` to check again.`;
}

async function upsertNote(deps: GitLabDependencies, projectId: number, iid: number, body: string): Promise<void> {
  const notes = `/projects/${projectId}/merge_requests/${iid}/notes`;
  const listed = await gitLabCall(`listing the notes of !${iid}`, () => deps.client.list<{ id: number; body?: string }>(notes, MAX_PAGES));
  const mine = listed.find((note) => note.body?.startsWith(NOTE_MARKER));
  if (mine) await gitLabCall(`editing note ${mine.id} of !${iid}`, () => deps.client.request(`${notes}/${mine.id}`, { method: 'PUT', json: { body } }));
  else await gitLabCall(`writing a note on !${iid}`, () => deps.client.request(notes, { method: 'POST', json: { body } }));
}

function gitLabCheckSource(deps: GitLabDependencies, target: GitLabTarget, confirmed: ConfirmedProject): CheckSource {
  const { project } = target;
  const { defaultBranch } = confirmed;
  // A push to the default branch is judged by the policy before it (see app/plan.ts planPush).
  const pushed = target.event === 'push' ? target.contexts[0] : undefined;
  const policyAt = pushed && pushed.ref === `refs/heads/${defaultBranch}` ? (pushed.oldOid ?? undefined) : undefined;
  return {
    repositoryKey: projectKey(project),
    cloneUrl: confirmed.cloneUrl,
    defaultBranch,
    gitAuth: () => Promise.resolve({ username: 'oauth2', password: deps.token }),
    policyReader: gitLabFileReader(deps.client, project.id, policyAt ?? defaultBranch),
    ...(policyAt ? { policyRevision: policyAt } : {}),
    policyPaths: GITLAB_POLICY_PATHS,
    moreContexts: () => openMergeRequestContexts(deps, project, target.headSha),
    async accountsOf(commits, policy) {
      const accountOfEmail = new Map<string, string>();
      const accounts: ForgeAccountKeys[] = [];
      if (!policy.keys.forgeAccounts) return { accounts, accountOfEmail };
      const emails = commits.map((c) => c.committerEmail).filter(Boolean);
      for (const { user, emails: own } of await gitLabUsersOfEmails(deps.client, deps.caches, emails, new Map(target.knownUsers))) {
        for (const email of own) accountOfEmail.set(email, user.username);
        accounts.push(await gitLabAccountKeys(deps.client, deps.caches, user, own));
      }
      return { accounts, accountOfEmail };
    },
  };
}

/**
 * Open merge requests whose head is this commit: their target's rules apply to it too, so a
 * push of an MR head to a branch without a rule cannot turn the MR's failed status green.
 */
async function openMergeRequestContexts(deps: GitLabDependencies, project: ProjectRef, headSha: string): Promise<CheckContext[]> {
  const mergeRequests = await gitLabCall(`listing the merge requests of ${headSha.slice(0, 12)}`, () =>
    deps.client.list<{ state?: string; sha?: string; target_branch?: string; target_project_id?: number; project_id?: number }>(
      `/projects/${project.id}/repository/commits/${headSha}/merge_requests`,
      MAX_PAGES,
    ),
  );
  const contexts: CheckContext[] = [];
  for (const mr of mergeRequests) {
    if (mr.state !== 'opened' || mr.sha !== headSha || !mr.target_branch) continue;
    if ((mr.target_project_id ?? mr.project_id) !== project.id) continue;
    const targetRef = `refs/heads/${mr.target_branch}`;
    contexts.push({ ref: targetRef, oldOid: null, newOid: headSha, baseRef: targetRef });
  }
  return contexts;
}
