/**
 * The one client per forge (src/forge/github-client.ts, src/forge/gitlab-client.ts), as the jobs
 * and /sign-release use it, against a real HTTP server on 127.0.0.1 that answers as told and
 * records what it was sent: error codes that tell an outage from a refusal, retries of
 * idempotent calls only, the token only to the configured origin.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gitHubClient } from '../../../src/forge/github-client.ts';
import { gitLabClient } from '../../../src/forge/gitlab-client.ts';
import { ForgeHttpError } from '../../../src/forge/http-error.ts';
import { freePort } from '../../helpers/postgres.ts';

type Answer = { status: number; headers?: Record<string, string>; body?: string };

const TOKEN = 'forge-token-never-elsewhere';
let forge: Server;
let other: Server;
let forgeUrl = '';
let otherUrl = '';
/** What each path answers next (the last one repeats). */
let script = new Map<string, Answer[]>();
const seen: Array<{ server: string; method: string; path: string; headers: IncomingHttpHeaders }> = [];

async function listen(name: string): Promise<[Server, string]> {
  const server = createServer((req, res) => {
    seen.push({ server: name, method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    req.resume();
    const answers = script.get(`${name} ${req.url}`) ?? [{ status: 404, body: '{"message":"Not Found"}' }];
    const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return [server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`];
}

beforeAll(async () => {
  [forge, forgeUrl] = await listen('forge');
  [other, otherUrl] = await listen('other');
});
afterAll(async () => {
  await Promise.all([forge, other].map((server) => new Promise((resolve) => server.close(resolve))));
});
beforeEach(() => {
  script = new Map();
  seen.length = 0;
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as ForgeHttpError,
  );
const tokensAt = (server: string) => seen.filter((r) => r.server === server).map((r) => r.headers.authorization ?? r.headers['private-token']);

const CLIENTS = [
  {
    name: 'GitHub',
    path: (p: string) => p,
    get: (path: string, delays: number[] = [1, 1]) => gitHubClient({ apiUrl: forgeUrl, token: TOKEN, retryDelaysMs: delays })(`GET ${path}`),
    post: (path: string) => gitHubClient({ apiUrl: forgeUrl, token: TOKEN, retryDelaysMs: [1, 1] })(`POST ${path}`, { body: 'x' }),
    sentToken: `Bearer ${TOKEN}`,
  },
  {
    name: 'GitLab',
    path: (p: string) => `/api/v4${p}`,
    get: (path: string, delays: number[] = [1, 1]) => gitLabClient({ baseUrl: forgeUrl, token: TOKEN, retryDelaysMs: delays }).json(path),
    post: (path: string) => gitLabClient({ baseUrl: forgeUrl, token: TOKEN, retryDelaysMs: [1, 1] }).request(path, { method: 'POST', json: { body: 'x' } }),
    sentToken: TOKEN,
  },
];

describe.each(CLIENTS)('the $name client', (client) => {
  it('retries an outage of a GET and succeeds', async () => {
    script.set(`forge ${client.path('/thing')}`, [{ status: 503 }, { status: 502 }, { status: 200, body: '{"ok":true}' }]);
    const result = await client.get('/thing');
    expect(JSON.stringify(result)).toContain('"ok":true');
    expect(seen).toHaveLength(3);
  });

  it('an outage that lasts is FORGE_OUTAGE, retryable; a dead host is FORGE_UNREACHABLE', async () => {
    script.set(`forge ${client.path('/down')}`, [{ status: 500 }]);
    const outage = await failure(client.get('/down'));
    expect(outage).toBeInstanceOf(ForgeHttpError);
    expect([outage?.code, outage?.retryable, outage?.status]).toEqual(['FORGE_OUTAGE', true, 500]);
    expect(seen).toHaveLength(3);
    const deadUrl = `http://127.0.0.1:${await freePort()}`;
    const dead = await failure(
      client.name === 'GitHub'
        ? gitHubClient({ apiUrl: deadUrl, token: TOKEN, retryDelaysMs: [] })('GET /x')
        : gitLabClient({ baseUrl: deadUrl, token: TOKEN, retryDelaysMs: [] }).json('/x'),
    );
    expect([dead?.code, dead?.retryable]).toEqual(['FORGE_UNREACHABLE', true]);
    expect(dead?.message).not.toContain(TOKEN);
  });

  it('a refusal is not retried and says which: 401 unauthorized, 404 not found, 429 rate limited', async () => {
    script.set(`forge ${client.path('/denied')}`, [{ status: 401, body: '{"message":"Bad credentials"}' }]);
    script.set(`forge ${client.path('/missing')}`, [{ status: 404 }]);
    expect((await failure(client.get('/denied')))?.code).toBe('FORGE_UNAUTHORIZED');
    expect((await failure(client.get('/missing')))?.code).toBe('FORGE_NOT_FOUND');
    expect(seen).toHaveLength(2);
    script.set(`forge ${client.path('/busy')}`, [{ status: 429 }]);
    expect((await failure(client.get('/busy', [])))?.code).toBe('FORGE_RATE_LIMITED');
  });

  it('does not repeat a POST after an outage (the forge may have done it)', async () => {
    script.set(`forge ${client.path('/notes')}`, [{ status: 502 }]);
    expect((await failure(client.post('/notes')))?.code).toBe('FORGE_OUTAGE');
    expect(seen).toHaveLength(1);
  });

  it('never sends the token to another host a redirect names (GitHub follows without it; the GitLab API does not follow, issue 16)', async () => {
    script.set(`forge ${client.path('/moved')}`, [{ status: 302, headers: { location: `${otherUrl}/elsewhere` } }]);
    script.set('other /elsewhere', [{ status: 200, body: '{"there":1}' }]);
    if (client.name === 'GitHub') {
      await client.get('/moved');
      expect(tokensAt('other')).toEqual([undefined]);
    } else {
      expect((await failure(client.get('/moved')))?.code).toBe('FORGE_REJECTED');
      expect(tokensAt('other')).toEqual([]);
    }
    expect(tokensAt('forge')).toEqual([client.sentToken]);
  });
});

it('the GitHub client refuses a route on another origin instead of sending it the token', async () => {
  const error = await failure(gitHubClient({ apiUrl: forgeUrl, token: TOKEN })(`POST ${otherUrl}/upload`, { name: 'x' }));
  expect(error?.code).toBe('FORGE_REJECTED');
  expect(seen).toEqual([]);
});

it('the GitLab client reads every page a list has (x-next-page), and refuses a list longer than its bound', async () => {
  for (let page = 1; page <= 3; page++)
    script.set(`forge /api/v4/items?per_page=100&page=${page}`, [
      {
        status: 200,
        headers: { 'x-next-page': page < 3 ? String(page + 1) : '' },
        body: JSON.stringify(Array.from({ length: page < 3 ? 100 : 7 }, (_, i) => page * 1000 + i)),
      },
    ]);
  const client = gitLabClient({ baseUrl: forgeUrl, token: TOKEN });
  expect(await client.list<number>('/items')).toHaveLength(207);
  expect((await failure(client.list('/items', 2)))?.code).toBe('FORGE_TOO_LARGE');
});
