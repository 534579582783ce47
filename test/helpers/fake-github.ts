/**
 * A local stand-in for the GitHub REST API (as GitHub Enterprise serves it, under /api/v3):
 * the routes signet calls, answered from a real bare repository (contents, commit → account)
 * and from what the test configures (users' keys, pull requests). Every request is recorded;
 * faults can be queued per route (5xx, rate limits). Installation tokens are only handed out
 * for a JWT that verifies with the app's public key.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** When it arrived (Date.now()). */
  at?: number;
}

export interface CheckRunRecord {
  id: number;
  repository: string;
  created: Record<string, unknown>;
  updates: Array<Record<string, unknown>>;
  /** The body after every update is applied. */
  current: Record<string, unknown>;
}

export interface Fault {
  method: string;
  /** Matched against the path without /api/v3. */
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many requests it answers (default 1). */
  times?: number;
  /** Never answer (a forge that hangs); the connection stays open until the fake stops. */
  hang?: boolean;
  /** Release uploads only: fault just the upload of this asset name. */
  uploadName?: string;
}

export interface FakeGitHubUser {
  gpgKeys?: Array<{ raw_key: string; emails: Array<{ email: string; verified: boolean }> }>;
  sshSigningKeys?: string[];
}

export interface FakeReleaseAsset {
  id: number;
  name: string;
  contentType: string;
  content: Buffer;
  /** A file-backed asset: served streamed from this file (`content` is then empty). */
  path?: string;
  /** An asset that never ends: zeros served chunked, without a length, until the client hangs up. */
  endless?: boolean;
}

/** An asset to add: its bytes, or a file to stream (large assets the test never holds in memory). */
export type FakeAssetSource = { name: string; content: Buffer | string } | { name: string; path: string } | { name: string; endless: true };

export interface FakeRelease {
  id: number;
  repository: string;
  tag: string;
  assets: FakeReleaseAsset[];
}

export interface FakeGitHub {
  baseUrl: string;
  host: string;
  port: number;
  appId: number;
  /** PKCS#1 PEM, as GitHub issues it. */
  privateKey: string;
  privateKeyPkcs8: string;
  requests: RecordedRequest[];
  checkRuns: CheckRunRecord[];
  reactions: Array<{ repository: string; commentId: number; content: string }>;
  faults: Fault[];
  users: Map<string, FakeGitHubUser>;
  /** Verified e-mail → login: how GitHub links commits to accounts. */
  emailLogins: Map<string, string>;
  /** full name → bare repository path. */
  repositories: Map<string, string>;
  /** `full/name#number` → pull request object. */
  pulls: Map<string, Record<string, unknown>>;
  /** Delay every answer (ms), for timeout tests. */
  delayMs: number;
  issuedTokens: string[];
  /** Releases with their assets; uploads land here (at /api/uploads, as GHE serves them). */
  releases: FakeRelease[];
  /** When set, an asset download is answered with a 302 to `URL/ASSET_ID` (as GitHub sends it to signed storage). */
  assetStorageUrl?: string;
  /** login → what GET /collaborators/{login}/permission answers; absent is a 404 (not a collaborator). */
  permissions: Map<string, { permission: string; role_name: string }>;
  /** Issue and pull request comments posted. */
  comments: Array<{ repository: string; issueNumber: number; body: string }>;
  addRelease(repository: string, tag: string, assets: FakeAssetSource[]): FakeRelease;
  writesTo(pathPart: string): RecordedRequest[];
  stop(): Promise<void>;
}

function gitShow(bare: string, spec: string): Buffer | undefined {
  try {
    return execFileSync('git', ['--git-dir', bare, 'cat-file', 'blob', spec], { stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/**
 * A file's blob at a ref, without a git process when the ref is a commit id or a branch read
 * from the refs files: what a commit holds never changes, so (commit, path) → blob and blob →
 * bytes are kept. The benchmarks send thousands of contents requests, and two synchronous git
 * processes each made the fake, not the app, what the machine spent its time on.
 */
const blobAt = new Map<string, string | null>();
const blobBytes = new Map<string, Buffer | null>();

function fileAt(bare: string, ref: string, file: string): { blobId: string; content: Buffer } | undefined {
  const commit = /^[0-9a-f]{40}$/.test(ref) ? ref : branchTip(bare, ref);
  if (!commit) {
    const blobId = gitRevParse(bare, `${ref}:${file}`);
    const content = blobId ? gitShow(bare, blobId) : undefined;
    return blobId && content ? { blobId, content } : undefined;
  }
  const where = `${bare}\0${commit}:${file}`;
  let blobId = blobAt.get(where);
  if (blobId === undefined) {
    blobId = gitRevParse(bare, `${commit}:${file}`) ?? null;
    blobAt.set(where, blobId);
  }
  if (!blobId) return undefined;
  let content = blobBytes.get(`${bare}\0${blobId}`);
  if (content === undefined) {
    content = gitShow(bare, blobId) ?? null;
    blobBytes.set(`${bare}\0${blobId}`, content);
  }
  return content ? { blobId, content } : undefined;
}

/** A branch's commit from the loose ref or packed-refs; undefined when it is anything else. */
function branchTip(bare: string, ref: string): string | undefined {
  const name = ref.startsWith('refs/') ? ref : `refs/heads/${ref}`;
  if (!/^refs\/heads\/[A-Za-z0-9._/-]+$/.test(name) || name.includes('..')) return undefined;
  let loose: string | undefined;
  try {
    loose = readFileSync(join(bare, name), 'utf8').trim();
  } catch {
    // not loose: packed
  }
  // A loose ref wins over packed-refs; a symbolic one is left to git.
  if (loose !== undefined) return /^[0-9a-f]{40}$/.test(loose) ? loose : undefined;
  try {
    for (const line of readFileSync(join(bare, 'packed-refs'), 'utf8').split('\n')) {
      const [oid, refName] = line.split(' ');
      if (refName === name && oid && /^[0-9a-f]{40}$/.test(oid)) return oid;
    }
  } catch {
    // no packed-refs
  }
  return undefined;
}

function gitRevParse(bare: string, spec: string): string | undefined {
  try {
    return execFileSync('git', ['--git-dir', bare, 'rev-parse', '--verify', '--quiet', spec], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

function verifyJwt(token: string, publicKey: KeyObject, appId: number): boolean {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return false;
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${header}.${payload}`);
  if (!verifier.verify(publicKey, Buffer.from(signature, 'base64url'))) return false;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss?: unknown; exp?: number };
  return String(claims.iss) === String(appId) && typeof claims.exp === 'number' && claims.exp * 1000 > Date.now() - 60_000;
}

/** Zeros, 64 KiB at a time, for as long as the client reads. */
export function serveEndless(res: ServerResponse): void {
  const chunk = Buffer.alloc(64 << 10);
  const more = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', more);
  };
  res.on('close', () => res.removeAllListeners('drain'));
  more();
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const verifyKey = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
  const appId = 4242;
  let nextId = 1000;

  const fake: Omit<FakeGitHub, 'baseUrl' | 'host' | 'port' | 'stop' | 'writesTo'> = {
    appId,
    privateKey: pkcs1,
    privateKeyPkcs8: pkcs8,
    requests: [],
    checkRuns: [],
    reactions: [],
    faults: [],
    users: new Map(),
    emailLogins: new Map(),
    repositories: new Map(),
    pulls: new Map(),
    delayMs: 0,
    issuedTokens: [],
    releases: [],
    permissions: new Map(),
    comments: [],
    addRelease(repository: string, tag: string, assets: FakeAssetSource[]): FakeRelease {
      const release: FakeRelease = {
        id: nextId++,
        repository,
        tag,
        assets: assets.map((a) => ({
          id: nextId++,
          name: a.name,
          contentType: 'application/octet-stream',
          ...('path' in a
            ? { content: Buffer.alloc(0), path: a.path }
            : 'endless' in a
              ? { content: Buffer.alloc(0), endless: true }
              : { content: Buffer.from(a.content) }),
        })),
      };
      fake.releases.push(release);
      return release;
    },
  };
  const sizeOf = (asset: FakeReleaseAsset) => (asset.path ? statSync(asset.path).size : asset.content.length);
  const assetJson = (asset: FakeReleaseAsset) => ({ id: asset.id, name: asset.name, content_type: asset.contentType, size: sizeOf(asset), state: 'uploaded' });
  let origin = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string, bytes: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/api/uploads/')) return upload(req, res, url, bytes);
    if (!url.pathname.startsWith('/api/v3/')) return send(res, 404, { message: 'Not Found' });
    const path = url.pathname.slice('/api/v3'.length);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    fake.requests.push({ method, path: decodeURIComponent(path), query: url.searchParams, headers: req.headers, body, at: Date.now() });

    const fault = fake.faults.find((f) => f.method === method && f.path.test(path));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) fake.faults.splice(fake.faults.indexOf(fault), 1);
      if (fault.hang) return;
      return send(res, fault.status, fault.body ?? { message: `fault injected by the test (${fault.status})` }, fault.headers);
    }

    let m: RegExpExecArray | null;
    if (method === 'POST' && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path))) {
      const auth = String(req.headers.authorization ?? '');
      if (!/^bearer /i.test(auth) || !verifyJwt(auth.slice(7), verifyKey, appId)) return send(res, 401, { message: 'A JSON web token could not be decoded' });
      const token = `ghs_test${m[1]}_${nextId++}`;
      fake.issuedTokens.push(token);
      return send(res, 201, { token, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { checks: 'write', contents: 'read' } });
    }
    const auth = String(req.headers.authorization ?? '');
    if (!/^token ghs_test\d+_\d+$/i.test(auth) || !fake.issuedTokens.includes(auth.slice(6))) return send(res, 401, { message: 'Bad credentials' });

    if ((m = /^\/users\/([^/]+)\/gpg_keys$/.exec(path)) && method === 'GET') {
      const user = fake.users.get(decodeURIComponent(m[1]!));
      return send(
        res,
        200,
        (user?.gpgKeys ?? []).map((key, i) => ({ id: i + 1, key_id: 'X', raw_key: key.raw_key, emails: key.emails, can_sign: true })),
      );
    }
    if ((m = /^\/users\/([^/]+)\/ssh_signing_keys$/.exec(path)) && method === 'GET') {
      const user = fake.users.get(decodeURIComponent(m[1]!));
      return send(
        res,
        200,
        (user?.sshSigningKeys ?? []).map((key, i) => ({ id: i + 1, key, title: `key ${i + 1}` })),
      );
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/(.*)$/.exec(path);
    if (!m) return send(res, 404, { message: 'Not Found' });
    const fullName = decodeURIComponent(m[1]!);
    const rest = m[2]!;
    const bare = fake.repositories.get(fullName);
    if (!bare) return send(res, 404, { message: 'Not Found' });

    if (method === 'GET' && rest.startsWith('contents/')) {
      const file = decodeURIComponent(rest.slice('contents/'.length));
      const ref = url.searchParams.get('ref') ?? 'HEAD';
      const found = fileAt(bare, ref, file);
      if (!found) return send(res, 404, { message: 'Not Found' });
      const { blobId, content } = found;
      const etag = `"${blobId}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      return send(
        res,
        200,
        { type: 'file', encoding: 'base64', size: content.length, name: file.split('/').pop(), path: file, sha: blobId, content: content.toString('base64') },
        { etag },
      );
    }
    if (method === 'GET' && (m = /^commits\/([0-9a-f]{40})\/pulls$/.exec(rest))) {
      const sha = m[1];
      const all = [...fake.pulls.entries()]
        .filter(([key, pull]) => key.startsWith(`${fullName}#`) && (pull.head as { sha?: string })?.sha === sha)
        .map(([, pull]) => pull);
      // Pages as GitHub documents them: per_page (default 30, at most 100), page, a Link header.
      const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
      const page = Number(url.searchParams.get('page') ?? 1);
      const next = page * perPage < all.length ? { link: `<${url.origin}${url.pathname}?per_page=${perPage}&page=${page + 1}>; rel="next"` } : undefined;
      return send(res, 200, all.slice((page - 1) * perPage, page * perPage), next);
    }
    if (method === 'GET' && (m = /^commits\/([^/]+)$/.exec(rest))) {
      const sha = gitRevParse(bare, `${decodeURIComponent(m[1]!)}^{commit}`);
      if (!sha) return send(res, 422, { message: 'No commit found for SHA' });
      const email = execFileSync('git', ['--git-dir', bare, 'log', '-1', '--format=%ce', sha]).toString().trim().toLowerCase();
      const login = fake.emailLogins.get(email);
      return send(res, 200, { sha, commit: { committer: { email } }, committer: login ? { login, id: 1 } : null });
    }
    if (method === 'GET' && (m = /^pulls\/(\d+)$/.exec(rest))) {
      const pull = fake.pulls.get(`${fullName}#${m[1]}`);
      return pull ? send(res, 200, pull) : send(res, 404, { message: 'Not Found' });
    }
    if (method === 'POST' && rest === 'check-runs') {
      const created = body as Record<string, unknown>;
      const record: CheckRunRecord = { id: nextId++, repository: fullName, created, updates: [], current: { ...created } };
      fake.checkRuns.push(record);
      return send(res, 201, { id: record.id, ...created });
    }
    if (method === 'PATCH' && (m = /^check-runs\/(\d+)$/.exec(rest))) {
      const record = fake.checkRuns.find((r) => r.id === Number(m![1]));
      if (!record) return send(res, 404, { message: 'Not Found' });
      record.updates.push(body as Record<string, unknown>);
      Object.assign(record.current, body as Record<string, unknown>);
      return send(res, 200, { id: record.id, ...record.current });
    }
    if (method === 'POST' && (m = /^issues\/comments\/(\d+)\/reactions$/.exec(rest))) {
      fake.reactions.push({ repository: fullName, commentId: Number(m[1]), content: String((body as { content?: string })?.content) });
      return send(res, 201, { id: nextId++ });
    }
    if (method === 'GET' && (m = /^collaborators\/([^/]+)\/permission$/.exec(rest))) {
      const permission = fake.permissions.get(decodeURIComponent(m[1]!));
      return permission ? send(res, 200, { ...permission, user: { login: decodeURIComponent(m[1]!) } }) : send(res, 404, { message: 'Not Found' });
    }
    if (method === 'POST' && (m = /^issues\/(\d+)\/comments$/.exec(rest))) {
      fake.comments.push({ repository: fullName, issueNumber: Number(m[1]), body: String((body as { body?: string })?.body) });
      return send(res, 201, { id: nextId++ });
    }
    if (method === 'GET' && (m = /^releases\/tags\/(.+)$/.exec(rest))) {
      const release = fake.releases.find((r) => r.repository === fullName && r.tag === decodeURIComponent(m![1]!));
      if (!release) return send(res, 404, { message: 'Not Found' });
      return send(res, 200, {
        id: release.id,
        tag_name: release.tag,
        html_url: `https://github.example/${fullName}/releases/tag/${release.tag}`,
        upload_url: `${origin}/api/uploads/repos/${fullName}/releases/${release.id}/assets{?name,label}`,
        assets: release.assets.map(assetJson),
      });
    }
    if (method === 'GET' && (m = /^releases\/(\d+)\/assets$/.exec(rest))) {
      const release = fake.releases.find((r) => r.repository === fullName && r.id === Number(m![1]));
      if (!release) return send(res, 404, { message: 'Not Found' });
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      return send(res, 200, release.assets.slice((page - 1) * perPage, page * perPage).map(assetJson));
    }
    if ((m = /^releases\/assets\/(\d+)$/.exec(rest))) {
      const release = fake.releases.find((r) => r.repository === fullName && r.assets.some((a) => a.id === Number(m![1])));
      const asset = release?.assets.find((a) => a.id === Number(m![1]));
      if (!release || !asset) return send(res, 404, { message: 'Not Found' });
      if (method === 'DELETE') {
        release.assets.splice(release.assets.indexOf(asset), 1);
        res.writeHead(204).end();
        return;
      }
      if (method === 'GET' && req.headers.accept === 'application/octet-stream' && fake.assetStorageUrl) {
        res.writeHead(302, { location: `${fake.assetStorageUrl}/${asset.id}` }).end();
        return;
      }
      if (method === 'GET' && req.headers.accept === 'application/octet-stream' && asset.endless) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        serveEndless(res);
        return;
      }
      if (method === 'GET' && req.headers.accept === 'application/octet-stream') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(sizeOf(asset)) });
        if (asset.path) createReadStream(asset.path).pipe(res);
        else res.end(asset.content);
        return;
      }
      if (method === 'GET') return send(res, 200, assetJson(asset));
    }
    return send(res, 404, { message: `Not Found: ${method} ${path}` });
  };

  /** POST /api/uploads/repos/{o}/{r}/releases/{id}/assets?name=…: the raw body is the asset; a taken name is a 422, as on GitHub. */
  const upload = (req: IncomingMessage, res: ServerResponse, url: URL, bytes: Buffer): void => {
    const path = url.pathname.slice('/api/uploads'.length);
    const method = req.method ?? 'GET';
    fake.requests.push({ method, path: decodeURIComponent(path), query: url.searchParams, headers: req.headers, body: { size: bytes.length }, at: Date.now() });
    const fault = fake.faults.find((f) => f.method === method && f.path.test(path) && (!f.uploadName || f.uploadName === url.searchParams.get('name')));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) fake.faults.splice(fake.faults.indexOf(fault), 1);
      if (fault.hang) return;
      return send(res, fault.status, fault.body ?? { message: `fault injected by the test (${fault.status})` }, fault.headers);
    }
    const auth = String(req.headers.authorization ?? '');
    if (!/^token ghs_test\d+_\d+$/i.test(auth) || !fake.issuedTokens.includes(auth.slice(6))) return send(res, 401, { message: 'Bad credentials' });
    const m = /^\/repos\/([^/]+\/[^/]+)\/releases\/(\d+)\/assets$/.exec(path);
    const release = m ? fake.releases.find((r) => r.repository === decodeURIComponent(m[1]!) && r.id === Number(m[2])) : undefined;
    const name = url.searchParams.get('name');
    if (method !== 'POST' || !release || !name) return send(res, 404, { message: 'Not Found' });
    if (release.assets.some((a) => a.name === name))
      return send(res, 422, { message: 'Validation Failed', errors: [{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }] });
    const asset: FakeReleaseAsset = { id: nextId++, name, contentType: String(req.headers['content-type'] ?? ''), content: bytes };
    release.assets.push(asset);
    return send(res, 201, assetJson(asset));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const go = () => {
        try {
          const bytes = Buffer.concat(chunks);
          handle(req, res, bytes.toString('utf8'), bytes);
        } catch (error) {
          send(res, 500, { message: (error as Error).message });
        }
      };
      if (fake.delayMs > 0) setTimeout(go, fake.delayMs);
      else go();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return Object.assign(fake, {
    host: `127.0.0.1:${port}`,
    port,
    baseUrl: `http://127.0.0.1:${port}/api/v3`,
    writesTo(pathPart: string) {
      return fake.requests.filter((r) => r.method !== 'GET' && r.path.includes(pathPart));
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
