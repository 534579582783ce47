/**
 * An Octokit-style `request(route, parameters)` over plain fetch, so the jobs can use the
 * forge clients in src/forge/ (written against Probot's installation client) with a token
 * from the configuration: `{name}` placeholders are filled from the parameters, the rest go to
 * the query string (GET) or the JSON body; errors carry `status` as Octokit's do.
 */
import type { GitHubRequest } from '../forge/github-api.ts';
import type { FetchLike } from './http.ts';

export function fetchGitHubRequest(apiUrl: string, token: string, fetch: FetchLike = globalThis.fetch as unknown as FetchLike): GitHubRequest {
  return async (route, parameters = {}) => {
    const [method = 'GET', template = ''] = route.split(' ');
    const rest: Record<string, unknown> = { ...parameters };
    const extraHeaders = (rest.headers as Record<string, string> | undefined) ?? {};
    delete rest.headers;
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = rest[name];
      delete rest[name];
      return encodeURIComponent(String(value));
    });
    const query = method === 'GET' ? Object.entries(rest).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&') : '';
    const response = await fetch(`${apiUrl}${path}${query ? `?${query}` : ''}`, {
      method,
      headers: { accept: 'application/vnd.github+json', authorization: `Bearer ${token}`, 'x-github-api-version': '2022-11-28', 'user-agent': 'signet-jobs', ...extraHeaders, ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}) },
      ...(method !== 'GET' ? { body: JSON.stringify(rest) } : {}),
    });
    const text = await response.text();
    let data: unknown = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    const headers: Record<string, unknown> = {};
    for (const name of ['etag', 'link', 'x-ratelimit-remaining']) {
      const value = response.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    if (response.status >= 400 || response.status === 304) {
      const message = typeof data === 'object' && data && 'message' in data ? String((data as { message: unknown }).message) : `HTTP ${response.status}`;
      throw Object.assign(new Error(`${method} ${path}: ${message}`), { status: response.status });
    }
    return { status: response.status, data, headers };
  };
}
