/**
 * The one HTTP client for GitLab's REST API and for downloads from GitLab: it owns the token
 * and where it may go, retries, pagination and limits. PRIVATE-TOKEN goes only to the
 * configured GitLab origin: to the API, and for downloads only to what `tokenFor` allows (the
 * event's own project uploads and packages, see projectDownloadScope). Redirects are followed
 * here, not by fetch, so each hop is judged on its own: an API call follows only redirects
 * that stay on the API (what it answers is believed), a download follows any. Errors are ForgeHttpErrors.
 */
import { IDEMPOTENT, MAX_REDIRECTS, sendHop, withRetries, type ForgeClientOptions } from './forge-http.ts';
import { codeOfStatus, ForgeHttpError } from './http-error.ts';

export interface GitLabClientOptions extends ForgeClientOptions {
  /** The configured GitLab URL, e.g. https://gitlab.example.com (a relative root is kept). */
  baseUrl: string;
}

export interface GitLabRequestInit {
  method?: string;
  /** JSON body. */
  json?: unknown;
  /** multipart body (a project upload). */
  form?: FormData;
  /** A body as it is. */
  text?: string;
  timeoutMs?: number;
  /** A POST that may be repeated after an outage because repeating it changes nothing (a commit status: the last one per name stands). */
  idempotent?: boolean;
}

export interface GitLabClient {
  readonly baseUrl: string;
  /** A REST call (`path` under /api/v4) with the token; non-2xx is a ForgeHttpError. */
  request(path: string, init?: GitLabRequestInit): Promise<Response>;
  json<T>(path: string, init?: GitLabRequestInit): Promise<T>;
  /** Every item of a list, page by page as GitLab documents (x-next-page), at most `maxPages` of 100. */
  list<T>(path: string, maxPages?: number): Promise<T[]>;
  /** A GET of any URL; the token only on hops `tokenFor` allows. */
  download(url: string, tokenFor: (url: URL) => boolean, timeoutMs?: number): Promise<Response>;
}

export function gitLabClient(options: GitLabClientOptions): GitLabClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const origin = new URL(baseUrl).origin;
  const apiPrefix = `${new URL(baseUrl).pathname.replace(/\/+$/, '')}/api/v4/`;
  const doFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const retryDelays = options.retryDelaysMs ?? [250, 1000];
  const apiTimeout = options.timeoutMs ?? 60_000;
  /** The API of the configured GitLab: the token's home. */
  const isApi = (url: URL) => url.origin === origin && url.pathname.startsWith(apiPrefix) && !url.username && !url.password;

  /** One exchange, redirects judged hop by hop; the token only where `tokenFor` says. */
  const exchange = async (
    first: string,
    init: GitLabRequestInit & { headers?: Record<string, string> },
    tokenFor: (url: URL) => boolean,
    timeoutMs: number,
    /** Where a redirect may lead; elsewhere the exchange is refused, unread. */
    mayFollow: (url: URL) => boolean = () => true,
  ): Promise<Response> => {
    const method = init.method ?? 'GET';
    const signal = AbortSignal.timeout(timeoutMs);
    let url = new URL(first);
    for (let hops = 0; ; hops++) {
      const headers = new Headers(init.headers);
      if (tokenFor(url)) headers.set('private-token', options.token);
      let body: string | FormData | undefined = init.form ?? init.text;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      const where = url.origin === origin ? `${method} ${url.pathname}` : `${method} ${url.origin}`;
      const response = await sendHop(doFetch, url, { method, headers, signal, ...(body !== undefined ? { body } : {}) }, where, 'GitLab', timeoutMs);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location && (method === 'GET' || method === 'HEAD') && hops < MAX_REDIRECTS) {
        await response.body?.cancel();
        const next = new URL(location, url);
        if (!mayFollow(next))
          throw new ForgeHttpError('FORGE_REJECTED', `${where}: HTTP ${response.status} to ${next.origin}, off the GitLab API: not followed`, {
            status: response.status,
          });
        url = next;
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new ForgeHttpError(
          response.status >= 300 && response.status < 400 ? 'FORGE_REJECTED' : codeOfStatus(response.status, response.headers),
          `${where}: HTTP ${response.status}`,
          { status: response.status },
        );
      }
      return response;
    }
  };

  const request = (path: string, init: GitLabRequestInit = {}): Promise<Response> =>
    // A POST is not repeated (GitLab may have done it: a second note, a second upload) unless the call says repeating changes nothing.
    withRetries(retryDelays, IDEMPOTENT.has(init.method ?? 'GET') || init.idempotent === true, () =>
      // An API answer is GitLab's word (a policy file, a user's keys) only when GitLab's API gives it: a redirect off the API is not followed.
      exchange(`${baseUrl}/api/v4${path}`, { ...init, headers: { accept: 'application/json' } }, isApi, init.timeoutMs ?? apiTimeout, isApi),
    );

  return {
    baseUrl,
    request,
    async json<T>(path: string, init?: GitLabRequestInit): Promise<T> {
      return (await (await request(path, init)).json()) as T;
    },
    async list<T>(path: string, maxPages = 100): Promise<T[]> {
      const items: T[] = [];
      const separator = path.includes('?') ? '&' : '?';
      for (let page = 1; page <= maxPages;) {
        const response = await request(`${path}${separator}per_page=100&page=${page}`);
        const data = (await response.json()) as unknown;
        if (!Array.isArray(data)) throw new ForgeHttpError('FORGE_REJECTED', `GET ${path}: not a list`);
        items.push(...(data as T[]));
        // GitLab names the next page (x-next-page, empty on the last); without the header, a short page is the last.
        const next = response.headers.get('x-next-page');
        if (next === null ? data.length < 100 : next === '') return items;
        page = next === null ? page + 1 : Number(next);
        if (!Number.isSafeInteger(page) || page <= 1)
          throw new ForgeHttpError('FORGE_REJECTED', `GET ${path}: x-next-page "${next}" is not a page after this one`);
      }
      throw new ForgeHttpError('FORGE_TOO_LARGE', `GET ${path}: more than ${maxPages * 100} items`);
    },
    download: (url, tokenFor, timeoutMs = 30 * 60_000) =>
      exchange(new URL(url, baseUrl).href, {}, (hop) => hop.origin === origin && !hop.username && !hop.password && tokenFor(hop), timeoutMs),
  };
}

/**
 * Where a release download of project `id` (path `path`) may carry the token: the project's
 * own uploads (`/-/project/ID/uploads/SECRET/FILE`, the older `/PATH/uploads/SECRET/FILE`) and
 * its package files (`/api/v4/projects/ID/packages/…`). Anything else on the GitLab host — an
 * upload of another project, a page, a permalink — is fetched without the token: what the
 * commenter's project links to must not be read with the bot's rights on other projects.
 */
export function projectDownloadScope(baseUrl: string, projectId: number, projectPath: string): (url: URL) => boolean {
  const root = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const allowed = [
    new RegExp(`^${escape(root)}/-/project/${projectId}/uploads/[0-9a-f]{32}/[^/]+$`),
    new RegExp(`^${escape(root)}/${escape(projectPath)}/uploads/[0-9a-f]{32}/[^/]+$`, 'i'),
    new RegExp(`^${escape(root)}/api/v4/projects/${projectId}/packages/`),
  ];
  return (url) => !/%2e|%2f|%5c|\/\.\.?(?:\/|$)/i.test(url.pathname) && allowed.some((pattern) => pattern.test(url.pathname));
}
