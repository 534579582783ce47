/**
 * `/sign-release` in constant memory: the app runs as deployments run it (`node dist/app.mjs`,
 * a child process, GitHub and GitLab configured), and signs a 16 MiB and then a 256 MiB asset on
 * each forge. The large file is sparse on disk and streamed by the fakes, so neither side of the
 * test holds it in memory. The app's peak RSS (VmHWM from /proc) is read after each release: the
 * large asset may not raise it by more than a fraction of its size (reading an asset into memory
 * once, as before, raised it by more than the asset). What was uploaded is checked with gpg and
 * against the file's sha256. The GitLab links point at a separate host that must never see the
 * GitLab token.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';
import { deliver, example, post, retarget } from '../../helpers/fake-github-webhooks.ts';
import { startFakeGitLab, type FakeGitLab } from '../../helpers/fake-gitlab.ts';
import { freePort } from '../../helpers/postgres.ts';
import { makeReleaseFixture, type ReleaseFixture } from '../../helpers/release-fixtures.ts';
import { gpgVerify } from '../../helpers/sign-gpg.ts';

const root = resolve(import.meta.dirname, '..', '..', '..');
const MiB = 1 << 20;
const SMALL = 16 * MiB;
const LARGE = 256 * MiB;
const SECRET = 'streaming-webhook-secret';
const GITLAB_SECRET = 'streaming-gitlab-secret';
const FULL_NAME = 'octo-org/big-release';
const PROJECT_ID = 808;
const MAINTAINER = { id: 31, username: 'maya' };

let fixture: ReleaseFixture;
let github: FakeGitHub;
let gitlab: FakeGitLab;
let dir: string;
let app: { child: ChildProcess; url: string; output: string[] };
/** The "CDN" GitLab release links point at: streams files, records the headers it was sent. */
let cdn: { server: Server; origin: string; files: Map<string, string>; seen: IncomingHttpHeaders[] };
let nextId = 40_000;

/** A sparse file of `size` bytes with a distinct 64 KiB block every 8 MiB (not all zeros). */
function sparseFile(path: string, size: number, seed: string): void {
  const fd = openSync(path, 'w');
  try {
    for (let offset = 0; offset < size; offset += 8 * MiB) {
      const block = Buffer.alloc(64 << 10);
      for (let i = 0; i < block.length; i += 32) createHash('sha256').update(`${seed}:${offset}:${i}`).digest().copy(block, i);
      writeSync(fd, block, 0, block.length, offset);
    }
    writeSync(fd, Buffer.from('end'), 0, 3, size - 3);
  } finally {
    closeSync(fd);
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Peak resident set size of the app process so far, MiB. */
function peakMiB(): number {
  const status = readFileSync(`/proc/${app.child.pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

async function waitHealthy(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (app.child.exitCode !== null) throw new Error(`the app exited with ${app.child.exitCode}: ${app.output.join('')}`);
    try {
      if ((await fetch(`${app.url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the app did not answer /healthz within 30 s: ${app.output.join('')}`);
}

/** A fresh app process (`node dist/app.mjs`), so each forge's figures start from the same state. */
async function startApp(): Promise<void> {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(process.execPath, ['dist/app.mjs'], {
    cwd: root,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', TMPDIR: join(dir, 'tmp'),
      APP_ID: String(github.appId), PRIVATE_KEY: github.privateKey, WEBHOOK_SECRET: SECRET, GHE_HOST: github.host, GHE_PROTOCOL: 'http',
      PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SIGNET_CACHE_DIR: join(dir, 'cache'), SIGNET_SQLITE_PATH: join(dir, 'signet.sqlite'),
      SIGNET_INSTANCE_ID: 'streaming', SIGNET_GITHUB_WRITE_INTERVAL_MS: '0',
      GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token, GITLAB_WEBHOOK_SECRET: GITLAB_SECRET,
      ...fixture.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  app = { child, url: `http://127.0.0.1:${port}`, output };
  await waitHealthy();
}

async function stopApp(): Promise<void> {
  if (!app || app.child.exitCode !== null) return;
  const exited = new Promise<void>((r) => app.child.once('exit', () => r()));
  app.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (app.child.exitCode === null) app.child.kill('SIGKILL');
}

beforeAll(async () => {
  fixture = await makeReleaseFixture();
  dir = mkdtempSync(join(tmpdir(), 'signet-release-streaming-'));
  mkdirSync(join(dir, 'tmp'));
  sparseFile(join(dir, 'small.bin'), SMALL, 'small');
  sparseFile(join(dir, 'large.bin'), LARGE, 'large');
  [github, gitlab] = await Promise.all([startFakeGitHub(), startFakeGitLab()]);
  github.repositories.set(FULL_NAME, fixture.bare);
  github.permissions.set('maintainer-mia', { permission: 'write', role_name: 'maintain' });
  gitlab.projects.set(PROJECT_ID, fixture.bare);
  gitlab.members.set(`${PROJECT_ID}:${MAINTAINER.id}`, 40);
  // /sign-release confirms the project with GitLab before acting for it (id and path must agree).
  gitlab.projectPaths.set(PROJECT_ID, 'group/big');
  const files = new Map<string, string>();
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    // A moved file: signet follows the redirect itself (GitLab links often point at redirects).
    if (req.url?.startsWith('/moved/')) return void res.writeHead(302, { location: req.url.slice('/moved'.length) }).end();
    const file = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cdn = { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, files, seen };
}, 120_000);

afterAll(async () => {
  await stopApp();
  await github?.stop();
  await gitlab?.stop();
  cdn?.server.closeAllConnections();
  await new Promise((r) => (cdn ? cdn.server.close(r) : r(undefined)));
  fixture?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const rowsOf = (body: string) => body.split('\n').filter((l) => l.startsWith('| `')).map((l) => l.split(' | ').map((c) => c.replace(/^\| /, '').replace(/ \|$/, '').trim()));

async function gitHubCommand(tag: string): Promise<string> {
  const payload = retarget(example('issue_comment', 'created'), { fullName: FULL_NAME, cloneUrl: `https://github.example/${FULL_NAME}.git`, installationId: 78 });
  Object.assign(payload.issue as object, { number: 5 });
  delete (payload.issue as Record<string, unknown>).pull_request;
  Object.assign(payload.comment as object, { id: nextId++, body: `/sign-release ${tag}`, user: { ...((payload.comment as { user?: object }).user ?? {}), login: 'maintainer-mia', type: 'User' } });
  const before = github.comments.length;
  const response = await deliver(`${app.url}/api/github/webhooks`, SECRET, 'issue_comment', payload);
  // Probot answers 202 when the work outlasts GitHub's webhook timeout, then goes on.
  expect([200, 202], app.output.join('')).toContain(response.status);
  for (let i = 0; i < 1200 && github.comments.length === before; i++) await new Promise((r) => setTimeout(r, 50));
  expect(github.comments.length, app.output.join('')).toBe(before + 1);
  return github.comments.at(-1)!.body;
}

async function gitLabNote(tag: string): Promise<string> {
  const payload = {
    object_kind: 'note', event_type: 'note', user: { ...MAINTAINER, name: MAINTAINER.username }, project_id: PROJECT_ID,
    project: { id: PROJECT_ID, name: 'big', path_with_namespace: 'group/big', default_branch: 'main', git_http_url: 'https://gitlab.example/group/big.git', web_url: 'https://gitlab.example/group/big' },
    object_attributes: { id: nextId++, note: `/sign-release ${tag}`, noteable_type: 'Issue', author_id: MAINTAINER.id },
    issue: { iid: 3, id: 5003, title: 'Big release' },
  };
  const before = gitlab.notes.length;
  const response = await post(`${app.url}/gitlab/webhook`, { 'content-type': 'application/json', 'x-gitlab-event': 'Note Hook', 'x-gitlab-token': GITLAB_SECRET }, JSON.stringify(payload));
  expect([200, 202]).toContain(response.status);
  for (let i = 0; i < 1200 && gitlab.notes.length === before; i++) await new Promise((r) => setTimeout(r, 50));
  expect(gitlab.notes.length, app.output.join('')).toBe(before + 1);
  return gitlab.notes.at(-1)!.body;
}

/** Puts the outputs next to (a link to) the asset and checks them as a user would: gpg, and the sha256 in checksums.txt. */
function checkOutputs(name: string, assetPath: string, outputs: Map<string, Buffer>, sha256: string): void {
  const check = mkdtempSync(join(dir, 'check-'));
  symlinkSync(assetPath, join(check, name));
  for (const suffix of ['.asc', '.sig']) writeFileSync(join(check, `${name}${suffix}`), outputs.get(`${name}${suffix}`)!);
  expect(outputs.get('checksums.txt')!.toString()).toBe(`${sha256}  ${name}\n`);
  const gpg = gpgVerify(fixture.gpg, [`${name}.asc`, name], check);
  expect(gpg.status, gpg.stderr).toBe(0);
  expect(gpg.validsig).toBe(fixture.gpg.fingerprint);
  const bundle = JSON.parse(outputs.get(`${name}.sigstore.json`)!.toString()) as { messageSignature: { messageDigest: { digest: string } } };
  expect(Buffer.from(bundle.messageSignature.messageDigest.digest, 'base64').toString('hex')).toBe(sha256);
}

interface Figure {
  /** Peak RSS of the app process after the release, MiB. */
  peak: number;
  ms: number;
}

async function measured(run: () => Promise<string>): Promise<{ body: string; figure: Figure }> {
  const started = Date.now();
  const body = await run();
  return { body, figure: { peak: Math.round(peakMiB() * 10) / 10, ms: Date.now() - started } };
}

const noFailures = (body: string) => expect(rowsOf(body).filter((r) => r[2]!.startsWith('failed')), body).toEqual([]);

describe('/sign-release streams release assets (the app as a child process, one per forge)', () => {
  it('GitHub: signing a 256 MiB asset costs the app about what a 16 MiB one does', async () => {
    const [smallSha, largeSha] = await Promise.all([sha256Of(join(dir, 'small.bin')), sha256Of(join(dir, 'large.bin'))]);
    await startApp();
    try {
      // Assets through the API (the fake streams them from the sparse files).
      const small = github.addRelease(FULL_NAME, 'v0.1.0', [{ name: 'tool-small.bin', path: join(dir, 'small.bin') }]);
      const first = await measured(() => gitHubCommand('v0.1.0'));
      noFailures(first.body);
      const large = github.addRelease(FULL_NAME, 'v0.2.0', [{ name: 'tool-large.bin', path: join(dir, 'large.bin') }]);
      const second = await measured(() => gitHubCommand('v0.2.0'));
      noFailures(second.body);
      expect(rowsOf(second.body).filter((r) => r[2] === 'uploaded').map((r) => r[0])).toEqual(
        ['`tool-large.bin.sig`', '`tool-large.bin.sigstore.json`', '`tool-large.bin.asc`', '`checksums.txt`', '`checksums.txt.asc`', '`release.provenance.sigstore.json`'],
      );
      checkOutputs('tool-small.bin', join(dir, 'small.bin'), new Map(small.assets.map((a) => [a.name, a.content])), smallSha);
      checkOutputs('tool-large.bin', join(dir, 'large.bin'), new Map(large.assets.map((a) => [a.name, a.content])), largeSha);
      const figures = { small: first.figure, large: second.figure };
      process.stdout.write(`GitHub /sign-release, app peak RSS (MiB) and time: ${JSON.stringify(figures)}\n`);
      // Reading the asset into memory once would add at least its 240 MiB of difference.
      expect(second.figure.peak - first.figure.peak, JSON.stringify(figures)).toBeLessThan(128);
    } finally {
      await stopApp();
    }
  }, 120_000);

  it('GitLab: the same, with links on another host that never sees the token; a rerun verifies the 256 MiB asset streamed and uploads nothing', async () => {
    const largeSha = await sha256Of(join(dir, 'large.bin'));
    await startApp();
    try {
      const link = (release: ReturnType<FakeGitLab['addRelease']>, name: string, file: string, moved = false) => {
        cdn.files.set(`/${name}`, file);
        release.links.push({ id: nextId++, name, url: `${cdn.origin}${moved ? '/moved' : ''}/${name}` });
      };
      link(gitlab.addRelease(PROJECT_ID, 'v0.1.0', fixture.tagCommit, []), 'tool-small.bin', join(dir, 'small.bin'), true);
      const first = await measured(() => gitLabNote('v0.1.0'));
      noFailures(first.body);
      expect(cdn.seen).toHaveLength(2); // the redirect, then the file
      const large = gitlab.addRelease(PROJECT_ID, 'v0.2.0', fixture.tagCommit, []);
      link(large, 'tool-large.bin', join(dir, 'large.bin'));
      const second = await measured(() => gitLabNote('v0.2.0'));
      noFailures(second.body);
      const uploaded = new Map(large.links.filter((l) => l.url.startsWith(gitlab.url)).map((l) => [l.name, gitlab.uploads.get(new URL(l.url).pathname)!]));
      checkOutputs('tool-large.bin', join(dir, 'large.bin'), uploaded, largeSha);
      // Again: the asset is downloaded and every output verified against it; nothing uploaded.
      const uploadsBefore = gitlab.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/uploads')).length;
      const third = await measured(() => gitLabNote('v0.2.0'));
      const rows = rowsOf(third.body);
      expect(rows.filter((r) => r[2] === 'kept: already there and valid')).toHaveLength(6);
      // The repository has no tag v0.2.0: no lockfile, no SBOM (said in the table).
      expect(rows.filter((r) => r[2] !== 'kept: already there and valid').map((r) => r[0])).toEqual(['`release.spdx.sigstore.json`']);
      expect(gitlab.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/uploads'))).toHaveLength(uploadsBefore);
      expect(cdn.seen.length).toBeGreaterThanOrEqual(4);
      expect(cdn.seen.filter((headers) => headers['private-token'] !== undefined || headers.authorization !== undefined)).toEqual([]);
      const figures = { small: first.figure, large: second.figure, rerun: third.figure };
      process.stdout.write(`GitLab /sign-release, app peak RSS (MiB) and time: ${JSON.stringify(figures)}\n`);
      expect(second.figure.peak - first.figure.peak, JSON.stringify(figures)).toBeLessThan(128);
      expect(third.figure.peak - first.figure.peak, JSON.stringify(figures)).toBeLessThan(128);
    } finally {
      await stopApp();
    }
  }, 120_000);
});
