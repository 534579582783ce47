import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../../src/core/report/types.ts';
import { dashboardHandler } from '../../../src/dashboard/handler.ts';
import type { JobEnvironment } from '../../../src/jobs/context.ts';
import { parseJobsConfig } from '../../../src/jobs/config.ts';
import type { ExpiryFindingData } from '../../../src/jobs/key-expiry.ts';
import { fileJobState } from '../../../src/jobs/ports.ts';
import { runJob } from '../../../src/jobs/run-job.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { startAppProcess, type AppProcess } from '../../helpers/app-process.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { freePort } from '../../helpers/postgres.ts';
import { withoutForgeSettings } from '../../helpers/setup-page.ts';
import { buildReportHistory, type ReportHistory } from '../../helpers/report-history.ts';
import { commitFile } from '../../helpers/signing-keys.ts';

const TOKEN = 'operator-secret-token';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * The dashboard as an operator sees it: real data (a generated history in a bare repository
 * with the hook installed and a rejected push, the compliance-report and key-expiry jobs, the
 * app's audit rows in SQLite), served by the app on its own port under /signet/ (`node
 * dist/app.mjs` with SIGNET_JOBS_CONFIG and the operators' token), opened in Debian's headless
 * Chromium with JavaScript off. The numbers on the page are checked against the jobs' data.
 */
describe('dashboard in headless Chromium', () => {
  const dir = tempDir('dashboard');
  let h: ReportHistory;
  let bare: string;
  let store: SignetStore;
  let storeClosed = false;
  let app: AppProcess;
  const appEnv = () => ({
    ...withoutForgeSettings(process.env),
    HOST: '127.0.0.1',
    APP_ID: '7',
    PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    WEBHOOK_SECRET: 'github-hook-secret',
    SIGNET_SQLITE_PATH: join(dir.path, 'app.sqlite'),
    SIGNET_CACHE_DIR: join(dir.path, 'cache'),
  });
  let url: string;
  let browser: Browser;
  let report: ComplianceReport;
  let expiring: ExpiryFindingData[];
  let rejectedSha: string;

  beforeAll(async () => {
    h = buildReportHistory(dir.path, 5);
    bare = join(dir.path, 'server.git');
    git(dir.path, ['clone', '-q', '--bare', h.worktree, bare]);
    const install = spawnSync(
      process.execPath,
      [join(process.cwd(), 'bin/signet.js'), 'hook', 'install', '--repo', bare, '--policy', h.keys.policy, '--script'],
      { encoding: 'utf8' },
    );
    expect(install.status).toBe(0);
    // An unsigned push to the protected branch: the hook rejects it and writes its audit line.
    rejectedSha = commitFile(h.worktree, 'unsigned.txt', 'x\n', 'unsigned change', { email: 'nobody@example.com' });
    const push = spawnSync('git', ['push', bare, 'HEAD:refs/heads/main'], { cwd: h.worktree, encoding: 'utf8' });
    expect(push.status).toBe(1);

    store = openSqliteStore(join(dir.path, 'app.sqlite'));
    const now = Date.now();
    const at = (msAgo: number) => new Date(now - msAgo).toISOString();
    await store.appendAudit({
      at: at(3_600_000),
      forge: 'github',
      repository: 'github:acme/history',
      event: 'pull_request.synchronize',
      delivery: 'd1',
      headSha: 'c'.repeat(40),
      outcome: 'failure',
      detail: { summary: '2 commits not signed by a registry key' },
    });
    await store.appendAudit({
      at: at(1_800_000),
      forge: 'github',
      repository: 'github:acme/history',
      event: 'push',
      delivery: 'd2',
      headSha: 'd'.repeat(40),
      outcome: 'success',
    });
    await store.appendAudit({
      at: at(40 * 86_400_000),
      forge: 'github',
      repository: 'github:acme/history',
      event: 'push',
      delivery: 'd0',
      headSha: 'e'.repeat(40),
      outcome: 'failure',
    });

    const yaml = `state_dir: state
repositories:
  - name: github:acme/history
    path: ${bare}
    policy: ${h.keys.policy}
    forge: { type: github, project: acme/history, token_env: UNUSED }
jobs:
  key-expiry: { within_days: 800 }
  compliance-report: { period_days: 1500 }
dashboard: { token_env: OPS_TOKEN, user: ops }
`;
    writeFileSync(join(dir.path, 'jobs.yml'), yaml);
    const config = parseJobsConfig(yaml, join(dir.path, 'jobs.yml'));
    const environment = (when: Date): JobEnvironment => ({
      config,
      now: () => when,
      env: {},
      state: fileJobState(config.stateDir),
      audit: () => {},
      actor: 'test',
      dryRun: true,
    });
    await runJob('compliance-report', environment(new Date(now - 1000)));
    await runJob('compliance-report', environment(new Date(now)));
    await runJob('key-expiry', environment(new Date(now)));
    report = JSON.parse(readFileSync(join(config.stateDir, 'reports', 'github-acme-history', 'latest.json'), 'utf8')) as ComplianceReport;
    expiring = (JSON.parse(readFileSync(join(config.stateDir, 'key-expiry', 'github-acme-history.json'), 'utf8')) as { findings: ExpiryFindingData[] })
      .findings;

    // The app itself serves the dashboard: `node dist/app.mjs` (what `npm start` runs), a
    // GitHub-only deployment, with the jobs configuration and the operators' token; the
    // audit rows above are in the SQLite file it opens.
    await store.close();
    storeClosed = true;
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    app = startAppProcess(process.execPath, [join(process.cwd(), 'dist', 'app.mjs')], {
      cwd: dir.path,
      env: {
        ...appEnv(),
        PORT: String(port),
        SIGNET_JOBS_CONFIG: join(dir.path, 'jobs.yml'),
        OPS_TOKEN: TOKEN,
      },
    });
    await app.waitForLine(/"msg":"signet is serving"/);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop('SIGTERM');
    if (!storeClosed) await store?.close();
    for (const home of [h?.signHome, h?.verifyHome, h?.thiefHome])
      if (home) spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home.home } });
    dir.remove();
  });

  it("shows each repository's coverage, rejected pushes, failing checks and expiring keys, without JavaScript", async () => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      httpCredentials: { username: 'ops', password: TOKEN },
      viewport: { width: 1100, height: 900 },
    });
    const page = await context.newPage();
    const response = await page.goto(`${url}/signet/`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe('signet: signing coverage');

    const commits = report.refs.reduce((sum, ref) => sum + ref.commits, 0);
    const good = report.refs.reduce((sum, ref) => sum + ref.good, 0);
    const signed = report.refs.reduce((sum, ref) => sum + ref.signed, 0);
    expect(commits).toBeGreaterThan(20);
    const row = page.locator('table[data-table="summary"] tr[data-repository="github:acme/history"]');
    const cell = (field: string) => row.locator(`td[data-field="${field}"]`).textContent();
    expect(await cell('commits')).toBe(String(commits));
    expect(await cell('signed')).toBe(String(signed));
    expect(await cell('good')).toBe(String(good));
    expect(await cell('coverage')).toBe(`${((good / commits) * 100).toFixed(1)} %`);
    expect(await cell('expiring')).toBe(String(expiring.length));

    const section = page.locator('section[data-repository="github:acme/history"]');
    for (const ref of report.refs) {
      const refRow = section.locator(`tr[data-ref="${ref.ref}"]`);
      expect(await refRow.locator('td[data-field="commits"]').textContent()).toBe(String(ref.commits));
      expect(await refRow.locator('td[data-field="good"]').textContent()).toBe(String(ref.good));
      expect(await refRow.locator('td[data-field="violations"]').textContent()).toBe(String(ref.violations));
    }
    // The coverage chart: one bar group per bucket of every ref.
    expect(await section.locator('svg g.bucket').count()).toBe(report.refs.reduce((sum, ref) => sum + ref.coverage.length, 0));
    expect(await section.locator('table[data-table="history"] tbody tr').count()).toBe(2);

    // Alice's key (2-year primary) is within the 800-day window; the days left are the job's.
    expect(expiring.map((k) => k.id)).toEqual([h.alice.fingerprint]);
    expect(await section.locator(`tr[data-key="${h.alice.fingerprint}"] td[data-field="days-left"]`).textContent()).toBe(String(expiring[0]!.daysLeft));

    // The hook's rejection and the app's failing check in the window; the success and the old failure are not shown.
    const problems = page.locator('table[data-table="problems"] tbody tr');
    expect(await problems.count()).toBe(2);
    const texts = await problems.allTextContents();
    // "why" in words (the codes stay in data-codes for scripts); "who" never a bare "unknown".
    const rejected = texts.find((t) => t.includes('push rejected'));
    expect(rejected).toMatch(/refs\/heads\/main.*unsigned commit/);
    expect(rejected).not.toMatch(/UNSIGNED_COMMIT|unknown/);
    expect(await page.locator('table[data-table="problems"] td[data-codes="UNSIGNED_COMMIT"]').count()).toBe(1);
    expect(texts.find((t) => t.includes('check failure'))).toContain('2 commits not signed by a registry key');
    expect(await page.locator('script').count()).toBe(0);

    const shot = join(dir.path, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    if (process.env.SIGNET_DASHBOARD_SCREENSHOT) copyFileSync(shot, process.env.SIGNET_DASHBOARD_SCREENSHOT);
    await context.close();
    expect(rejectedSha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('lets only operators in: no credentials, a wrong token or user get 401; a bearer token works', async () => {
    // Chromium without credentials gets the Basic challenge (a person would see the login prompt).
    const anonymous = await browser.newContext();
    const denied = await anonymous.request.get(`${url}/signet/`);
    expect(denied.status()).toBe(401);
    expect(denied.headers()['www-authenticate']).toMatch(/^Basic realm="signet dashboard"/);
    expect(await denied.text()).not.toContain('acme/history');
    await anonymous.close();
    for (const [username, password] of [
      ['ops', 'wrong'],
      ['someone', TOKEN],
    ]) {
      const context = await browser.newContext({ httpCredentials: { username: username!, password: password! } });
      expect((await context.request.get(`${url}/signet/`)).status()).toBe(401);
      await context.close();
    }
    const bearer = await fetch(`${url}/signet/`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get('content-security-policy')).toContain("default-src 'none'");
    const svg = await fetch(`${url}/signet/coverage/github-acme-history.svg`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await svg.text()).toContain('<svg');
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404); // not the dashboard's path: left to the app
  });

  it('answers 503 when no operator token is configured (fails closed)', async () => {
    const handler = dashboardHandler({
      basePath: '/signet',
      token: undefined,
      load: async () => {
        throw new Error('must not load');
      },
    });
    const plain = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const address = plain.address();
    const response = await fetch(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/signet/`, {
      headers: { authorization: 'Bearer anything' },
    });
    expect(response.status).toBe(503);
    await new Promise((resolve) => plain.close(resolve));
    expect(existsSync(join(dir.path, 'state', 'reports'))).toBe(true);
  });

  it('is not mounted on the app without a token or without a jobs configuration, and says so in one log line', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ SIGNET_JOBS_CONFIG: join(dir.path, 'jobs.yml') }, /"msg":"dashboard not mounted: no operators’ token in OPS_TOKEN/],
      [{ OPS_TOKEN: TOKEN }, /"msg":"dashboard not mounted: SIGNET_JOBS_CONFIG is not set/],
    ];
    for (const [settings, line] of cases) {
      const port = await freePort();
      const bare = startAppProcess(process.execPath, [join(process.cwd(), 'dist', 'app.mjs')], {
        cwd: dir.path,
        env: { ...appEnv(), ...settings, PORT: String(port), SIGNET_SQLITE_PATH: join(dir.path, `bare-${port}.sqlite`) },
      });
      try {
        await bare.waitForLine(/"msg":"signet is serving"/);
        expect(
          bare
            .stdout()
            .split('\n')
            .filter((l) => line.test(l)),
        ).toHaveLength(1);
        const response = await fetch(`http://127.0.0.1:${port}/signet/`, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(response.status).toBe(404);
        expect(await response.text()).not.toContain('acme/history');
      } finally {
        await bare.stop('SIGTERM');
      }
    }
  });
});
