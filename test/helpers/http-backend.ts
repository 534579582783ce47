/**
 * git smart HTTP for tests: a node:http server that runs `git http-backend` as a CGI program
 * for every request, serving the bare repositories under one project root. It records each
 * request (with its Authorization header) and can be stopped to simulate a forge whose git
 * endpoint is down.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitRequest {
  method: string;
  path: string;
  authorization?: string;
}

export interface GitHttpBackend {
  /** http://127.0.0.1:PORT */
  origin: string;
  port: number;
  requests: GitRequest[];
  /** Answer every request with this status instead of serving git (0: serve). */
  failWith: number;
  /** Accept requests and never answer (a forge that hangs). */
  hang: boolean;
  stop(): Promise<void>;
}

export async function startGitHttpBackend(projectRoot: string, port = 0): Promise<GitHttpBackend> {
  const state = { failWith: 0, hang: false };
  const requests: GitRequest[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    if (state.hang) return;
    if (state.failWith) {
      res.writeHead(state.failWith).end('git endpoint disabled by the test\n');
      return;
    }
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        REMOTE_USER: 'test',
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    req.pipe(child.stdin);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.resume();
    child.on('error', () => res.writeHead(500).end());
    child.on('close', () => {
      const output = Buffer.concat(chunks);
      let split = output.indexOf('\r\n\r\n');
      let separator = 4;
      if (split === -1) {
        split = output.indexOf('\n\n');
        separator = 2;
      }
      if (split === -1) {
        res.writeHead(502).end('bad CGI answer');
        return;
      }
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of output.subarray(0, split).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon === -1) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers).end(output.subarray(split + separator));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(value: number) {
      state.failWith = value;
    },
    get hang() {
      return state.hang;
    },
    set hang(value: boolean) {
      state.hang = value;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
