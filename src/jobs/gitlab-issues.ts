/** Issues on GitLab through the REST API (v4); a project is named by path or numeric id. */
import type { ExistingIssue } from '../core/report/issue-sync.ts';
import { JsonClient, type FetchLike } from './http.ts';
import type { IssueTracker } from './issue-tracker.ts';

interface GitLabIssue {
  iid: number;
  title: string;
  description?: string | null;
  state: string;
}

export function gitLabIssueTracker(options: { apiUrl: string; project: string; token: string; fetch?: FetchLike }): IssueTracker {
  const client = new JsonClient(options.fetch ?? (globalThis.fetch as unknown as FetchLike), options.apiUrl, { 'private-token': options.token, 'user-agent': 'signet-jobs' });
  const base = `/projects/${encodeURIComponent(options.project)}/issues`;
  return {
    target: `gitlab:${options.project}`,
    async listIssues(label) {
      const issues: ExistingIssue[] = [];
      for (let page = 1; page <= 50; page++) {
        const { data } = await client.request('GET', `${base}?labels=${encodeURIComponent(label)}&scope=all&per_page=100&page=${page}`);
        const items = Array.isArray(data) ? (data as GitLabIssue[]) : [];
        for (const item of items) issues.push({ number: item.iid, title: item.title, body: item.description ?? '', state: item.state === 'closed' ? 'closed' : 'open' });
        if (items.length < 100) break;
      }
      return issues;
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
