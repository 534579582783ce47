/**
 * The one HTTP client for GitHub's REST API where Probot's Octokit is not at hand (the jobs,
 * with a token from their configuration): an Octokit-style `request(route, parameters)`, so
 * the calls in github-api.ts run unchanged over either. It owns the token and where it may go
 * (the configured API origin only, redirects judged hop by hop), retries of idempotent calls
 * after an outage, and its errors are ForgeHttpErrors that carry `status` as Octokit's do.
 */
import type { GitHubRequest } from './github-api.ts';
import { IDEMPOTENT, MAX_REDIRECTS, sendHop, withRetries, type ForgeClientOptions } from './forge-http.ts';
import { codeOfStatus, ForgeHttpError } from './http-error.ts';

export interface GitHubClientOptions extends ForgeClientOptions {
  /** e.g. https://api.github.com, https://ghe.example/api/v3 */
  apiUrl: string;
  userAgent?: string;
}
/** Response headers callers read (ETags for conditional reads, Link for pages, the rate limit). */
const KEPT_HEADERS = ['etag', 'link', 'x-ratelimit-remaining', 'content-length'];

export function gitHubClient(options: GitHubClientOptions): GitHubRequest {
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const origin = new URL(apiUrl).origin;
  const doFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const retryDelays = options.retryDelaysMs ?? [250, 1000];
  const timeoutMs = options.timeoutMs ?? 60_000;

  const once = async (
    method: string,
    first: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<{ status: number; data: unknown; headers: Record<string, unknown> }> => {
    const signal = AbortSignal.timeout(timeoutMs);
    let url = new URL(first);
    for (let hops = 0; ; hops++) {
      const sent = new Headers(headers);
      // The token goes to the configured API origin only; a redirect elsewhere is followed without it.
      if (url.origin === origin && !url.username && !url.password) sent.set('authorization', `Bearer ${options.token}`);
      const where = url.origin === origin ? `${method} ${url.pathname}` : `${method} ${url.origin}`;
      const response = await sendHop(doFetch, url, { method, headers: sent, signal, ...(body !== undefined ? { body } : {}) }, where, 'GitHub', timeoutMs);
      const location = response.headers.get('location');
      if (
        response.status >= 300 &&
        response.status < 400 &&
        response.status !== 304 &&
        location &&
        (method === 'GET' || method === 'HEAD') &&
        hops < MAX_REDIRECTS
      ) {
        await response.body?.cancel();
        url = new URL(location, url);
        continue;
      }
      const text = await response.text();
      let data: unknown = text;
      try {
        data = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      const kept: Record<string, unknown> = {};
      for (const name of KEPT_HEADERS) {
        const value = response.headers.get(name);
        if (value !== null) kept[name] = value;
      }
      // 304 is thrown as Octokit throws it: conditional readers catch it and use their cache.
      if (response.status >= 300) {
        const message =
          typeof data === 'object' && data && 'message' in data ? String((data as { message: unknown }).message).split('\n')[0] : `HTTP ${response.status}`;
        const code = response.status < 400 ? 'FORGE_REJECTED' : codeOfStatus(response.status, response.headers);
        throw new ForgeHttpError(code, `${where}: HTTP ${response.status} ${message}`.slice(0, 300), { status: response.status });
      }
      return { status: response.status, data, headers: kept };
    }
  };

  return async (route, parameters = {}) => {
    const [method = 'GET', template = ''] = route.split(' ');
    const rest: Record<string, unknown> = { ...parameters };
    const extraHeaders = (rest.headers as Record<string, string> | undefined) ?? {};
    delete rest.headers;
    delete rest.request;
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = rest[name];
      delete rest[name];
      return encodeURIComponent(String(value));
    });
    const url = path.startsWith('http') ? path : `${apiUrl}${path}`;
    if (new URL(url).origin !== origin)
      throw new ForgeHttpError(
        'FORGE_REJECTED',
        `${method} ${new URL(url).origin}: not the configured GitHub API (${origin}); signet sends its token nowhere else`,
      );
    const hasBody = method !== 'GET' && method !== 'HEAD' && method !== 'DELETE';
    const query = hasBody
      ? ''
      : Object.entries(rest)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&');
    const headers = {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': options.userAgent ?? 'signet',
      ...extraHeaders,
      ...(hasBody ? { 'content-type': 'application/json' } : {}),
    };
    const target = `${url}${query ? `${url.includes('?') ? '&' : '?'}${query}` : ''}`;
    return withRetries(retryDelays, IDEMPOTENT.has(method), () => once(method, target, headers, hasBody ? JSON.stringify(rest) : undefined));
  };
}
