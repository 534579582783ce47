/**
 * From a GitLab webhook (push, merge request, note) to what must be checked, without I/O.
 * Same shape of answer as the GitHub plan: the commit that gets the `signet/signatures`
 * status, the ref updates it stands for, what to fetch, and the claim key.
 */
import { isRecheckCommand, nonZero, object, text, ZERO, type Json } from '../forge/payload.ts';
import type { CheckContext } from '../forge/scope.ts';
import { mentionsSignRelease, parseSignReleaseCommand } from '../release/command.ts';

export const STATUS_NAME = 'signet/signatures';
export const GITLAB_POLICY_PATHS = ['.gitlab/signet.yml', '.github/signet.yml'];

export interface ProjectRef {
  id: number;
  fullName: string;
  cloneUrl: string;
  defaultBranch: string;
}

export interface GitLabTarget {
  project: ProjectRef;
  event: string;
  trigger: string;
  headSha: string;
  contexts: CheckContext[];
  fetchRefs: string[];
  /** The merge request whose note shows the table. */
  mergeRequestIid?: number;
  /** Committer e-mail → user the payload names (the pusher). */
  knownUsers: Array<[string, { id: number; username: string }]>;
}

/** `/sign-release TAG` in a note on an issue or merge request; tag undefined when malformed. */
export interface GitLabSignRelease {
  kind: 'sign-release';
  project: ProjectRef;
  tag?: string;
  noteable: 'issues' | 'merge_requests';
  iid: number;
  noteId: number;
  userId: number;
  username: string;
  trigger: string;
}

export type GitLabPlan = { kind: 'ignore'; reason: string; project?: ProjectRef } | { kind: 'check'; target: GitLabTarget } | GitLabSignRelease;

export function projectOf(payload: Json): ProjectRef | undefined {
  const project = object(payload.project);
  const id = project?.id ?? payload.project_id;
  const cloneUrl = text(project?.git_http_url) ?? text(project?.http_url);
  const fullName = text(project?.path_with_namespace);
  if (typeof id !== 'number' || !cloneUrl || !fullName) return undefined;
  return { id, fullName, cloneUrl, defaultBranch: text(project?.default_branch) ?? 'main' };
}

const MR_ACTIONS = new Set(['open', 'reopen', 'update']);

export function planGitLabEvent(event: string, payload: unknown, deliveryId: string): GitLabPlan {
  const body = object(payload);
  if (!body) return { kind: 'ignore', reason: 'the payload is not a JSON object' };
  const project = projectOf(body);
  if (!project) return { kind: 'ignore', reason: `${event}: no project, project id or clone URL in the payload` };
  const ignore = (reason: string): GitLabPlan => ({ kind: 'ignore', reason, project });

  switch (event) {
    case 'Push Hook':
    case 'Tag Push Hook': {
      const ref = text(body.ref);
      const after = text(body.after);
      if (!ref || !after) return ignore('push: the payload lacks ref or after');
      if (ZERO.test(after)) return ignore(`push deleting ${ref}: no commit to put a status on`);
      const head = nonZero(after);
      if (!head) return ignore('push: after is not a commit id');
      const before = nonZero(body.before);
      const knownUsers: GitLabTarget['knownUsers'] = [];
      const email = text(body.user_email)?.toLowerCase();
      const username = text(body.user_username);
      if (email && username && typeof body.user_id === 'number') knownUsers.push([email, { id: body.user_id, username }]);
      return {
        kind: 'check',
        target: {
          project,
          event: event === 'Push Hook' ? 'push' : 'tag_push',
          trigger: `auto:${ref}`,
          headSha: head,
          contexts: [{ ref, oldOid: before ?? null, newOid: head, ...(before ? { baseOid: before } : {}) }],
          fetchRefs: [ref],
          knownUsers,
        },
      };
    }
    case 'Merge Request Hook': {
      const attributes = object(body.object_attributes);
      const action = text(attributes?.action);
      if (!action || !MR_ACTIONS.has(action)) return ignore(`merge_request.${action ?? '?'} is not checked`);
      // An update without oldrev changed the title or labels, not the commits.
      if (action === 'update' && !nonZero(attributes?.oldrev)) return ignore('merge_request.update without new commits');
      const target = mergeRequestTarget(project, attributes, `merge_request.${action}`, `mr:${String(attributes?.iid)}:${action}:${deliveryId}`);
      return target ? { kind: 'check', target } : ignore('merge_request: the payload lacks iid, last commit or target branch');
    }
    case 'Note Hook': {
      const attributes = object(body.object_attributes);
      const note = text(attributes?.note) ?? '';
      if (mentionsSignRelease(note))
        return planSignRelease(body, attributes, project, note) ?? ignore('note: /sign-release without note id, author or issue / merge request');
      if (text(attributes?.noteable_type) !== 'MergeRequest') return ignore('note on something other than a merge request');
      if (!isRecheckCommand(text(attributes?.note) ?? '')) return ignore('note without a /signet command');
      const target = mergeRequestTarget(project, object(body.merge_request), 'note./signet recheck', `recheck:${deliveryId}`);
      return target ? { kind: 'check', target } : ignore('note: the payload lacks the merge request');
    }
    default:
      return ignore(`${event} is not an event signet handles`);
  }
}

function planSignRelease(body: Json, attributes: Json | undefined, project: ProjectRef, note: string): GitLabSignRelease | undefined {
  const type = text(attributes?.noteable_type);
  const noteable = type === 'Issue' ? 'issues' : type === 'MergeRequest' ? 'merge_requests' : undefined;
  const iid = object(noteable === 'issues' ? body.issue : body.merge_request)?.iid;
  const user = object(body.user);
  const noteId = attributes?.id;
  const userId = user?.id;
  const username = text(user?.username);
  if (!noteable || typeof iid !== 'number' || typeof noteId !== 'number' || typeof userId !== 'number' || !username) return undefined;
  const tag = parseSignReleaseCommand(note)?.tag;
  return { kind: 'sign-release', project, ...(tag ? { tag } : {}), noteable, iid, noteId, userId, username, trigger: `sign-release:${noteId}` };
}

function mergeRequestTarget(project: ProjectRef, mr: Json | undefined, event: string, trigger: string): GitLabTarget | undefined {
  const iid = mr?.iid;
  const head = nonZero(object(mr?.last_commit)?.id);
  const targetBranch = text(mr?.target_branch);
  const sourceBranch = text(mr?.source_branch);
  if (typeof iid !== 'number' || !head || !targetBranch) return undefined;
  const targetRef = `refs/heads/${targetBranch}`;
  const contexts: CheckContext[] = [{ ref: targetRef, oldOid: null, newOid: head, baseRef: targetRef }];
  if (sourceBranch && mr?.source_project_id === project.id)
    contexts.push({ ref: `refs/heads/${sourceBranch}`, oldOid: null, newOid: head, baseRef: targetRef });
  return { project, event, trigger, headSha: head, contexts, fetchRefs: [`refs/merge-requests/${iid}/head`, targetRef], mergeRequestIid: iid, knownUsers: [] };
}
