/**
 * The GitHub App when things go wrong: no policy or a broken one, API faults (5xx, rate
 * limits), the git endpoint down, malformed and forged deliveries. Same set-up as
 * app-github.test.ts: Probot's Server, a fake GitHub API, `git http-backend`.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitCache } from '../../../src/forge/git-cache.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver, example, retarget } from '../../helpers/fake-github-webhooks.ts';
import { SECRET, startAppHarness, type AppHarness } from '../../helpers/fake-github-app.ts';
import { DEFAULT_POLICY, mallory } from '../../helpers/http-backend-repo.ts';

const FULL_NAME = 'octo-org/faulty-repo';
let app: AppHarness;

beforeAll(async () => {
  app = await startAppHarness(FULL_NAME);
});

afterAll(async () => {
  await app?.stop();
});

describe('no policy, a broken policy', () => {
  it('is neutral "no policy configured" without .github/signet.yml, and a failure naming the field when malformed', async () => {
    const noPolicy = app.repo.setPolicy(undefined);
    const [a] = app.repo.commit('np', 1, mallory, 'none', noPolicy);
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/np', '0'.repeat(40), a!));
    expect(app.runsFor(a!).at(-1)!.current).toMatchObject({ conclusion: 'neutral', output: { title: 'no policy configured' } });

    app.repo.setPolicy('version: 1\nrules:\n  - refs: [refs/heads/main]\n    accept: [Q]\n');
    const [b] = app.repo.commit('np', 1, mallory, 'none');
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/np', a!, b!));
    const run = app.runsFor(b!).at(-1)!;
    expect(run.current.conclusion).toBe('failure');
    expect((run.current.output as { title: string }).title).toMatch(/^signet could not read the policy: .*accept/);
    app.repo.setPolicy(DEFAULT_POLICY);
  });
});

describe('faults', () => {
  it('retries a 5xx from the API and still posts', async () => {
    const [oid] = app.repo.commit('retry', 1, mallory, 'none');
    app.github.faults.push({ method: 'POST', path: /\/check-runs$/, status: 502 });
    const response = await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/retry', '0'.repeat(40), oid!));
    expect(response.status).toBe(200);
    expect(
      app.github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/check-runs') && (r.body as { head_sha?: string })?.head_sha === oid),
    ).toHaveLength(2);
    expect(app.runsFor(oid!)).toHaveLength(1);
    expect(app.runsFor(oid!)[0]!.current.status).toBe('completed');
  });

  it('waits out a primary rate limit reply and completes', async () => {
    const [oid] = app.repo.commit('ratelimit', 1, mallory, 'none');
    const reset = Math.ceil(Date.now() / 1000) + 1;
    app.github.faults.push({
      method: 'GET',
      path: /\/contents\/\.github\/signet\.yml$/,
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      body: { message: 'API rate limit exceeded' },
    });
    const response = await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/ratelimit', '0'.repeat(40), oid!));
    expect(response.status).toBe(200);
    expect(app.runsFor(oid!)[0]!.current.conclusion).toBe('neutral');
    expect(app.github.requests.filter((r) => r.path.endsWith('/contents/.github/signet.yml')).length).toBeGreaterThanOrEqual(2);
  });

  it('a fetch failure (git endpoint down) becomes a failure check run that says what broke', async () => {
    const [oid] = app.repo.commit('down', 1, mallory, 'none');
    app.backend.failWith = 503;
    try {
      const response = await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/down', '0'.repeat(40), oid!));
      expect(response.status).toBe(200);
    } finally {
      app.backend.failWith = 0;
    }
    const run = app.runsFor(oid!).at(-1)!;
    expect(run.current).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect((run.current.output as { title: string }).title).toMatch(/^signet could not fetch the commits: cannot fetch refs\/heads\/down/);
    expect((run.current.output as { summary: string }).summary).toMatch(
      /^\*\*signet could not fetch the commits: cannot fetch refs\/heads\/down.* from http\\?:\/\/127\.0\.0\.1:\d+\/octo-org\/faulty-repo\.git: HTTP 503/,
    );
    const audit = await app.store.listAudit(`github:${FULL_NAME}`, 1);
    expect(audit[0]).toMatchObject({ outcome: 'error', headSha: oid });
  });

  it('a well-signed but malformed payload gets a 2xx and posts nothing', async () => {
    const writes = app.github.requests.filter((r) => r.method !== 'GET').length;
    const response = await deliver(app.hookUrl, SECRET, 'pull_request', { action: 'opened', number: 'x', repository: { full_name: 42 } });
    expect(response.status).toBe(200);
    const junk = await deliver(app.hookUrl, SECRET, 'push', { ...retarget(example('push'), app.info()), after: 'not-a-sha' });
    expect(junk.status).toBe(200);
    expect(app.github.requests.filter((r) => r.method !== 'GET').length).toBe(writes);
  });

  it('a wrong signature gets a 4xx and changes nothing; so does a body that is not JSON', async () => {
    const before = app.github.requests.length;
    const forged = await deliver(app.hookUrl, 'not-the-secret', 'pull_request', app.pullPayload('opened', 2, app.repo.heads['feature-bad'], 'feature-bad'));
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
    const garbage = await deliver(app.hookUrl, SECRET, 'push', undefined, { rawBody: '{not json' });
    expect(garbage.status).toBeGreaterThanOrEqual(400);
    expect(garbage.status).toBeLessThan(500);
    expect(app.github.requests.length).toBe(before);
  });

  it('a git endpoint that never answers is cut off by the fetch budget, and the error says so', async () => {
    const root = mkdtempSync(join(tmpdir(), 'signet-hang-'));
    const cache = new GitCache({ root, timeoutMs: 800 });
    app.backend.hang = true;
    const started = Date.now();
    try {
      await expect(cache.sync({ key: 'hang', url: app.info().cloneUrl, refs: ['refs/heads/main'], wants: [app.repo.heads.main] })).rejects.toMatchObject({
        stage: 'timeout',
        message: expect.stringMatching(/^cannot fetch refs\/heads\/main from http:\/\/127\.0\.0\.1:\d+\/octo-org\/faulty-repo\.git: no answer within 1 s$/),
      });
    } finally {
      app.backend.hang = false;
      rmSync(root, { recursive: true, force: true });
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('installation events are recorded; an uninstall drops the repository cache', async () => {
    const deleted = example('installation', 'deleted');
    deleted.installation = { ...(deleted.installation as object), id: 77 };
    deleted.repositories = [{ full_name: FULL_NAME, name: 'faulty-repo' }];
    const cacheDir = app.server.deps.gitCache.directoryOf(`github:${FULL_NAME}`);
    expect(existsSync(cacheDir)).toBe(true);
    expect((await deliver(app.hookUrl, SECRET, 'installation', deleted)).status).toBe(200);
    expect(existsSync(cacheDir)).toBe(false);
    expect((await app.store.listAudit(`github:${FULL_NAME}`, 1))[0]).toMatchObject({ event: 'installation.deleted', outcome: 'recorded' });
  });

  it('answers /healthz', async () => {
    const response = await fetch(`${app.server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', store: 'sqlite' });
  });
});
