import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitLabClient, projectDownloadScope } from '../../../src/forge/gitlab-client.ts';

/**
 * Release assets on GitLab are links, and a link (or a redirect from the GitLab host) may point
 * at another host. The token must reach the GitLab host only: two real HTTP servers on
 * 127.0.0.1, on two ports (two origins), record what each was sent.
 */
describe('GitLab downloads: the token stays on the GitLab host', () => {
  const TOKEN = 'glpat-test-token-never-elsewhere';
  const HEX = '0123456789abcdef0123456789abcdef';
  const seen: Array<{ server: string; path: string; headers: IncomingHttpHeaders; method: string }> = [];
  let gitlab: Server;
  let other: Server;
  let gitlabUrl = '';
  let otherUrl = '';

  const listen = async (
    name: string,
    handler: (path: string, respond: (status: number, headers?: Record<string, string>, body?: string) => void) => void,
  ): Promise<Server> => {
    const server = createServer((request, response) => {
      seen.push({ server: name, path: request.url ?? '', headers: request.headers, method: request.method ?? '' });
      request.resume();
      handler(request.url ?? '', (status, headers = {}, body = '') => response.writeHead(status, headers).end(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  };

  beforeAll(async () => {
    other = await listen('other', (path, respond) => {
      if (path === '/asset') return respond(200, { 'content-type': 'application/octet-stream' }, 'asset bytes');
      if (path === '/back-home') return respond(302, { location: `${gitlabUrl}/api/v4/final` });
      return respond(404);
    });
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    gitlab = await listen('gitlab', (path, respond) => {
      if (path === '/api/v4/to-other') return respond(302, { location: `${otherUrl}/asset` });
      if (path === '/api/v4/round-trip') return respond(302, { location: `${otherUrl}/back-home` });
      if (path === '/api/v4/final') return respond(200, {}, 'home again');
      if (path === '/api/v4/loop') return respond(302, { location: '/api/v4/loop' });
      if (path === '/api/v4/post-redirect') return respond(307, { location: `${otherUrl}/asset` });
      if (path === `/-/project/1/uploads/${HEX}/own.bin`) return respond(302, { location: `/-/project/2/uploads/${HEX}/theirs.bin` });
      if (path === `/-/project/2/uploads/${HEX}/theirs.bin`) return respond(200, {}, 'their bytes');
      return respond(404);
    });
    gitlabUrl = `http://127.0.0.1:${(gitlab.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await Promise.all([gitlab, other].map((server) => new Promise((resolve) => server.close(resolve))));
  });

  /** The one GitLab client, without retries (each request here is counted). */
  const client = () => gitLabClient({ baseUrl: gitlabUrl, token: TOKEN, retryDelaysMs: [] });

  const tokensSentTo = (server: string): Array<string | undefined> =>
    seen.filter((request) => request.server === server).map((request) => request.headers['private-token'] as string | undefined);

  it("does not follow an API redirect to another host: what it answers is not GitLab's word (issue 16)", async () => {
    seen.length = 0;
    const error = await client()
      .request('/to-other')
      .then(
        () => undefined,
        (caught: Error) => caught,
      );
    expect(error).toMatchObject({ code: 'FORGE_REJECTED', message: `GET /api/v4/to-other: HTTP 302 to ${otherUrl}, off the GitLab API: not followed` });
    expect(tokensSentTo('gitlab')).toEqual([TOKEN]);
    expect(tokensSentTo('other')).toEqual([]);
  });

  it('a download follows a redirect to another host without the token, and gives it again only back on the GitLab host', async () => {
    seen.length = 0;
    const response = await client().download(`${gitlabUrl}/api/v4/round-trip`, () => true);
    expect(await response.text()).toBe('home again');
    expect(seen.map((request) => `${request.server} ${request.path} ${request.headers['private-token'] ? 'token' : 'none'}`)).toEqual([
      'gitlab /api/v4/round-trip token',
      'other /back-home none',
      'gitlab /api/v4/final token',
    ]);
  });

  it('sends no token to a link that points at another host in the first place', async () => {
    seen.length = 0;
    expect(await (await client().download(`${otherUrl}/asset`, () => true)).text()).toBe('asset bytes');
    expect(tokensSentTo('other')).toEqual([undefined]);
  });

  it('stops after five redirects with an error that names no token', async () => {
    seen.length = 0;
    const error = await client()
      .request('/loop')
      .then(
        () => undefined,
        (caught: Error) => caught,
      );
    expect(error?.message).toBe('GET /api/v4/loop: HTTP 302');
    expect(error?.message).not.toContain(TOKEN);
    expect(seen).toHaveLength(6);
  });

  it('does not follow a redirect of a POST (a body is never re-sent elsewhere)', async () => {
    seen.length = 0;
    const error = await client()
      .request('/post-redirect', { method: 'POST', text: 'payload' })
      .then(
        () => undefined,
        (caught: Error) => caught,
      );
    expect(error?.message).toBe('POST /api/v4/post-redirect: HTTP 307');
    expect(tokensSentTo('other')).toEqual([]);
  });

  it("judges each hop of a release download: an own upload that redirects to another project's upload loses the token there", async () => {
    seen.length = 0;
    const response = await client().download(`${gitlabUrl}/-/project/1/uploads/${HEX}/own.bin`, projectDownloadScope(gitlabUrl, 1, 'group/own'));
    expect(await response.text()).toBe('their bytes');
    expect(seen.map((request) => `${request.path} ${request.headers['private-token'] ? 'token' : 'none'}`)).toEqual([
      `/-/project/1/uploads/${HEX}/own.bin token`,
      `/-/project/2/uploads/${HEX}/theirs.bin none`,
    ]);
  });
});

describe('which release downloads may carry the GitLab token', () => {
  const base = 'https://gitlab.example/gl';
  const mayCarry = projectDownloadScope(base, 1, 'group/own');
  const HEX = 'fedcba9876543210fedcba9876543210';
  it.each([
    [`${base}/-/project/1/uploads/${HEX}/tool.bin`, true],
    [`${base}/group/own/uploads/${HEX}/tool.bin`, true],
    [`${base}/api/v4/projects/1/packages/generic/tool/1.0/tool.bin`, true],
    [`${base}/-/project/12/uploads/${HEX}/tool.bin`, false],
    [`${base}/-/project/2/uploads/${HEX}/tool.bin`, false],
    [`${base}/group/own-fork/uploads/${HEX}/tool.bin`, false],
    [`${base}/-/project/1/uploads/${HEX}/%2e%2e%2f%2e%2e%2f2/x`, false],
    [`${base}/-/project/1/uploads/${HEX}/..%2F..%2F2/x`, false],
    [`${base}/api/v4/projects/1/packages/../../2/repository/files/x/raw`, false],
    [`${base}/api/v4/projects/1/repository/files/secret/raw`, false],
    [`${base}/-/project/1/uploads/not-hex/tool.bin`, false],
    [`https://gitlab.example/-/project/1/uploads/${HEX}/tool.bin`, false],
  ])('%s → %s', (url, expected) => {
    expect(mayCarry(new URL(url))).toBe(expected);
  });
});
