/**
 * An attacker's view of the setup page's callback, against the real setup server and a local
 * server speaking GitHub's `POST /app-manifests/{code}/conversions`:
 * - with anything already at `.env` (a file, a dangling symlink) the code is not exchanged at
 *   all: GitHub hands the private key out once, so an exchange with nowhere to write it would
 *   leave an App whose key is lost; the code stays valid for the person to retry;
 * - a slug in GitHub's answer carrying a terminal escape never reaches the console.
 */
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSetupServer, type SetupServer } from '../../../src/server/setup-page.ts';
import { readSetupForm } from '../../helpers/setup-page.ts';

const CODE = 'manifest-code-2';
const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

describe('setup callback under attack', () => {
  const conversions: string[] = [];
  let slug = 'signet-test';
  let github: Server;
  let apiBaseUrl: string;
  let dir: string;
  let setup: SetupServer | undefined;
  const said: string[] = [];

  beforeAll(async () => {
    github = createServer((req, res) => {
      const match = /^\/api\/v3\/app-manifests\/([^/]+)\/conversions$/.exec(req.url ?? '');
      if (req.method === 'POST' && match) conversions.push(match[1]!);
      if (req.method !== 'POST' || match?.[1] !== CODE) return void res.writeHead(404).end('{}');
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id: 77, slug, html_url: 'https://github.example/apps/x', pem, webhook_secret: 'e3b0c44298fc1c149afbf4c8996fb924' }));
    });
    await new Promise<void>((resolve) => github.listen(0, '127.0.0.1', resolve));
    const address = github.address();
    apiBaseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v3`;
  });

  afterAll(() => new Promise((resolve) => github.close(resolve)));
  afterEach(async () => {
    await setup?.stop();
    setup = undefined;
    rmSync(dir, { recursive: true, force: true });
    conversions.length = 0;
    said.length = 0;
  });

  async function start(): Promise<{ done: (code: string) => Promise<Response> }> {
    dir = mkdtempSync(join(tmpdir(), 'signet-setup-attack-'));
    copyFileSync(join(process.cwd(), 'app.yml'), join(dir, 'app.yml'));
    setup = await startSetupServer({
      env: {},
      cwd: dir,
      host: '127.0.0.1',
      port: 0,
      webhookPath: '/api/github/webhooks',
      apiBaseUrl,
      say: (line) => said.push(line),
    });
    const { action } = readSetupForm(await (await fetch(setup.setupUrl)).text());
    const state = new URL(action).searchParams.get('state')!;
    const origin = setup.url;
    return { done: (code) => fetch(`${origin}/setup/github/done?code=${code}&state=${encodeURIComponent(state)}`) };
  }

  it('does not exchange the code when .env is a dangling symlink, and writes nothing through it', async () => {
    const { done } = await start();
    const target = join(dir, 'elsewhere.env');
    symlinkSync(target, join(dir, '.env'));
    const response = await done(CODE);
    expect(response.status).toBe(409);
    expect(await response.text()).toMatch(/^signet setup: \.env already exists/);
    expect(conversions).toEqual([]);
    expect(existsSync(target)).toBe(false);
    expect(lstatSync(join(dir, '.env')).isSymbolicLink()).toBe(true);
    // Moved away, the same code still works: nothing was spent.
    rmSync(join(dir, '.env'));
    expect((await done(CODE)).status).toBe(200);
    expect(conversions).toEqual([CODE]);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toMatch(/^APP_ID=77$/m);
  });

  it('keeps a terminal escape in the slug off the console', async () => {
    slug = 'x\u001b]0;pwned\u0007\u001b[2J';
    try {
      const { done } = await start();
      const response = await done(CODE);
      expect(response.status).toBe(200);
      expect(said.join('\n')).not.toMatch(/\u001b/);
      expect(said.join('\n')).toContain('created the GitHub App 77 (id 77)');
    } finally {
      slug = 'signet-test';
    }
  });
});
