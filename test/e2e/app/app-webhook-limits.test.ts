/**
 * Webhook bodies are bounded before they are buffered (issue 12): an unauthenticated client
 * streaming 1 GiB at either webhook route gets a 4xx within a second, and the app's memory
 * does not grow with what it sends. The app runs in this process, so its RSS is ours.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerConfig } from '../../../src/server/config.ts';
import { startSignetServer, type RunningServer } from '../../../src/server/server.ts';
import { gitLabHandlers } from '../../../src/gitlab/handler.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { freePort } from '../../helpers/postgres.ts';

const GIB = 1024 * 1024 * 1024;
let dir: string;
let store: SignetStore;
let server: RunningServer;

/** POSTs up to `total` bytes made on the fly; resolves with the status as soon as the server answers. */
function streamPost(url: string, headers: Record<string, string>, total: number): Promise<{ status: number; ms: number; sent: number }> {
  const started = Date.now();
  const chunk = Buffer.alloc(1024 * 1024, 0x7b);
  let sent = 0;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: 'POST', agent: false, headers, timeout: 30_000 }, (res) => {
      answered = true;
      resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, sent });
      res.resume();
      req.destroy();
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = (): void => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signet-limits-'));
  store = openSqliteStore(join(dir, 'signet.sqlite'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const config = readServerConfig(
    {
      APP_ID: '1',
      PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      WEBHOOK_SECRET: 'github-secret',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      SIGNET_CACHE_DIR: join(dir, 'cache'),
      GITLAB_URL: 'http://127.0.0.1:9',
      GITLAB_TOKEN: 'glpat-unused',
      GITLAB_WEBHOOK_SECRET: 'gitlab-secret',
    },
    dir,
  );
  server = await startSignetServer(config, { store, extraHandlers: (deps) => gitLabHandlers(config.gitlab!, deps) });
});

afterAll(async () => {
  await server?.stop();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const routes: Array<{ name: string; path: string; headers: Record<string, string> }> = [
  {
    name: 'GitHub',
    path: '/api/github/webhooks',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': 'd-1', 'x-hub-signature-256': 'sha256=00' },
  },
  { name: 'GitLab', path: '/gitlab/webhook', headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook' } },
];

describe.each(routes)('the $name webhook route refuses 1 GiB before buffering it', ({ path, headers }) => {
  it('declared as 1 GiB: 413 within a second, RSS grows by less than 64 MiB', async () => {
    const rss = process.memoryUsage().rss;
    const answer = await streamPost(`${server.url}${path}`, { ...headers, 'content-length': String(GIB) }, GIB);
    expect(answer.status).toBe(413);
    expect(answer.ms).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
    expect(answer.sent).toBeLessThan(GIB);
  });

  it('streamed chunked without a length: 411 within a second, RSS grows by less than 64 MiB', async () => {
    const rss = process.memoryUsage().rss;
    const answer = await streamPost(`${server.url}${path}`, { ...headers, 'transfer-encoding': 'chunked' }, GIB);
    expect(answer.status).toBe(411);
    expect(answer.ms).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
  });

  it('a body under the limit still reaches the route (and is refused there for its signature or token)', async () => {
    const answer = await streamPost(`${server.url}${path}`, { ...headers, 'content-length': String(1024 * 1024) }, 1024 * 1024);
    expect([400, 401]).toContain(answer.status);
  });
});
