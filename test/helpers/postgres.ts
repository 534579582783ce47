/**
 * A throwaway PostgreSQL cluster for tests: initdb and pg_ctl run as the current user, or as
 * `postgres` when the tests run as root (PostgreSQL refuses root), listening on 127.0.0.1 on a
 * free port, trust authentication, removed by stop(). The server's binaries are found through
 * PG_BIN, then `pg_config --bindir`, then the newest /usr/lib/postgresql/N/bin; when none holds
 * initdb the error is one line saying what to install.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where initdb and pg_ctl are, or an Error whose message is one line naming what is missing. */
export function findPostgresBin(env: NodeJS.ProcessEnv = process.env): string {
  const holdsServer = (dir: string): boolean => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'));
  if (env.PG_BIN) {
    if (holdsServer(env.PG_BIN)) return env.PG_BIN;
    throw new Error(`PG_BIN=${env.PG_BIN} holds no initdb and pg_ctl: point it at a PostgreSQL server's bin directory (Debian: /usr/lib/postgresql/15/bin)`);
  }
  const candidates: string[] = [];
  try {
    candidates.push(
      execFileSync('pg_config', ['--bindir'], { stdio: ['ignore', 'pipe', 'ignore'], env })
        .toString()
        .trim(),
    );
  } catch {
    // no pg_config on PATH: look where Debian installs servers
  }
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => `/usr/lib/postgresql/${version}/bin`));
  }
  const found = candidates.find(holdsServer);
  if (found) return found;
  throw new Error(
    'PostgreSQL server not found (no initdb and pg_ctl via PG_BIN, pg_config --bindir or /usr/lib/postgresql/*/bin): apt-get install postgresql, or set PG_BIN to its bin directory',
  );
}

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

/** The user the server runs as: ourselves, unless we are root, which PostgreSQL refuses. */
function serverUser(): { run: (args: string[]) => void; chown: (path: string) => void } {
  const run = (command: string[]): void => {
    execFileSync(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  };
  if (process.getuid?.() !== 0) return { run, chown: () => undefined };
  let uid: number;
  let gid: number;
  try {
    uid = Number(
      execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
    gid = Number(
      execFileSync('id', ['-g', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim(),
    );
  } catch {
    throw new Error(
      'the tests run as root and PostgreSQL refuses root, but there is no postgres user to run it as: apt-get install postgresql (it creates one), or run the tests as another user',
    );
  }
  return { run: (args) => run(['runuser', '-u', 'postgres', '--', ...args]), chown: (path) => chownSync(path, uid, gid) };
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'signet-pg-'));
  user.chown(dir);
  const data = join(dir, 'data');
  const port = await freePort();
  const stop = (): void => {
    try {
      user.run([join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    user.run([join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    user.run([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off`, 'start']);
  } catch (error) {
    stop();
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
    throw new Error(`could not start PostgreSQL: ${stderr.trim() || (error as Error).message}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop };
}
