/** Issues on GitLab through the REST API (v4); a project is named by path or numeric id. */
import type { ExistingIssue } from '../core/report/issue-sync.ts';
import { gitLabClient } from '../forge/gitlab-client.ts';
import { ForgeHttpError } from '../forge/http-error.ts';
import type { FetchLike } from './http.ts';
import type { IssueTracker } from './issue-tracker.ts';

interface GitLabIssue {
  iid: number;
  title: string;
  description?: string | null;
  state: string;
}

export function gitLabIssueTracker(options: { apiUrl: string; project: string; token: string; fetch?: FetchLike }): IssueTracker {
  // The jobs name the API (…/api/v4); the client is given the GitLab URL it lives under.
  const baseUrl = options.apiUrl.replace(/\/api\/v4\/?$/, '');
  if (baseUrl === options.apiUrl.replace(/\/+$/, '')) throw new ForgeHttpError('FORGE_REJECTED', `forge.api_url ${options.apiUrl} must end in /api/v4`);
  const gitlab = gitLabClient({ baseUrl, token: options.token, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const client = {
    request: (method: string, path: string, json?: unknown) =>
      gitlab.json<unknown>(path, { method, ...(json !== undefined ? { json } : {}) }).then((data) => ({ data })),
  };
  const base = `/projects/${encodeURIComponent(options.project)}/issues`;
  return {
    target: `gitlab:${options.project}`,
    async listIssues(label) {
      const items = await gitlab.list<GitLabIssue>(`${base}?labels=${encodeURIComponent(label)}&scope=all`, 50);
      return items.map((item): ExistingIssue => ({
        number: item.iid,
        title: item.title,
        body: item.description ?? '',
        state: item.state === 'closed' ? 'closed' : 'open',
      }));
    },
    async createIssue(issue) {
      const { data } = await client.request('POST', base, { title: issue.title, description: issue.body, labels: issue.labels.join(',') });
      return (data as GitLabIssue).iid;
    },
    async updateIssue(number, change) {
      await client.request('PUT', `${base}/${number}`, {
        title: change.title,
        description: change.body,
        ...(change.state ? { state_event: change.state === 'open' ? 'reopen' : 'close' } : {}),
      });
    },
    async closeIssue(number, comment) {
      await client.request('POST', `${base}/${number}/notes`, { body: comment });
      await client.request('PUT', `${base}/${number}`, { state_event: 'close' });
    },
  };
}
