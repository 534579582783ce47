/**
 * The one check flow (src/checks/check-flow.ts) on its own, with a recording publisher and a
 * real SQLite store: whatever the forge, a claimed check is marked running and then always
 * completed; an error or a blown time budget is a failure that says so; a refused result is
 * retried as a plain failure; only when both are refused is the claim released. The GitHub and
 * GitLab adapters are this flow plus their publisher: test/e2e/checks/check-flow-forges.test.ts runs
 * the same cases through both, end to end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheckFlow, type CheckPublisher, type CheckRequest, type CheckSettings } from '../../../src/checks/check-flow.ts';
import { ForgeError } from '../../../src/forge/forge-error.ts';
import { ForgeHttpError } from '../../../src/forge/http-error.ts';
import type { SignatureReport } from '../../../src/forge/report.ts';
import { md } from '../../../src/core/render/markdown-text.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';

let dir: string;
let store: SignetStore;
let settings: CheckSettings;
let sequence = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'signet-flow-'));
  store = openSqliteStore(join(dir, 'signet.sqlite'));
  settings = { store, log: pino({ level: 'silent' }), instanceId: 'flow-test', leaseMs: 60_000, checkTimeoutMs: 200, now: () => new Date() };
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function request(forge: 'github' | 'gitlab'): CheckRequest {
  sequence++;
  return {
    forge,
    repositoryKey: `${forge}:o/r`,
    event: 'push',
    trigger: `t-${sequence}`,
    headSha: sequence.toString(16).padStart(40, 'a'),
    delivery: `d-${sequence}`,
  };
}

function recorder(refuse = 0): CheckPublisher & { calls: string[]; reports: SignatureReport[] } {
  const calls: string[] = [];
  const reports: SignatureReport[] = [];
  let refusals = refuse;
  return {
    calls,
    reports,
    async start() {
      calls.push('start');
      return '17';
    },
    async complete(report) {
      calls.push(`complete:${report.conclusion}`);
      if (refusals-- > 0) throw new Error('422 the body was refused');
      reports.push(report);
    },
  };
}

const success: SignatureReport = { conclusion: 'success', title: '1 commit meets the signing policy', summary: md`ok`, rows: [], refProblems: [] };

describe.each(['github', 'gitlab'] as const)('the check flow (%s)', (forge) => {
  it('claims, marks running, completes with the result, and a second claim of the same trigger posts nothing', async () => {
    const publisher = recorder();
    const req = request(forge);
    const outcome = await runCheckFlow(settings, req, publisher, async () => ({ report: success }));
    expect(outcome).toMatchObject({ status: 'posted', conclusion: 'success', postedId: '17' });
    expect(publisher.calls).toEqual(['start', 'complete:success']);
    const again = recorder();
    expect((await runCheckFlow(settings, req, again, async () => ({ report: success }))).status).toBe('duplicate');
    expect(again.calls).toEqual([]);
    const audit = await store.listAudit(req.repositoryKey, 2);
    expect(audit.map((a) => a.outcome)).toEqual(['skipped', 'success']);
    expect(audit[1]).toMatchObject({ forge });
  });

  it('an error while computing is a failure that says what broke, never a pass', async () => {
    const publisher = recorder();
    const outcome = await runCheckFlow(settings, request(forge), publisher, async () => {
      throw new ForgeError('fetch', 'cannot fetch refs/heads/x: HTTP 503');
    });
    expect(outcome).toMatchObject({ status: 'posted', conclusion: 'failure' });
    expect(publisher.reports[0]!.title).toBe('signet could not fetch the commits: cannot fetch refs/heads/x: HTTP 503');
  });

  it('an outage while computing is a failure titled "could not check, try again", with its code in the audit, never a pass', async () => {
    const publisher = recorder();
    const req = request(forge);
    const outcome = await runCheckFlow(settings, req, publisher, async () => {
      throw new ForgeError('api', 'listing the pull requests of abc: HTTP 502', { cause: new ForgeHttpError('FORGE_OUTAGE', 'HTTP 502', { status: 502 }) });
    });
    expect(outcome).toMatchObject({ status: 'posted', conclusion: 'failure' });
    expect(publisher.reports[0]!.title).toBe('signet could not talk to the forge API: listing the pull requests of abc: HTTP 502 — could not check, try again');
    expect(publisher.reports[0]!.summary).toContain('(`FORGE_OUTAGE`)');
    expect((await store.listAudit(req.repositoryKey, 1))[0]).toMatchObject({ outcome: 'error', detail: { code: 'FORGE_OUTAGE' } });
  });

  it('a forge down when marking "running": nothing posted, the failure is an outage (the webhook answers 503), the claim comes back', async () => {
    const req = request(forge);
    const down: CheckPublisher = {
      start: () => Promise.reject(new ForgeHttpError('FORGE_UNREACHABLE', 'POST /statuses: ECONNRESET')),
      complete: () => Promise.reject(new Error('never called')),
    };
    expect(await runCheckFlow(settings, req, down, async () => ({ report: success }))).toEqual({
      status: 'not-posted',
      failure: { code: 'FORGE_UNREACHABLE', kind: 'outage' },
    });
    expect((await runCheckFlow(settings, req, recorder(), async () => ({ report: success }))).status).toBe('posted');
  });

  it('a compute that outlives the budget completes as a failure naming SIGNET_CHECK_TIMEOUT_MS', async () => {
    const publisher = recorder();
    const outcome = await runCheckFlow(settings, request(forge), publisher, () => new Promise(() => {}));
    expect(outcome.conclusion).toBe('failure');
    expect(publisher.reports[0]!.title).toMatch(/^signet did not finish in time: the check took longer than .* \(SIGNET_CHECK_TIMEOUT_MS\)/);
  });

  it('a refused result is retried as a plain failure; both refused releases the claim so a redelivery can post', async () => {
    const once = recorder(1);
    expect((await runCheckFlow(settings, request(forge), once, async () => ({ report: success }))).status).toBe('posted');
    expect(once.calls).toEqual(['start', 'complete:success', 'complete:failure']);
    expect(once.reports[0]!.title).toMatch(/^signet could not post its result: 422 the body was refused/);

    const twice = recorder(2);
    const req = request(forge);
    expect((await runCheckFlow(settings, req, twice, async () => ({ report: success }))).status).toBe('not-posted');
    const redelivery = recorder();
    expect((await runCheckFlow(settings, req, redelivery, async () => ({ report: success }))).status).toBe('posted');
  });

  it('a forge that refuses "running" gets no result posted and the claim back', async () => {
    const req = request(forge);
    const refusing: CheckPublisher = {
      start: () => Promise.reject(new Error('403 resource not accessible')),
      complete: () => Promise.reject(new Error('unreachable')),
    };
    expect((await runCheckFlow(settings, req, refusing, async () => ({ report: success }))).status).toBe('not-posted');
    expect((await runCheckFlow(settings, req, recorder(), async () => ({ report: success }))).status).toBe('posted');
  });
});
