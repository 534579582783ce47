/**
 * The GitHub App during an outage (docs/architecture.md "Errors"): a check that could not be
 * judged because GitHub or the git endpoint did not answer is a failure that says "could not
 * check, try again", never a success; a delivery that left nothing posted — GitHub down when the
 * check run is created (its rate limit spent), the store unavailable — is answered 503 with Retry-After so it can be
 * redelivered. Same set-up as app-faults.test.ts: Probot's Server, a fake GitHub API, `git
 * http-backend`, a real SQLite store (closed in the last test: the store going away).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver } from '../../helpers/fake-github-webhooks.ts';
import { SECRET, startAppHarness, type AppHarness } from '../../helpers/fake-github-app.ts';
import { mallory } from '../../helpers/http-backend-repo.ts';

const FULL_NAME = 'octo-org/outage-repo';
let app: AppHarness;

beforeAll(async () => {
  app = await startAppHarness(FULL_NAME);
});

afterAll(async () => {
  await app?.stop();
});

describe('outages', () => {
  it('the git endpoint answering 502 is a failure check run that says "could not check, try again"; the delivery was handled (200)', async () => {
    const [oid] = app.repo.commit('git-down', 1, mallory, 'none');
    app.backend.failWith = 502;
    try {
      const response = await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/git-down', '0'.repeat(40), oid!));
      expect(response.status).toBe(200);
    } finally {
      app.backend.failWith = 0;
    }
    const run = app.runsFor(oid!).at(-1)!;
    expect(run.current).toMatchObject({ status: 'completed', conclusion: 'failure' });
    const output = run.current.output as { title: string; summary: string };
    expect(output.title).toMatch(/^signet could not fetch the commits: .* — could not check, try again$/);
    expect(output.title.length).toBeLessThanOrEqual(120);
    expect(output.summary).toContain('signet could not check: a service it needs did not answer (`FORGE_OUTAGE`). Nothing was verified and nothing passed.');
    expect((await app.store.listAudit(`github:${FULL_NAME}`, 1))[0]).toMatchObject({ outcome: 'error', detail: { code: 'FORGE_OUTAGE' } });
  });

  it('GitHub rate limit spent when the check run is created: nothing posted, 503 with Retry-After, a redelivery posts', async () => {
    // Probot waits out a primary rate limit once (app-faults.test.ts); spent again after the
    // wait, the delivery fails fast. (A 5xx is retried by Octokit for 14 s, past the 10 s in
    // which GitHub wants an answer: that delivery is answered 202 before the outage is known.)
    const [oid] = app.repo.commit('api-down', 1, mallory, 'none');
    const reset = String(Math.ceil(Date.now() / 1000) + 1);
    const fault = {
      method: 'POST',
      path: /\/check-runs$/,
      status: 403,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      body: { message: 'API rate limit exceeded' },
      times: 5,
    };
    app.github.faults.push(fault);
    const payload = app.pushPayload('refs/heads/api-down', '0'.repeat(40), oid!);
    let down;
    try {
      down = await deliver(app.hookUrl, SECRET, 'push', payload);
    } finally {
      if (app.github.faults.includes(fault)) app.github.faults.splice(app.github.faults.indexOf(fault), 1);
    }
    expect([down.status, down.retryAfter]).toEqual([503, '60']);
    expect(down.body).toContain('FORGE_RATE_LIMITED');
    expect(app.runsFor(oid!)).toEqual([]);
    const again = await deliver(app.hookUrl, SECRET, 'push', payload);
    expect([again.status, again.retryAfter]).toEqual([200, undefined]);
    expect(app.runsFor(oid!).map((run) => run.current.status)).toEqual(['completed']);
  }, 60_000);

  it('the store unavailable: nothing posted, 503 with Retry-After (STORE_UNAVAILABLE)', async () => {
    const [oid] = app.repo.commit('store-down', 1, mallory, 'none');
    await app.store.close();
    const response = await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/store-down', '0'.repeat(40), oid!));
    expect([response.status, response.retryAfter]).toEqual([503, '60']);
    expect(response.body).toContain('STORE_UNAVAILABLE');
    expect(app.runsFor(oid!)).toEqual([]);
  });
});
