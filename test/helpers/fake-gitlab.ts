/**
 * A local stand-in for the GitLab REST API v4: repository files answered from a real bare
 * repository, users and their keys (SSH keys with usage_type and expires_at) as the test
 * configures them, commit statuses and merge request notes recorded, project issues kept (list
 * by label, create, update). Requests need the PRIVATE-TOKEN the bot was given; faults can be
 * queued per route.
 */
import { execFileSync } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveEndless } from './fake-github.ts';

export interface GitLabRecorded {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** The request's headers (the token scoping tests read PRIVATE-TOKEN from them). */
  headers?: IncomingMessage['headers'];
  /** The PRIVATE-TOKEN and Authorization headers the request carried (token-scoping tests). */
  privateToken?: string;
  authorization?: string;
}

export interface GitLabFault {
  method: string;
  path: RegExp;
  status: number;
  times?: number;
  /** A redirect: the fault's status with this Location. */
  location?: string;
  /** Never answer (a forge that hangs); the connection stays open until the fake stops. */
  hang?: boolean;
}

export interface FakeGitLabUser {
  id: number;
  username: string;
  /** Shown as public_email (what a non-admin search matches). */
  email: string;
  /** Administrator view: the primary e-mail (shown as `email`, `confirmed_at` null unless confirmed). */
  primaryEmail?: { email: string; confirmed: boolean };
  /** Administrator view: secondary e-mails (GET /users/:id/emails; the search matches them too). */
  secondaryEmails?: Array<{ email: string; confirmed: boolean }>;
  gpgKeys?: string[];
  /** `expires_at` as GitLab gives it (ISO time, or null: never). */
  sshKeys?: Array<{ key: string; usage_type: 'auth' | 'signing' | 'auth_and_signing'; title?: string; expires_at?: string | null }>;
}

export interface FakeGitLabIssue {
  project: number;
  iid: number;
  title: string;
  description: string;
  state: 'opened' | 'closed';
  labels: string[];
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
  /** `merge_requests` (default) or `issues`. */
  noteable?: string;
}

export interface FakeGitLabLink {
  id: number;
  name: string;
  url: string;
}

export interface FakeGitLabRelease {
  project: number;
  tag: string;
  commit: string;
  links: FakeGitLabLink[];
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
  /** project id → path_with_namespace (GET /projects/:id answers 404 for a project without one). */
  projectPaths: Map<number, string>;
  /** When set, git smart HTTP under `/<group>/<project>.git/` is passed on to this origin (a `git http-backend`), as GitLab serves clones on its own host. */
  gitOrigin?: string;
  /** Releases with their asset links (uploads are files served at /-/project/:id/uploads/…). */
  releases: FakeGitLabRelease[];
  /** Project uploads: full_path → bytes. */
  uploads: Map<string, Buffer>;
  /** Project uploads that never end (zeros, chunked, no length): full_paths. */
  endlessUploads: Set<string>;
  /** `project:user id` → access level (GET /projects/:id/members/all/:user_id); absent is a 404. */
  members: Map<string, number>;
  awards: Array<{ project: number; noteable: string; iid: number; noteId: number; name: string }>;
  /** Project issues (GET/POST /projects/:id/issues, PUT /projects/:id/issues/:iid). */
  issues: FakeGitLabIssue[];
  /** Merge requests GET /projects/:id/repository/commits/:sha/merge_requests answers from (head sha in `sha`). */
  mergeRequests: Array<{ project: number; iid: number; sha: string; source_branch: string; target_branch: string; state: 'opened' | 'closed' | 'merged' }>;
  /** Adds a release whose assets are project uploads, as `glab release upload` makes them. */
  addRelease(
    project: number,
    tag: string,
    commit: string,
    assets: Array<{ name: string; content: Buffer | string } | { name: string; endless: true }>,
  ): FakeGitLabRelease;
  /** Stores a project upload, as a POST /projects/:id/uploads would; returns its full_path. */
  storeUpload(project: number, name: string, content: Buffer): string;
  stop(): Promise<void>;
}

export async function startFakeGitLab(token = 'glpat-test-token'): Promise<FakeGitLab> {
  let nextId = 500;
  let origin = '';
  const storeUpload = (project: number, name: string, content: Buffer): string => {
    const fullPath = `/-/project/${project}/uploads/${(nextId++).toString(16).padStart(32, '0')}/${encodeURIComponent(name)}`;
    fake.uploads.set(fullPath, content);
    return fullPath;
  };
  const fake: Omit<FakeGitLab, 'url' | 'stop'> = {
    token,
    requests: [],
    statuses: [],
    notes: [],
    faults: [],
    users: [],
    projects: new Map(),
    releases: [],
    uploads: new Map(),
    endlessUploads: new Set(),
    members: new Map(),
    awards: [],
    issues: [],
    storeUpload,
    mergeRequests: [],
    projectPaths: new Map(),
    addRelease(project, tag, commit, assets) {
      const linkTo = (a: (typeof assets)[number]): string => {
        if (!('endless' in a)) return storeUpload(project, a.name, Buffer.from(a.content));
        const fullPath = storeUpload(project, a.name, Buffer.alloc(0));
        fake.endlessUploads.add(fullPath);
        return fullPath;
      };
      const release: FakeGitLabRelease = { project, tag, commit, links: assets.map((a) => ({ id: nextId++, name: a.name, url: `${origin}${linkTo(a)}` })) };
      fake.releases.push(release);
      return release;
    },
  };
  const linkJson = (link: FakeGitLabLink) => ({ id: link.id, name: link.name, url: link.url, direct_asset_url: link.url, link_type: 'other' });
  /** multipart/form-data with one file part (what a project upload sends). */
  const multipartFile = (req: IncomingMessage, bytes: Buffer): { name: string; content: Buffer } | undefined => {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(String(req.headers['content-type'] ?? ''));
    if (!boundary) return undefined;
    const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
    const start = bytes.indexOf(delimiter);
    const headerEnd = bytes.indexOf('\r\n\r\n', start);
    const end = bytes.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd);
    if (start < 0 || headerEnd < 0 || end < 0) return undefined;
    const headers = bytes.subarray(start, headerEnd).toString('utf8');
    const name = /filename="([^"]*)"/.exec(headers)?.[1];
    return name ? { name, content: bytes.subarray(headerEnd + 4, end) } : undefined;
  };
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  /** A list as GitLab pages it: per_page (default 20, at most 100), page, Link rel="next" and x-next-page. */
  const sendPage = (req: IncomingMessage, res: ServerResponse, url: URL, items: unknown[]): void => {
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 20));
    const page = Number(url.searchParams.get('page') ?? 1);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-total': String(items.length),
      'x-total-pages': String(Math.max(1, Math.ceil(items.length / perPage))),
    };
    if (page * perPage < items.length) {
      const next = new URL(`${origin}${url.pathname}`);
      for (const [k, v] of url.searchParams) next.searchParams.set(k, v);
      next.searchParams.set('page', String(page + 1));
      next.searchParams.set('per_page', String(perPage));
      headers.link = `<${next.href}>; rel="next"`;
      headers['x-next-page'] = String(page + 1);
    }
    res.writeHead(200, headers).end(JSON.stringify(items.slice((page - 1) * perPage, page * perPage)));
    void req;
  };
  const handle = (req: IncomingMessage, res: ServerResponse, raw: string, bytes: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname.startsWith('/-/project/')) {
      fake.requests.push({ method, path: url.pathname, query: url.searchParams, body: {}, headers: req.headers });
      if (req.headers['private-token'] !== token) return send(res, 404, { message: '404 Not Found' });
      const content = fake.uploads.get(url.pathname);
      if (!content) return send(res, 404, { message: '404 Not Found' });
      if (fake.endlessUploads.has(url.pathname)) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        serveEndless(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(content);
      return;
    }
    if (!url.pathname.startsWith('/api/v4/')) return send(res, 404, { message: '404 Not Found' });
    const path = decodeURIComponent(url.pathname.slice('/api/v4'.length));
    let body: Record<string, unknown> = {};
    if (raw && String(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      body = { multipartBytes: bytes.length };
    } else if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = Object.fromEntries(new URLSearchParams(raw));
      }
    }
    for (const [k, v] of url.searchParams) if (method !== 'GET' && body[k] === undefined) body[k] = v;
    const credentials = {
      ...(typeof req.headers['private-token'] === 'string' ? { privateToken: req.headers['private-token'] } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    fake.requests.push({ method, path, query: url.searchParams, body, headers: req.headers, ...credentials });
    if (req.headers['private-token'] !== token) return send(res, 401, { message: '401 Unauthorized' });
    const fault = fake.faults.find((f) => f.method === method && f.path.test(path));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) fake.faults.splice(fake.faults.indexOf(fault), 1);
      if (fault.hang) return;
      if (fault.location) return void res.writeHead(fault.status, { location: fault.location }).end();
      return send(res, fault.status, { message: `fault injected by the test (${fault.status})` });
    }
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/users') {
      const search = (url.searchParams.get('search') ?? '').toLowerCase();
      const matches = (u: FakeGitLabUser) =>
        [u.email, u.primaryEmail?.email, ...(u.secondaryEmails ?? []).map((e) => e.email)].some((e) => e?.toLowerCase() === search);
      return send(
        res,
        200,
        fake.users.filter(matches).map((u) => ({
          id: u.id,
          username: u.username,
          public_email: u.email,
          state: 'active',
          ...(u.primaryEmail ? { email: u.primaryEmail.email, confirmed_at: u.primaryEmail.confirmed ? '2024-01-01T00:00:00.000Z' : null } : {}),
        })),
      );
    }
    if (method === 'GET' && (m = /^\/users\/(\d+)\/emails$/.exec(path))) {
      const user = fake.users.find((u) => u.id === Number(m![1]));
      return send(
        res,
        200,
        (user?.secondaryEmails ?? []).map((e, i) => ({ id: i + 1, email: e.email, confirmed_at: e.confirmed ? '2024-01-01T00:00:00.000Z' : null })),
      );
    }
    if (method === 'GET' && (m = /^\/users\/(\d+)\/gpg_keys$/.exec(path))) {
      const user = fake.users.find((u) => u.id === Number(m![1]));
      return send(
        res,
        200,
        (user?.gpgKeys ?? []).map((key, i) => ({ id: i + 1, key, created_at: '2024-01-01T00:00:00Z' })),
      );
    }
    if (method === 'GET' && (m = /^\/users\/(\d+)\/keys$/.exec(path))) {
      const user = fake.users.find((u) => u.id === Number(m![1]));
      return send(
        res,
        200,
        (user?.sshKeys ?? []).map((key, i) => ({
          id: i + 1,
          title: key.title ?? `key ${i + 1}`,
          created_at: '2024-01-01T00:00:00.000Z',
          expires_at: key.expires_at ?? null,
          key: key.key,
          usage_type: key.usage_type,
        })),
      );
    }
    if (method === 'GET' && (m = /^\/projects\/(\d+)$/.exec(path))) {
      const id = Number(m[1]);
      const fullPath = fake.projectPaths.get(id);
      if (!fullPath || !fake.projects.has(id)) return send(res, 404, { message: '404 Project Not Found' });
      return send(res, 200, { id, path_with_namespace: fullPath, default_branch: 'main', http_url_to_repo: `${origin}/${fullPath}.git` });
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
        return send(res, 200, {
          file_name: file.split('/').pop(),
          file_path: file,
          size: content.length,
          encoding: 'base64',
          content: content.toString('base64'),
          ref,
        });
      } catch {
        return send(res, 404, { message: '404 File Not Found' });
      }
    }
    if (method === 'GET' && (m = /^repository\/commits\/([0-9a-f]{40})\/merge_requests$/.exec(rest))) {
      // Every merge request the commit belongs to; here, those it is the head of.
      return sendPage(
        req,
        res,
        url,
        fake.mergeRequests
          .filter((mr) => mr.project === project && mr.sha === m![1])
          .map((mr) => ({
            id: 1000 + mr.iid,
            iid: mr.iid,
            project_id: project,
            target_project_id: project,
            source_project_id: project,
            sha: mr.sha,
            source_branch: mr.source_branch,
            target_branch: mr.target_branch,
            state: mr.state,
          })),
      );
    }
    if (method === 'POST' && (m = /^statuses\/([0-9a-f]{40})$/.exec(rest))) {
      const record: StatusRecord = { project, sha: m[1]!, state: String(body.state), name: String(body.name), description: String(body.description ?? '') };
      fake.statuses.push(record);
      return send(res, 201, { id: nextId++, sha: record.sha, status: record.state, name: record.name, description: record.description });
    }
    if ((m = /^merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(rest))) {
      const iid = Number(m[1]);
      if (method === 'GET' && !m[2])
        return sendPage(
          req,
          res,
          url,
          fake.notes.filter((n) => n.project === project && n.iid === iid).map((n) => ({ id: n.id, body: n.body })),
        );
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
    if ((m = /^(issues|merge_requests)\/(\d+)\/notes\/(\d+)\/award_emoji$/.exec(rest)) && method === 'POST') {
      fake.awards.push({ project, noteable: m[1]!, iid: Number(m[2]), noteId: Number(m[3]), name: String(body.name) });
      return send(res, 201, { id: nextId++, name: body.name });
    }
    if ((m = /^issues\/(\d+)\/notes$/.exec(rest)) && method === 'POST') {
      const note: NoteRecord = { id: nextId++, project, iid: Number(m[1]), body: String(body.body), edits: 0, noteable: 'issues' };
      fake.notes.push(note);
      return send(res, 201, { id: note.id, body: note.body });
    }
    const issueJson = (issue: FakeGitLabIssue) => ({
      id: 9000 + issue.iid,
      iid: issue.iid,
      project_id: issue.project,
      title: issue.title,
      description: issue.description,
      state: issue.state,
      labels: issue.labels,
    });
    if (rest === 'issues' && method === 'GET') {
      // GitLab: labels=a,b means all of them; state opened|closed|all (default all); newest first.
      const labels = (url.searchParams.get('labels') ?? '').split(',').filter(Boolean);
      const state = url.searchParams.get('state') ?? 'all';
      const page = Number(url.searchParams.get('page') ?? 1);
      const perPage = Number(url.searchParams.get('per_page') ?? 20);
      const matching = fake.issues
        .filter((i) => i.project === project && labels.every((l) => i.labels.includes(l)) && (state === 'all' || i.state === state))
        .sort((a, b) => b.iid - a.iid);
      return send(res, 200, matching.slice((page - 1) * perPage, page * perPage).map(issueJson));
    }
    if (rest === 'issues' && method === 'POST') {
      if (typeof body.title !== 'string' || body.title === '') return send(res, 400, { message: 'title is missing' });
      const issue: FakeGitLabIssue = {
        project,
        iid: fake.issues.filter((i) => i.project === project).length + 1,
        title: body.title,
        description: String(body.description ?? ''),
        state: 'opened',
        labels: String(body.labels ?? '')
          .split(',')
          .filter(Boolean),
      };
      fake.issues.push(issue);
      return send(res, 201, issueJson(issue));
    }
    if ((m = /^issues\/(\d+)$/.exec(rest)) && (method === 'GET' || method === 'PUT')) {
      const issue = fake.issues.find((i) => i.project === project && i.iid === Number(m![1]));
      if (!issue) return send(res, 404, { message: '404 Not found' });
      if (method === 'PUT') {
        if (typeof body.title === 'string') issue.title = body.title;
        if (typeof body.description === 'string') issue.description = body.description;
        if (body.state_event === 'close') issue.state = 'closed';
        if (body.state_event === 'reopen') issue.state = 'opened';
      }
      return send(res, 200, issueJson(issue));
    }
    if ((m = /^members\/all\/(\d+)$/.exec(rest)) && method === 'GET') {
      const level = fake.members.get(`${project}:${m[1]}`);
      return level === undefined ? send(res, 404, { message: '404 Not found' }) : send(res, 200, { id: Number(m[1]), access_level: level, state: 'active' });
    }
    if (rest === 'uploads' && method === 'POST') {
      const file = multipartFile(req, bytes);
      if (!file) return send(res, 400, { message: 'file is missing' });
      const fullPath = storeUpload(project, file.name, file.content);
      return send(res, 201, { alt: file.name, url: fullPath.replace(/^\/-\/project\/\d+/, ''), full_path: fullPath, markdown: `[${file.name}](${fullPath})` });
    }
    if ((m = /^releases\/([^/]+)(?:\/assets\/links(?:\/(\d+))?)?$/.exec(rest))) {
      const release = fake.releases.find((r) => r.project === project && r.tag === m![1]);
      if (!release) return send(res, 404, { message: '404 Release Not Found' });
      const linksRoute = rest.includes('/assets/links');
      if (!linksRoute && method === 'GET')
        return send(res, 200, {
          tag_name: release.tag,
          commit: { id: release.commit },
          assets: { links: release.links.map(linkJson) },
          _links: { self: `http://gitlab.test/releases/${release.tag}` },
        });
      if (linksRoute && !m[2] && method === 'GET') {
        // Offset pagination as GitLab documents it: per_page (default 20, at most 100), page, x-next-page empty on the last.
        const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 20));
        const page = Number(url.searchParams.get('page') ?? 1);
        const next = page * perPage < release.links.length ? String(page + 1) : '';
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-page': String(page),
          'x-per-page': String(perPage),
          'x-next-page': next,
          'x-total': String(release.links.length),
        });
        res.end(JSON.stringify(release.links.slice((page - 1) * perPage, page * perPage).map(linkJson)));
        return;
      }
      if (linksRoute && !m[2] && method === 'POST') {
        if (release.links.some((l) => l.name === body.name)) return send(res, 400, { message: { name: ['has already been taken'] } });
        const link: FakeGitLabLink = { id: nextId++, name: String(body.name), url: String(body.url) };
        release.links.push(link);
        return send(res, 201, linkJson(link));
      }
      if (linksRoute && m[2] && method === 'DELETE') {
        const link = release.links.find((l) => l.id === Number(m![2]));
        if (!link) return send(res, 404, { message: '404 Not found' });
        release.links.splice(release.links.indexOf(link), 1);
        return send(res, 200, linkJson(link));
      }
    }
    return send(res, 404, { message: `404 Not Found: ${method} ${path}` });
  };
  const server: Server = createServer((req, res) => {
    if (fake.gitOrigin && (req.url ?? '').includes('.git/')) {
      const upstream = request(`${fake.gitOrigin}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', (error) => send(res, 502, { message: error.message }));
      req.pipe(upstream);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const bytes = Buffer.concat(chunks);
        handle(req, res, bytes.toString('utf8'), bytes);
      } catch (error) {
        send(res, 500, { message: (error as Error).message });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
