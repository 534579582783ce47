/**
 * A local stand-in for the GitHub and GitLab issue APIs on 127.0.0.1: just the REST shapes the
 * jobs use (list by label, create, update, comment/note), with token checks, in-memory issues
 * and a log of every request, so tests can say "created once, updated, closed".
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  comments: string[];
  pullRequest?: boolean;
}

export interface RecordedRequest {
  forge: 'github' | 'gitlab';
  method: string;
  path: string;
  body: unknown;
  /** The credential it carried: Authorization or PRIVATE-TOKEN, whichever was sent. */
  credential?: string;
}

export interface FakeForge {
  url: string;
  /** Issues per project: `owner/name` (GitHub) or the GitLab project path. */
  github: Map<string, FakeIssue[]>;
  gitlab: Map<string, FakeIssue[]>;
  requests: RecordedRequest[];
  /** GitHub: which account a commit is linked to (`GET /repos/…/commits/{sha}`). */
  commitLogins: Map<string, string>;
  /** GitHub: armored GPG keys each account registered (`GET /users/{login}/gpg_keys`). */
  gpgKeys: Map<string, string[]>;
  /** Requests that change something (not GET). */
  writes(): RecordedRequest[];
  close(): Promise<void>;
}

function credentialOf(req: IncomingMessage): { credential?: string } {
  const value = req.headers.authorization ?? req.headers['private-token'];
  return typeof value === 'string' ? { credential: value } : {};
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

export async function startFakeForge(tokens: { github: string; gitlab: string }): Promise<FakeForge> {
  const github = new Map<string, FakeIssue[]>();
  const gitlab = new Map<string, FakeIssue[]>();
  const requests: RecordedRequest[] = [];
  const commitLogins = new Map<string, string>();
  const gpgKeys = new Map<string, string[]>();
  const server: Server = createServer(async (req, res) => {
    const send = (status: number, data: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = await readBody(req);
      const method = req.method ?? 'GET';
      const gh = /^\/repos\/([^/]+)\/([^/]+)\/issues(?:\/(\d+)(\/comments)?)?$/.exec(url.pathname);
      const commit = /^\/repos\/([^/]+)\/([^/]+)\/commits\/([0-9a-f]+)$/.exec(url.pathname);
      const userKeys = /^\/users\/([^/]+)\/(gpg_keys|ssh_signing_keys)$/.exec(url.pathname);
      if (commit || userKeys) {
        requests.push({ forge: 'github', method, path: `${url.pathname}${url.search}`, body, ...credentialOf(req) });
        if (req.headers.authorization !== `Bearer ${tokens.github}`) return send(401, { message: 'Bad credentials' });
        if (commit) return send(200, { sha: commit[3], committer: commitLogins.has(commit[3]!) ? { login: commitLogins.get(commit[3]!) } : null });
        if (userKeys![2] === 'ssh_signing_keys') return send(200, []);
        const page = Number(url.searchParams.get('page') ?? 1);
        return send(200, page > 1 ? [] : (gpgKeys.get(userKeys![1]!) ?? []).map((raw, index) => ({ id: index + 1, raw_key: raw, can_sign: true, emails: [] })));
      }
      const gl = /^\/api\/v4\/projects\/([^/]+)\/issues(?:\/(\d+)(\/notes)?)?$/.exec(url.pathname);
      if (gh) {
        requests.push({ forge: 'github', method, path: `${url.pathname}${url.search}`, body, ...credentialOf(req) });
        if (req.headers.authorization !== `Bearer ${tokens.github}`) return send(401, { message: 'Bad credentials' });
        const project = `${gh[1]}/${gh[2]}`;
        const issues = github.get(project) ?? [];
        github.set(project, issues);
        const number = gh[3] ? Number(gh[3]) : undefined;
        const issue = issues.find((i) => i.number === number);
        const view = (i: FakeIssue) => ({
          number: i.number,
          title: i.title,
          body: i.body,
          state: i.state,
          labels: i.labels.map((name) => ({ name })),
          ...(i.pullRequest ? { pull_request: { url: 'x' } } : {}),
        });
        if (method === 'GET' && number === undefined) {
          const label = url.searchParams.get('labels');
          const state = url.searchParams.get('state') ?? 'open';
          const page = Number(url.searchParams.get('page') ?? 1);
          const perPage = Number(url.searchParams.get('per_page') ?? 30);
          const matching = issues
            .filter((i) => (!label || i.labels.includes(label)) && (state === 'all' || i.state === state))
            .sort((a, b) => b.number - a.number);
          return send(200, matching.slice((page - 1) * perPage, page * perPage).map(view));
        }
        if (method === 'POST' && number === undefined) {
          const input = body as { title: string; body?: string; labels?: string[] };
          const created: FakeIssue = {
            number: issues.length + 1,
            title: input.title,
            body: input.body ?? '',
            state: 'open',
            labels: input.labels ?? [],
            comments: [],
          };
          issues.push(created);
          return send(201, view(created));
        }
        if (!issue) return send(404, { message: 'Not Found' });
        if (method === 'POST' && gh[4]) {
          issue.comments.push((body as { body: string }).body);
          return send(201, { id: issue.comments.length, body: (body as { body: string }).body });
        }
        if (method === 'PATCH') {
          const change = body as { title?: string; body?: string; state?: 'open' | 'closed' };
          if (change.title !== undefined) issue.title = change.title;
          if (change.body !== undefined) issue.body = change.body;
          if (change.state !== undefined) issue.state = change.state;
          return send(200, view(issue));
        }
        return send(405, { message: 'method not allowed' });
      }
      if (gl) {
        requests.push({ forge: 'gitlab', method, path: `${url.pathname}${url.search}`, body, ...credentialOf(req) });
        if (req.headers['private-token'] !== tokens.gitlab) return send(401, { message: '401 Unauthorized' });
        const project = decodeURIComponent(gl[1]!);
        const issues = gitlab.get(project) ?? [];
        gitlab.set(project, issues);
        const iid = gl[2] ? Number(gl[2]) : undefined;
        const issue = issues.find((i) => i.number === iid);
        const view = (i: FakeIssue) => ({
          iid: i.number,
          id: 1000 + i.number,
          title: i.title,
          description: i.body,
          state: i.state === 'open' ? 'opened' : 'closed',
          labels: i.labels,
        });
        if (method === 'GET' && iid === undefined) {
          const labels = (url.searchParams.get('labels') ?? '').split(',').filter(Boolean);
          const state = url.searchParams.get('state');
          const page = Number(url.searchParams.get('page') ?? 1);
          const perPage = Number(url.searchParams.get('per_page') ?? 20);
          const matching = issues
            .filter((i) => labels.every((l) => i.labels.includes(l)) && (!state || state === 'all' || view(i).state === state))
            .sort((a, b) => b.number - a.number);
          return send(200, matching.slice((page - 1) * perPage, page * perPage).map(view));
        }
        if (method === 'POST' && iid === undefined) {
          const input = body as { title: string; description?: string; labels?: string };
          const created: FakeIssue = {
            number: issues.length + 1,
            title: input.title,
            body: input.description ?? '',
            state: 'open',
            labels: (input.labels ?? '').split(',').filter(Boolean),
            comments: [],
          };
          issues.push(created);
          return send(201, view(created));
        }
        if (!issue) return send(404, { message: '404 Not found' });
        if (method === 'POST' && gl[3]) {
          issue.comments.push((body as { body: string }).body);
          return send(201, { id: issue.comments.length, body: (body as { body: string }).body });
        }
        if (method === 'PUT') {
          const change = body as { title?: string; description?: string; state_event?: 'close' | 'reopen' };
          if (change.title !== undefined) issue.title = change.title;
          if (change.description !== undefined) issue.body = change.description;
          if (change.state_event === 'close') issue.state = 'closed';
          if (change.state_event === 'reopen') issue.state = 'open';
          return send(200, view(issue));
        }
        return send(405, { message: 'method not allowed' });
      }
      send(404, { message: `no route ${url.pathname}` });
    } catch (error) {
      send(500, { message: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    github,
    gitlab,
    requests,
    commitLogins,
    gpgKeys,
    writes: () => requests.filter((r) => r.method !== 'GET'),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
