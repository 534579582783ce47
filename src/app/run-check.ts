/**
 * The GitHub adapter of the one check flow (src/checks/): a check run created in progress and
 * completed with the report, and GitHub's answers for the check (installation token, open pull
 * requests of a commit, the accounts GitHub links committer e-mails to, their keys).
 */
import type { ForgeAccountKeys } from '../forge/forge-keys.ts';
import type { GitCache } from '../forge/git-cache.ts';
import { gitHubAccountKeys, gitHubAccountsOfEmails, gitHubFileReader, type GitHubCaches, type GitHubRequest } from '../forge/github-api.ts';
import { ForgeError } from '../forge/forge-error.ts';
import type { SignatureReport } from '../forge/report.ts';
import type { CheckContext } from '../forge/scope.ts';
import { auditEvent, runCheckFlow, type CheckPublisher, type CheckSettings, type FlowOutcome } from '../checks/check-flow.ts';
import { computeCheck, type CheckSource } from '../checks/compute-check.ts';
import { CHECK_NAME, POLICY_PATH, planPull, type CheckTarget, type RepositoryRef } from './plan.ts';

export interface CheckDependencies extends CheckSettings {
  gitCache: GitCache;
  caches: GitHubCaches;
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
  failure?: FlowOutcome['failure'];
}

export function repositoryKey(repository: RepositoryRef): string {
  return `github:${repository.fullName}`;
}

/** Reads the pull request a `/signet recheck` or rerun is about, then checks it. */
export async function recheckPull(
  installation: GitHubInstallation,
  deps: CheckDependencies,
  repository: RepositoryRef,
  number: number,
  trigger: string,
  event: string,
  delivery: string,
  commentId?: number,
): Promise<CheckOutcome> {
  let pull: Record<string, unknown>;
  try {
    pull = (
      await installation.request('GET /repos/{owner}/{repo}/pulls/{pull_number}', { owner: repository.owner, repo: repository.name, pull_number: number })
    ).data as Record<string, unknown>;
  } catch (error) {
    deps.log.error({ err: error, repository: repository.fullName, number }, 'cannot read the pull request to re-check');
    await auditEvent(deps, { forge: 'github', repositoryKey: repositoryKey(repository), event: event, delivery: delivery }, 'error', {
      error: `cannot read pull request #${number}: ${(error as Error).message}`,
    });
    return { status: 'not-posted' };
  }
  const target = planPull(pull, repository, event, trigger);
  if (!target) {
    await auditEvent(deps, { forge: 'github', repositoryKey: repositoryKey(repository), event: event, delivery: delivery }, 'skipped', {
      reason: `pull request #${number} has no head or base`,
    });
    return { status: 'not-posted' };
  }
  const outcome = await runCheck(installation, deps, { ...target, ...(commentId !== undefined ? { commentId } : {}) }, delivery);
  if (commentId !== undefined && outcome.status === 'posted') {
    await installation
      .request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', {
        owner: repository.owner,
        repo: repository.name,
        comment_id: commentId,
        content: 'rocket',
      })
      .catch((error: unknown) => {
        deps.log.warn({ err: error }, 'could not react to the /signet recheck comment');
      });
  }
  return outcome;
}

export async function runCheck(installation: GitHubInstallation, deps: CheckDependencies, target: CheckTarget, delivery: string): Promise<CheckOutcome> {
  const { repository, headSha } = target;
  const base = { owner: repository.owner, repo: repository.name };
  let checkRunId: number | undefined;
  const publisher: CheckPublisher = {
    async start() {
      const created = await installation.request('POST /repos/{owner}/{repo}/check-runs', {
        ...base,
        name: CHECK_NAME,
        head_sha: headSha,
        status: 'in_progress',
        started_at: deps.now().toISOString(),
        external_id: delivery,
      });
      checkRunId = (created.data as { id: number }).id;
      return String(checkRunId);
    },
    async complete(report: SignatureReport) {
      await installation.request('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', {
        ...base,
        check_run_id: checkRunId,
        status: 'completed',
        conclusion: report.conclusion,
        completed_at: deps.now().toISOString(),
        output: { title: report.title, summary: report.summary },
      });
    },
  };
  const outcome = await runCheckFlow(
    deps,
    {
      forge: 'github',
      repositoryKey: repositoryKey(repository),
      event: target.event,
      trigger: target.trigger,
      headSha,
      delivery,
      // GitHub's unit of an organisation: its repositories share one share of the work.
      shareKey: installationKey(repository.installationId),
    },
    publisher,
    () => computeCheck(deps, gitHubCheckSource(installation, deps, target), target),
  );
  return {
    status: outcome.status,
    ...(outcome.conclusion ? { conclusion: outcome.conclusion } : {}),
    ...(checkRunId !== undefined && outcome.status !== 'duplicate' ? { checkRunId } : {}),
    ...(outcome.report ? { report: outcome.report } : {}),
    ...(outcome.failure ? { failure: outcome.failure } : {}),
  };
}

function installationKey(installationId: number): string {
  return `github-installation:${installationId}`;
}

function gitHubCheckSource(installation: GitHubInstallation, deps: CheckDependencies, target: CheckTarget): CheckSource {
  const { repository, headSha } = target;
  const { owner, name: repo } = repository;
  return {
    repositoryKey: repositoryKey(repository),
    // Its repositories' new verdicts count against one share of the verdict memo too.
    memoOwner: installationKey(repository.installationId),
    cloneUrl: repository.cloneUrl,
    defaultBranch: repository.defaultBranch,
    async gitAuth() {
      const token = await installation.token().catch((error: unknown) => {
        throw new ForgeError('api', `cannot get an installation token: ${(error as Error).message}`, { cause: error });
      });
      return { username: 'x-access-token', password: token };
    },
    policyReader: gitHubFileReader(installation.request, deps.caches, owner, repo, target.policyAt ?? repository.defaultBranch),
    ...(target.policyAt ? { policyRevision: target.policyAt } : {}),
    policyPaths: [POLICY_PATH],
    ...(target.lookUpPullRequests ? { moreContexts: () => openPullContexts(installation.request, repository, headSha) } : {}),
    async accountsOf(commits, policy) {
      const samples = new Map<string, string>();
      for (const commit of commits) if (commit.committerEmail && !samples.has(commit.committerEmail)) samples.set(commit.committerEmail, commit.oid);
      let accounts: ForgeAccountKeys[] = [];
      let accountOfEmail = new Map<string, string>();
      if (policy.keys.forgeAccounts) {
        accountOfEmail = await gitHubAccountsOfEmails(installation.request, deps.caches, owner, repo, samples, new Map(target.knownAccounts));
        const logins = [...new Set(accountOfEmail.values())];
        accounts = await Promise.all(
          logins.map(async (login) => {
            const keys = await gitHubAccountKeys(installation.request, deps.caches, login);
            const emails = new Set([...keys.verifiedEmails, ...[...accountOfEmail].filter(([, l]) => l === login).map(([email]) => email)]);
            return { ...keys, verifiedEmails: [...emails] };
          }),
        );
      }
      if (policy.keys.trustWebFlow) accounts.push(await gitHubAccountKeys(installation.request, deps.caches, 'web-flow', { trustedForAnyEmail: true }));
      return { accounts, accountOfEmail };
    },
  };
}

/** Pages of 100 read before the check fails rather than judge with a partial list. */
const MAX_PAGES = 50;

/** Open pull requests whose head is this commit: their base rules apply to it too. */
async function openPullContexts(request: GitHubRequest, repository: RepositoryRef, headSha: string): Promise<CheckContext[]> {
  const pulls: unknown[] = [];
  try {
    // Every page: a pull request on page 2 still brings its base's rules.
    for (let page = 1; page <= MAX_PAGES; page++) {
      const { data } = await request('GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls', {
        owner: repository.owner,
        repo: repository.name,
        commit_sha: headSha,
        per_page: 100,
        page,
      });
      if (!Array.isArray(data)) break;
      pulls.push(...data);
      if (data.length < 100) break;
      if (page === MAX_PAGES) throw new Error(`more than ${MAX_PAGES * 100} pull requests have this head`);
    }
  } catch (error) {
    throw new ForgeError('api', `listing the pull requests of ${headSha.slice(0, 12)}: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  const contexts: CheckContext[] = [];
  for (const pull of pulls) {
    const p = pull as { state?: string; head?: { sha?: string }; base?: { ref?: string; sha?: string; repo?: { full_name?: string } } };
    if (p.state !== 'open' || p.head?.sha !== headSha || !p.base?.ref) continue;
    if (p.base.repo?.full_name && p.base.repo.full_name !== repository.fullName) continue;
    contexts.push({ ref: `refs/heads/${p.base.ref}`, oldOid: p.base.sha ?? null, newOid: headSha, ...(p.base.sha ? { baseOid: p.base.sha } : {}) });
  }
  return contexts;
}
