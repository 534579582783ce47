/**
 * A throwaway PostgreSQL 15 cluster for tests: initdb and pg_ctl run as the `postgres` user
 * (PostgreSQL refuses root), listening on 127.0.0.1 on a free port, trust authentication,
 * removed by stop().
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/lib/postgresql/15/bin';

export interface TestPostgres {
  url: string;
  port: number;
  stop(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function asPostgres(args: string[]): void {
  const user = execFileSync('id', ['-un']).toString().trim();
  const command = user === 'postgres' ? args : ['runuser', '-u', 'postgres', '--', ...args];
  execFileSync(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const stop = (): void => {
    try {
      asPostgres([join(BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    asPostgres([join(BIN, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    asPostgres([join(BIN, 'pg_ctl'), '-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off`, 'start']);
  } catch (error) {
    stop();
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
    throw new Error(`could not start PostgreSQL: ${stderr.trim() || (error as Error).message}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop };
}
