/** Issues on GitHub (or GitHub Enterprise Server) through the REST API. */
import type { ExistingIssue } from '../core/report/issue-sync.ts';
import { gitHubClient } from '../forge/github-client.ts';
import type { FetchLike } from './http.ts';
import type { IssueTracker } from './issue-tracker.ts';

interface GitHubIssue {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  pull_request?: unknown;
}

export function gitHubIssueTracker(options: { apiUrl: string; repository: string; token: string; fetch?: FetchLike }): IssueTracker {
  const request = gitHubClient({ apiUrl: options.apiUrl, token: options.token, userAgent: 'signet-jobs', ...(options.fetch ? { fetch: options.fetch } : {}) });
  const client = { request: (method: string, path: string, body?: object) => request(`${method} ${path}`, body ? { ...body } : {}) };
  const base = `/repos/${options.repository.split('/').map(encodeURIComponent).join('/')}/issues`;
  return {
    target: `github:${options.repository}`,
    async listIssues(label) {
      const issues: ExistingIssue[] = [];
      for (let page = 1; page <= 50; page++) {
        const { data } = await request(`GET ${base}`, { state: 'all', labels: label, per_page: 100, page });
        const items = Array.isArray(data) ? (data as GitHubIssue[]) : [];
        // The issues API lists pull requests too.
        for (const item of items)
          if (!item.pull_request)
            issues.push({ number: item.number, title: item.title, body: item.body ?? '', state: item.state === 'closed' ? 'closed' : 'open' });
        if (items.length < 100) break;
      }
      return issues;
    },
    async createIssue(issue) {
      const { data } = await client.request('POST', base, issue);
      return (data as GitHubIssue).number;
    },
    async updateIssue(number, change) {
      await client.request('PATCH', `${base}/${number}`, change);
    },
    async closeIssue(number, comment) {
      await client.request('POST', `${base}/${number}/comments`, { body: comment });
      await client.request('PATCH', `${base}/${number}`, { state: 'closed', state_reason: 'completed' });
    },
  };
}
