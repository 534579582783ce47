/**
 * A local stand-in for the GitLab REST API v4: repository files answered from a real bare
 * repository, users and their keys as the test configures them, commit statuses and merge
 * request notes recorded. Requests need the PRIVATE-TOKEN the bot was given; faults can be
 * queued per route.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitLabRecorded {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

export interface GitLabFault {
  method: string;
  path: RegExp;
  status: number;
  times?: number;
}

export interface FakeGitLabUser {
  id: number;
  username: string;
  /** Shown as public_email (what a non-admin search matches). */
  email: string;
  gpgKeys?: string[];
  sshKeys?: Array<{ key: string; usage_type: 'auth' | 'signing' | 'auth_and_signing' }>;
}

export interface StatusRecord {
  project: number;
  sha: string;
  state: string;
  name: string;
  description: string;
}

export interface NoteRecord {
  id: number;
  project: number;
  iid: number;
  body: string;
  edits: number;
}

export interface FakeGitLab {
  url: string;
  token: string;
  requests: GitLabRecorded[];
  statuses: StatusRecord[];
  notes: NoteRecord[];
  faults: GitLabFault[];
  users: FakeGitLabUser[];
  /** project id → bare repository. */
  projects: Map<number, string>;
  stop(): Promise<void>;
}

export async function startFakeGitLab(token = 'glpat-test-token'): Promise<FakeGitLab> {
  let nextId = 500;
  const fake: Omit<FakeGitLab, 'url' | 'stop'> = { token, requests: [], statuses: [], notes: [], faults: [], users: [], projects: new Map() };
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (!url.pathname.startsWith('/api/v4/')) return send(res, 404, { message: '404 Not Found' });
    const path = decodeURIComponent(url.pathname.slice('/api/v4'.length));
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = Object.fromEntries(new URLSearchParams(raw));
      }
    }
    for (const [k, v] of url.searchParams) if (method !== 'GET' && body[k] === undefined) body[k] = v;
    fake.requests.push({ method, path, query: url.searchParams, body });
    if (req.headers['private-token'] !== token) return send(res, 401, { message: '401 Unauthorized' });
    const fault = fake.faults.find((f) => f.method === method && f.path.test(path));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) fake.faults.splice(fake.faults.indexOf(fault), 1);
      return send(res, fault.status, { message: `fault injected by the test (${fault.status})` });
    }
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/users') {
      const search = (url.searchParams.get('search') ?? '').toLowerCase();
      return send(res, 200, fake.users.filter((u) => u.email.toLowerCase() === search).map((u) => ({ id: u.id, username: u.username, public_email: u.email, state: 'active' })));
    }
    if (method === 'GET' && (m = /^\/users\/(\d+)\/gpg_keys$/.exec(path))) {
      const user = fake.users.find((u) => u.id === Number(m![1]));
      return send(res, 200, (user?.gpgKeys ?? []).map((key, i) => ({ id: i + 1, key, created_at: '2024-01-01T00:00:00Z' })));
    }
    if (method === 'GET' && (m = /^\/users\/(\d+)\/keys$/.exec(path))) {
      const user = fake.users.find((u) => u.id === Number(m![1]));
      return send(res, 200, (user?.sshKeys ?? []).map((key, i) => ({ id: i + 1, title: `key ${i + 1}`, key: key.key, usage_type: key.usage_type })));
    }
    m = /^\/projects\/(\d+)\/(.*)$/.exec(path);
    if (!m) return send(res, 404, { message: '404 Not Found' });
    const project = Number(m[1]);
    const rest = m[2]!;
    const bare = fake.projects.get(project);
    if (!bare) return send(res, 404, { message: '404 Project Not Found' });
    if (method === 'GET' && rest.startsWith('repository/files/')) {
      const file = rest.slice('repository/files/'.length);
      const ref = url.searchParams.get('ref') ?? 'HEAD';
      try {
        const content = execFileSync('git', ['--git-dir', bare, 'cat-file', 'blob', `${ref}:${file}`], { stdio: ['ignore', 'pipe', 'ignore'] });
        return send(res, 200, { file_name: file.split('/').pop(), file_path: file, size: content.length, encoding: 'base64', content: content.toString('base64'), ref });
      } catch {
        return send(res, 404, { message: '404 File Not Found' });
      }
    }
    if (method === 'POST' && (m = /^statuses\/([0-9a-f]{40})$/.exec(rest))) {
      const record: StatusRecord = { project, sha: m[1]!, state: String(body.state), name: String(body.name), description: String(body.description ?? '') };
      fake.statuses.push(record);
      return send(res, 201, { id: nextId++, sha: record.sha, status: record.state, name: record.name, description: record.description });
    }
    if ((m = /^merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(rest))) {
      const iid = Number(m[1]);
      if (method === 'GET' && !m[2]) return send(res, 200, fake.notes.filter((n) => n.project === project && n.iid === iid).map((n) => ({ id: n.id, body: n.body })));
      if (method === 'POST' && !m[2]) {
        const note: NoteRecord = { id: nextId++, project, iid, body: String(body.body), edits: 0 };
        fake.notes.push(note);
        return send(res, 201, { id: note.id, body: note.body });
      }
      if (method === 'PUT' && m[2]) {
        const note = fake.notes.find((n) => n.id === Number(m![2]));
        if (!note) return send(res, 404, { message: '404 Note Not Found' });
        note.body = String(body.body);
        note.edits++;
        return send(res, 200, { id: note.id, body: note.body });
      }
    }
    return send(res, 404, { message: `404 Not Found: ${method} ${path}` });
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        send(res, 500, { message: (error as Error).message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
