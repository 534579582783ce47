/**
 * The setup page's manifest flow to its end, against a local server speaking GitHub's
 * `POST /app-manifests/{code}/conversions` (GHE_HOST/GHE_PROTOCOL point the exchange at it):
 * GitHub's redirect back is accepted only with the state the page held, the credentials land
 * in a new `.env` (mode 0600) and nowhere else (not the page, not stdout), the setup closes,
 * and `npm start` run again reads `.env` and serves the App.
 */
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess } from '../../helpers/app-process.ts';
import { deliver } from '../../helpers/fake-github-webhooks.ts';
import { freePort } from '../../helpers/postgres.ts';
import { readSetupForm, withoutForgeSettings } from '../../helpers/setup-page.ts';

const APP = join(process.cwd(), 'dist', 'app.mjs');
const CODE = 'manifest-code-1';
const WEBHOOK_SECRET = 'e3b0c44298fc1c149afbf4c8996fb924';
const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const pemBody = pem.split('\n')[5]!;

describe('the setup page creates the App and npm start then serves it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'signet-setup-'));
  const conversions: string[] = [];
  let github: Server;
  let githubHost: string;
  let app: AppProcess;
  let origin: string;
  let state: string;
  let setupUrl: string;
  const env = () => ({ ...withoutForgeSettings(process.env), HOST: '127.0.0.1', GHE_HOST: githubHost, GHE_PROTOCOL: 'http' });

  beforeAll(async () => {
    copyFileSync(join(process.cwd(), 'app.yml'), join(dir, 'app.yml'));
    github = createServer((req, res) => {
      const match = /^\/api\/v3\/app-manifests\/([^/]+)\/conversions$/.exec(req.url ?? '');
      if (req.method === 'POST' && match) conversions.push(match[1]!);
      if (req.method !== 'POST' || match?.[1] !== CODE) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
      res.writeHead(201, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 4242,
          slug: 'signet-test',
          html_url: `http://${githubHost}/apps/signet-test`,
          pem,
          webhook_secret: WEBHOOK_SECRET,
          client_id: 'Iv1.x',
          client_secret: 'cs',
        }),
      );
    });
    await new Promise<void>((resolve) => github.listen(0, '127.0.0.1', resolve));
    const address = github.address();
    githubHost = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    app = startAppProcess(process.execPath, [APP], { cwd: dir, env: { ...env(), PORT: String(port) } });
    setupUrl = (await app.waitForLine(/^signet: to create the GitHub App/)).split(' open ')[1]!;
    const page = await fetch(setupUrl);
    const { action } = readSetupForm(await page.text());
    // GHE_HOST is where the App is created, and the CSP lets the form go there only.
    expect(action.startsWith(`http://${githubHost}/settings/apps/new?state=`)).toBe(true);
    expect(page.headers.get('content-security-policy')).toContain(`form-action http://${githubHost}`);
    state = new URL(action).searchParams.get('state')!;
  });

  afterAll(async () => {
    await app?.stop('SIGTERM');
    await new Promise((resolve) => github?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses GitHub's answer without the page's state: no exchange, no .env", async () => {
    for (const query of [`code=${CODE}`, `code=${CODE}&state=forged`]) {
      const response = await fetch(`${origin}/setup/github/done?${query}`);
      expect(response.status).toBe(403);
    }
    expect(conversions).toEqual([]);
    expect(existsSync(join(dir, '.env'))).toBe(false);
  });

  it('a code GitHub does not know is a one-line error, nothing written', async () => {
    const response = await fetch(`${origin}/setup/github/done?code=unknown-code&state=${state}`);
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/^signet setup: GitHub refused the manifest code \(HTTP 404\)/);
    expect(existsSync(join(dir, '.env'))).toBe(false);
  });

  it('writes the App to .env (0600), shows no secret, and closes the setup', async () => {
    const response = await fetch(`${origin}/setup/github/done?code=${CODE}&state=${state}`);
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('The GitHub App signet-test is created');
    expect(body).toContain(`http://${githubHost}/apps/signet-test/installations/new`);
    for (const text of [body, app.stdout(), app.stderr()]) {
      expect(text).not.toContain(WEBHOOK_SECRET);
      expect(text).not.toContain(pemBody);
    }
    const file = join(dir, '.env');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = readFileSync(file, 'utf8');
    expect(written).toMatch(/^APP_ID=4242$/m);
    expect(written).toMatch(new RegExp(`^WEBHOOK_SECRET=${WEBHOOK_SECRET}$`, 'm'));
    expect(app.stdout()).toMatch(/signet: created the GitHub App signet-test \(id 4242\)/);
    // One App per setup: the page and the callback are gone.
    expect((await fetch(setupUrl)).status).toBe(410);
    expect((await fetch(`${origin}/setup/github/done?code=${CODE}&state=${state}`)).status).toBe(410);
    expect(conversions).toEqual(['unknown-code', CODE]);
    expect(await app.stop('SIGINT')).toBe(0);
  });

  it('npm start again reads .env and serves the App (signed deliveries only)', async () => {
    const port = await freePort();
    const again = startAppProcess(process.execPath, [APP], { cwd: dir, env: { ...env(), PORT: String(port) } });
    try {
      await again.waitForLine(/"msg":"signet is serving"/);
      expect(again.stdout()).not.toContain('nothing is configured');
      const hooks = `http://127.0.0.1:${port}/api/github/webhooks`;
      expect((await deliver(hooks, WEBHOOK_SECRET, 'ping', { zen: 'x', hook_id: 1 })).status).toBe(200);
      expect((await deliver(hooks, 'other', 'ping', { zen: 'x', hook_id: 1 })).status).toBe(400);
      expect((await fetch(`http://127.0.0.1:${port}/setup`)).status).toBe(404);
    } finally {
      expect(await again.stop('SIGINT')).toBe(0);
    }
  });

  it('never overwrites an existing .env', async () => {
    const other = mkdtempSync(join(tmpdir(), 'signet-setup-existing-'));
    try {
      copyFileSync(join(process.cwd(), 'app.yml'), join(other, 'app.yml'));
      writeFileSync(join(other, '.env'), '# kept\n');
      const port = await freePort();
      const third = startAppProcess(process.execPath, [APP], { cwd: other, env: { ...env(), PORT: String(port) } });
      const url = (await third.waitForLine(/^signet: to create the GitHub App/)).split(' open ')[1]!;
      const form = readSetupForm(await (await fetch(url)).text());
      const before = conversions.length;
      const response = await fetch(`http://127.0.0.1:${port}/setup/github/done?code=${CODE}&state=${new URL(form.action).searchParams.get('state')}`);
      // Refused before the exchange: GitHub gives the private key once, so the code is kept for a retry.
      expect(response.status).toBe(409);
      expect(await response.text()).toMatch(/\.env already exists and is never overwritten/);
      expect(conversions.length).toBe(before);
      expect(readFileSync(join(other, '.env'), 'utf8')).toBe('# kept\n');
      expect(await third.stop('SIGINT')).toBe(0);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
