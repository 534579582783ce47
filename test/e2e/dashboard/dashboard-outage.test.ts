import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dashboardHandler } from '../../../src/dashboard/handler.ts';
import type { DashboardView } from '../../../src/dashboard/view.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import { tempDir } from '../../helpers/git.ts';

/**
 * The dashboard when what it reads is gone (docs/architecture.md "Errors"): a store that is
 * unavailable (a real SQLite store, closed) is 503 with Retry-After; a bug stays 500.
 */
describe('dashboard: an unavailable store is 503, a bug 500', () => {
  const dir = tempDir('dashboard-outage');
  const servers: Server[] = [];
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    dir.remove();
  });

  async function serve(load: () => Promise<DashboardView>): Promise<string> {
    const handler = dashboardHandler({ basePath: '/signet', token: 'operator-token', load });
    const server = createServer((req, res) => void handler(req, res));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/signet/`;
  }

  it('answers 503 with Retry-After when the store is unavailable', async () => {
    const store = openSqliteStore(join(dir.path, 'signet.sqlite'));
    await store.close();
    const url = await serve(async () => {
      await store.listAudit('github:acme/widgets', 10);
      throw new Error('not reached: the store is closed');
    });
    const response = await fetch(url, { headers: { authorization: 'Bearer operator-token' } });
    expect([response.status, response.headers.get('retry-after')]).toEqual([503, '60']);
    expect(await response.text()).toMatch(/^signet dashboard: the sqlite store is unavailable: /);
  });

  it('answers 500 without Retry-After for anything else', async () => {
    const url = await serve(async () => {
      throw new TypeError('a bug');
    });
    const response = await fetch(url, { headers: { authorization: 'Bearer operator-token' } });
    expect([response.status, response.headers.get('retry-after')]).toEqual([500, null]);
  });
});
