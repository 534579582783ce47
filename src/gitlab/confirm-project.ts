/**
 * What the bot may believe about a delivery's project. The payload is written by whoever holds
 * the webhook secret, so its clone URL, path and default branch are claims: the project is
 * read from the GitLab API by id, its path must be the one the payload names, and the clone
 * URL is built from the configured GITLAB_URL — the token never goes to a host a payload
 * names (issue 12), and the policy is read from the branch GitLab says is the default.
 */
import { ForgeError } from '../forge/forge-error.ts';
import { gitLabCall } from '../forge/gitlab-api.ts';
import type { GitLabClient } from '../forge/gitlab-client.ts';
import type { ProjectRef } from './plan.ts';

export interface ConfirmedProject {
  cloneUrl: string;
  defaultBranch: string;
}

export async function confirmProject(client: GitLabClient, project: ProjectRef): Promise<ConfirmedProject> {
  const shown = await gitLabCall(`reading project ${project.id}`, () =>
    client.json<{ id?: unknown; path_with_namespace?: unknown; default_branch?: unknown }>(`/projects/${project.id}`),
  );
  const path = typeof shown.path_with_namespace === 'string' ? shown.path_with_namespace : undefined;
  if (shown.id !== project.id || !path || path.toLowerCase() !== project.fullName.toLowerCase()) {
    throw new ForgeError('api', `delivery refused: project ${project.id} is '${path ?? '?'}' on GitLab, not '${project.fullName}'`);
  }
  return {
    cloneUrl: `${client.baseUrl}/${path.split('/').map(encodeURIComponent).join('/')}.git`,
    defaultBranch: typeof shown.default_branch === 'string' && shown.default_branch !== '' ? shown.default_branch : project.defaultBranch,
  };
}
