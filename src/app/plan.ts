/**
 * From a GitHub webhook to what must be checked, without I/O: which commit gets the check
 * run, which ref updates it stands for, what to fetch, and the claim key that keeps two
 * deliveries asking for the same check (a push and its check_suite, a redelivery, a second
 * app instance) from posting twice.
 */
import { isRecheckCommand, nonZero, object, sha, text, ZERO, type Json } from '../forge/payload.ts';
import type { CheckContext } from '../forge/scope.ts';
import { mentionsSignRelease, parseSignReleaseCommand } from '../release/command.ts';

export type { CheckContext };

export const CHECK_NAME = 'signet/signatures';
export const POLICY_PATH = '.github/signet.yml';

export interface RepositoryRef {
  owner: string;
  name: string;
  fullName: string;
  cloneUrl: string;
  defaultBranch: string;
  installationId: number;
}

export interface CheckTarget {
  repository: RepositoryRef;
  /** `push`, `pull_request.synchronize`, … (for the audit). */
  event: string;
  /** The claim key (see module comment). */
  trigger: string;
  headSha: string;
  contexts: CheckContext[];
  /** Remote refs to fetch (all branches come along). */
  fetchRefs: string[];
  /** Add the open pull requests whose head is headSha (push and check_suite do not say). */
  lookUpPullRequests: boolean;
  /** Committer e-mail → login pairs the payload already tells (push commits). */
  knownAccounts: Array<[string, string]>;
  /** Comment to acknowledge (a `/signet recheck`). */
  commentId?: number;
  /**
   * The commit whose policy judges this check, when not the default branch's tip: a push to
   * the default branch is judged by the policy in force before it (its `before`), so a push
   * that rewrites the policy cannot pass under the policy it brings.
   */
  policyAt?: string;
}

export type GitHubPlan =
  | { kind: 'ignore'; reason: string; repository?: RepositoryRef }
  | { kind: 'check'; target: CheckTarget }
  /** `/signet recheck` and check_run rerequests on a PR: the PR must be read first. */
  | { kind: 'recheck-pull'; repository: RepositoryRef; number: number; trigger: string; event: string; commentId?: number }
  | { kind: 'installation'; action: string; installationId?: number; repositories: string[] }
  /** `/sign-release TAG` in an issue or pull request comment; tag undefined when malformed. */
  | { kind: 'sign-release'; repository: RepositoryRef; tag?: string; issueNumber: number; commentId: number; commenter: string; trigger: string };

export function repositoryOf(payload: Json): RepositoryRef | undefined {
  const repository = object(payload.repository);
  const installation = object(payload.installation);
  const fullName = text(repository?.full_name);
  const cloneUrl = text(repository?.clone_url);
  const installationId = installation?.id;
  if (!repository || !fullName || !cloneUrl || typeof installationId !== 'number') return undefined;
  const [owner, name] = fullName.split('/');
  if (!owner || !name) return undefined;
  return { owner, name, fullName, cloneUrl, defaultBranch: text(repository.default_branch) ?? text(repository.master_branch) ?? 'main', installationId };
}

const PULL_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

export function planGitHubEvent(name: string, payload: unknown, deliveryId: string): GitHubPlan {
  const body = object(payload);
  if (!body) return { kind: 'ignore', reason: 'the payload is not a JSON object' };
  const action = text(body.action);
  if (name === 'installation' || name === 'installation_repositories') {
    const repositories = [...asArray(body.repositories), ...asArray(body.repositories_added)]
      .map((r) => text(object(r)?.full_name))
      .filter((s): s is string => !!s);
    const installationId = object(body.installation)?.id;
    return { kind: 'installation', action: action ?? 'unknown', ...(typeof installationId === 'number' ? { installationId } : {}), repositories };
  }
  const repository = repositoryOf(body);
  if (!repository) return { kind: 'ignore', reason: `${name}: no repository, clone URL or installation in the payload` };
  const ignore = (reason: string): GitHubPlan => ({ kind: 'ignore', reason, repository });

  switch (name) {
    case 'push':
      return planPush(body, repository) ?? ignore('push: the payload lacks ref or after');
    case 'pull_request': {
      if (!action || !PULL_ACTIONS.has(action)) return ignore(`pull_request.${action ?? '?'} is not checked`);
      const target = planPull(object(body.pull_request), repository, `pull_request.${action}`, `pr:${String(body.number)}:${action}:${deliveryId}`);
      return target ? { kind: 'check', target } : ignore('pull_request: the payload lacks head or base');
    }
    case 'check_suite': {
      if (action !== 'requested' && action !== 'rerequested') return ignore(`check_suite.${action ?? '?'} is not checked`);
      const suite = object(body.check_suite);
      const target = planSuite(suite, repository, `check_suite.${action}`, action === 'requested' ? undefined : deliveryId);
      return target ? { kind: 'check', target } : ignore('check_suite: the payload lacks head_sha');
    }
    case 'check_run': {
      if (action !== 'rerequested') return ignore(`check_run.${action ?? '?'} is not checked`);
      const run = object(body.check_run);
      if (text(run?.name) !== CHECK_NAME) return ignore(`check_run.rerequested for another check (${text(run?.name) ?? '?'})`);
      const suite = { ...object(run?.check_suite), head_sha: run?.head_sha, pull_requests: run?.pull_requests ?? object(run?.check_suite)?.pull_requests };
      const target = planSuite(suite, repository, 'check_run.rerequested', deliveryId);
      return target ? { kind: 'check', target } : ignore('check_run: the payload lacks head_sha');
    }
    case 'merge_group': {
      if (action !== 'checks_requested') return ignore(`merge_group.${action ?? '?'} is not checked`);
      const group = object(body.merge_group);
      const headSha = nonZero(group?.head_sha);
      const baseSha = nonZero(group?.base_sha);
      const headRef = text(group?.head_ref);
      const baseRef = text(group?.base_ref);
      if (!headSha || !baseSha || !headRef || !baseRef) return ignore('merge_group: the payload lacks head or base');
      return {
        kind: 'check',
        target: {
          repository,
          event: 'merge_group.checks_requested',
          trigger: `merge_group:${headRef}`,
          headSha,
          contexts: [{ ref: baseRef, oldOid: baseSha, newOid: headSha, baseOid: baseSha }],
          fetchRefs: [headRef, baseRef],
          lookUpPullRequests: false,
          knownAccounts: [],
        },
      };
    }
    case 'issue_comment': {
      if (action !== 'created') return ignore(`issue_comment.${action ?? '?'} is not a command`);
      const issue = object(body.issue);
      const comment = object(body.comment);
      const commentBody = text(comment?.body) ?? '';
      if (mentionsSignRelease(commentBody)) {
        const commenter = text(object(comment?.user)?.login);
        // Our own answers quote the command; an app's comment never triggers signing.
        if (text(object(comment?.user)?.type) === 'Bot') return ignore('issue_comment: /sign-release from a bot');
        if (!issue || typeof issue.number !== 'number' || typeof comment?.id !== 'number' || !commenter)
          return ignore('issue_comment: /sign-release without issue number, comment id or author');
        const tag = parseSignReleaseCommand(commentBody)?.tag;
        return {
          kind: 'sign-release',
          repository,
          ...(tag ? { tag } : {}),
          issueNumber: issue.number,
          commentId: comment.id,
          commenter,
          trigger: `sign-release:${String(comment.id)}`,
        };
      }
      if (!issue || !object(issue.pull_request)) return ignore('issue_comment on an issue, not a pull request');
      if (!isRecheckCommand(text(comment?.body) ?? '')) return ignore('issue_comment without a /signet command');
      const number = issue.number;
      if (typeof number !== 'number') return ignore('issue_comment: the payload lacks the pull request number');
      const commentId = comment?.id;
      return {
        kind: 'recheck-pull',
        repository,
        number,
        trigger: `recheck:${deliveryId}`,
        event: 'issue_comment./signet recheck',
        ...(typeof commentId === 'number' ? { commentId } : {}),
      };
    }
    default:
      return ignore(`${name} is not an event signet handles`);
  }
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function planPush(body: Json, repository: RepositoryRef): GitHubPlan | undefined {
  const ref = text(body.ref);
  const after = sha(body.after);
  if (!ref || !after) return undefined;
  if (body.deleted === true || ZERO.test(after)) return { kind: 'ignore', reason: `push deleting ${ref}: no commit to put a check on`, repository };
  const before = nonZero(body.before);
  const knownAccounts: Array<[string, string]> = [];
  for (const commit of [...asArray(body.commits), body.head_commit]) {
    const committer = object(object(commit)?.committer);
    const email = text(committer?.email)?.toLowerCase();
    const username = text(committer?.username);
    if (email && username) knownAccounts.push([email, username]);
  }
  const context: CheckContext = { ref, oldOid: before ?? null, newOid: after, ...(before ? { baseOid: before } : {}) };
  const policyAt = ref === `refs/heads/${repository.defaultBranch}` ? before : undefined;
  return {
    kind: 'check',
    target: {
      repository,
      event: 'push',
      trigger: `auto:${ref}`,
      headSha: after,
      contexts: [context],
      fetchRefs: [ref],
      lookUpPullRequests: ref.startsWith('refs/heads/'),
      knownAccounts,
      ...(policyAt ? { policyAt } : {}),
    },
  };
}

/** A pull request's check: "merge head into base", plus the head branch itself when it lives in this repository. */
export function planPull(pull: Json | undefined, repository: RepositoryRef, event: string, trigger: string): CheckTarget | undefined {
  const head = object(pull?.head);
  const base = object(pull?.base);
  const headSha = nonZero(head?.sha);
  const baseSha = nonZero(base?.sha);
  const baseRef = text(base?.ref);
  const number = pull?.number;
  if (!headSha || !baseRef || typeof number !== 'number') return undefined;
  const contexts: CheckContext[] = [{ ref: `refs/heads/${baseRef}`, oldOid: baseSha ?? null, newOid: headSha, ...(baseSha ? { baseOid: baseSha } : {}) }];
  const headRef = text(head?.ref);
  const sameRepository = text(object(head?.repo)?.full_name) === repository.fullName;
  if (headRef && sameRepository) contexts.push({ ref: `refs/heads/${headRef}`, oldOid: null, newOid: headSha, ...(baseSha ? { baseOid: baseSha } : {}) });
  return {
    repository,
    event,
    trigger,
    headSha,
    contexts,
    fetchRefs: [`refs/pull/${number}/head`],
    lookUpPullRequests: false,
    knownAccounts: [],
  };
}

/** check_suite / check_run: the head branch (when GitHub names one) and the pull requests GitHub lists. */
function planSuite(suite: Json | undefined, repository: RepositoryRef, event: string, deliveryId: string | undefined): CheckTarget | undefined {
  const headSha = nonZero(suite?.head_sha);
  if (!headSha) return undefined;
  const headBranch = text(suite?.head_branch);
  const before = nonZero(suite?.before);
  const contexts: CheckContext[] = [];
  const fetchRefs: string[] = [];
  if (headBranch) {
    contexts.push({ ref: `refs/heads/${headBranch}`, oldOid: before ?? null, newOid: headSha, ...(before ? { baseOid: before } : {}) });
    fetchRefs.push(`refs/heads/${headBranch}`);
  }
  for (const pr of asArray(suite?.pull_requests)) {
    const base = object(object(pr)?.base);
    const baseRef = text(base?.ref);
    const baseSha = nonZero(base?.sha);
    const number = object(pr)?.number;
    if (!baseRef) continue;
    contexts.push({ ref: `refs/heads/${baseRef}`, oldOid: baseSha ?? null, newOid: headSha, ...(baseSha ? { baseOid: baseSha } : {}) });
    if (typeof number === 'number' && !headBranch) fetchRefs.push(`refs/pull/${number}/head`);
  }
  if (contexts.length === 0) return undefined;
  return {
    repository,
    event,
    // An automatic check_suite.requested asks for what the push already asked for.
    trigger: deliveryId ? `rerun:${deliveryId}` : `auto:refs/heads/${headBranch ?? headSha}`,
    headSha,
    contexts,
    fetchRefs,
    lookUpPullRequests: true,
    knownAccounts: [],
    // The suite of a push to the default branch: the policy before that push (see planPush).
    ...(headBranch === repository.defaultBranch && before ? { policyAt: before } : {}),
  };
}
