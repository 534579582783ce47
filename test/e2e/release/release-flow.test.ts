/**
 * The one `/sign-release` flow (src/release/flow.ts) against both forge adapters, the same
 * cases for each (as test/e2e/store/store-sql.test.ts runs one suite against SQLite and PostgreSQL): the
 * GitHub adapter over a real Octokit against the fake GitHub, the GitLab adapter over the one
 * GitLab client against the fake GitLab. The fakes record every request with its headers, so
 * the token scoping is read off what each host was sent. No signing keys are configured here:
 * what is under test is listing, downloading and answering (signing is tested end to end in
 * release-github/release-gitlab.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Octokit } from '@octokit/core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitHubReleaseForge } from '../../../src/app/sign-release.ts';
import { createGitHubCaches, type GitHubRequest } from '../../../src/forge/github-api.ts';
import { createGitLabCaches } from '../../../src/forge/gitlab-api.ts';
import { gitLabClient } from '../../../src/forge/gitlab-client.ts';
import { gitLabReleaseForge } from '../../../src/gitlab/sign-release.ts';
import { runSignRelease, type ReleaseForge, type SignReleaseOutcome } from '../../../src/release/flow.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';
import { startFakeGitLab, type FakeGitLab } from '../../helpers/fake-gitlab.ts';
import { readMarkdown } from '../../helpers/read-markdown.ts';

type AssetSource = { name: string; content: Buffer | string } | { name: string; endless: true };

/** One forge as the suite sees it. */
interface ForgeUnderTest {
  name: string;
  start(dir: string, store: SignetStore): Promise<void>;
  stop(): Promise<void>;
  addRelease(tag: string, assets: AssetSource[]): void;
  /** The adapter for one command on a fresh comment / note. */
  forge(delivery: string, commandId: number): ReleaseForge;
  /** The answers posted so far. */
  replies(): string[];
  /** Downloads of release assets the fake served (paths). */
  downloads(): string[];
  /** Every request the forge host received, with the credential it carried. */
  credentialed(): Array<{ path: string; credential: string | undefined }>;
  /** Where the forge's credential may go for this event. */
  tokenMayGo(path: string): boolean;
}

const silent = pino({ level: 'silent' });
let store: SignetStore;
let dir: string;

function gitHubUnderTest(): ForgeUnderTest & { fake(): FakeGitHub } {
  const FULL_NAME = 'acme/widgets';
  let github: FakeGitHub;
  let request: GitHubRequest;
  const deps = () => ({ store, gitCache: undefined as never, caches: createGitHubCaches(), log: silent, instanceId: 'flow-test', leaseMs: 60_000, checkTimeoutMs: 60_000, now: () => new Date() });
  return {
    name: 'GitHub',
    fake: () => github,
    async start() {
      github = await startFakeGitHub();
      github.permissions.set('maintainer-mia', { permission: 'write', role_name: 'maintain' });
      github.repositories.set(FULL_NAME, bareRepository());
      const token = 'ghs_test77_1';
      github.issuedTokens.push(token);
      const octokit = new Octokit({ auth: token, baseUrl: github.baseUrl });
      request = octokit.request as unknown as GitHubRequest;
    },
    stop: () => github.stop(),
    addRelease(tag, assets) {
      github.addRelease(FULL_NAME, tag, assets);
    },
    forge(delivery, commandId) {
      const repository = { owner: 'acme', name: 'widgets', fullName: FULL_NAME, cloneUrl: `https://github.example/${FULL_NAME}.git`, defaultBranch: 'main', installationId: 77 };
      return gitHubReleaseForge({ request, token: async () => 'unused' }, deps(), { kind: 'sign-release', repository, tag: 'unused', issueNumber: 5, commentId: commandId, commenter: 'maintainer-mia', trigger: `sign-release:${commandId}` });
    },
    replies: () => github.comments.map((c) => c.body),
    downloads: () => github.requests.filter((r) => r.method === 'GET' && /\/releases\/assets\/\d+$/.test(r.path) && r.headers.accept === 'application/octet-stream').map((r) => r.path),
    credentialed: () => github.requests.map((r) => ({ path: r.path, credential: r.headers.authorization })),
    tokenMayGo: (path) => path.startsWith(`/repos/${FULL_NAME}/`),
  };
}

const PROJECT = { id: 314, fullName: 'group/released' };
/** A private project of the same GitLab the commenter cannot read. */
const OTHER_PROJECT = 999;

function gitLabUnderTest(): ForgeUnderTest & { fake(): FakeGitLab } {
  let gitlab: FakeGitLab;
  const deps = () => ({ client: gitLabClient({ baseUrl: gitlab.url, token: gitlab.token, retryDelaysMs: [] }), token: gitlab.token, caches: createGitLabCaches(), store, gitCache: undefined as never, log: silent, instanceId: 'flow-test', leaseMs: 60_000, checkTimeoutMs: 60_000, now: () => new Date() });
  return {
    name: 'GitLab',
    fake: () => gitlab,
    async start() {
      gitlab = await startFakeGitLab();
      gitlab.members.set(`${PROJECT.id}:21`, 40);
      gitlab.projects.set(PROJECT.id, bareRepository());
    },
    stop: () => gitlab.stop(),
    addRelease(tag, assets) {
      gitlab.addRelease(PROJECT.id, tag, 'a'.repeat(40), assets);
    },
    forge(delivery, commandId) {
      const project = { ...PROJECT, cloneUrl: `https://gitlab.example/${PROJECT.fullName}.git`, defaultBranch: 'main' };
      return gitLabReleaseForge(deps(), { kind: 'sign-release', project, tag: 'unused', noteable: 'merge_requests', iid: 3, noteId: commandId, userId: 21, username: 'maya', trigger: `sign-release:${commandId}` });
    },
    replies: () => gitlab.notes.map((n) => n.body),
    downloads: () => gitlab.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/-/project/')).map((r) => r.path),
    credentialed: () => gitlab.requests.map((r) => ({ path: r.path, credential: r.headers?.['private-token'] as string | undefined })),
    tokenMayGo: (path) => path.startsWith(`/projects/${PROJECT.id}/`) || new RegExp(`^/-/project/${PROJECT.id}/uploads/[0-9a-f]{32}/[^/]+$`).test(path),
  };
}

/** What the run left in its temporary directory, sampled while it runs: the largest total seen. */
function watchDisk(path: string): { stop(): number } {
  let peak = 0;
  const size = (p: string): number => {
    try {
      const s = statSync(p);
      return s.isDirectory() ? readdirSync(p).reduce((sum, name) => sum + size(join(p, name)), 0) : s.size;
    } catch {
      return 0; // removed between the listing and the stat
    }
  };
  const timer = setInterval(() => (peak = Math.max(peak, size(path))), 10);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, size(path));
    },
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'signet-release-flow-'));
  store = openSqliteStore(join(dir, 'signet.sqlite'));
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

let nextCommand = 100;

/** An empty bare repository: the fakes answer a project's routes only when it has one. */
function bareRepository(): string {
  const path = mkdtempSync(join(dir, 'bare-'));
  execFileSync('git', ['init', '-q', '--bare', path]);
  return path;
}

describe.each([gitHubUnderTest(), gitLabUnderTest()])('/sign-release flow on $name', (forge) => {
  const run = async (tag: string, env: Record<string, string> = {}): Promise<SignReleaseOutcome> => {
    const id = nextCommand++;
    return runSignRelease(forge.forge(`delivery-${id}`, id), { store, log: silent, instanceId: 'flow-test', leaseMs: 60_000, now: () => new Date() }, { tag, trigger: `sign-release:${id}`, delivery: `delivery-${id}` }, { env, cwd: dir });
  };
  const workDir = () => join(dir, `tmp-${forge.name}`);

  beforeAll(async () => {
    await forge.start(dir, store);
    mkdirSync(workDir(), { recursive: true });
  });
  afterAll(() => forge.stop());

  it('sees every asset of a release with 250, following the pages', async () => {
    forge.addRelease('v250', Array.from({ length: 250 }, (_, i) => ({ name: `part-${String(i).padStart(3, '0')}.bin`, content: `part ${i}\n` })));
    const before = forge.downloads().length;
    const outcome = await run('v250');
    expect(outcome.status).toBe('signed');
    expect(forge.downloads().length - before).toBe(250);
    const audit = (await store.listAudit(`${forge.name.toLowerCase()}:${forge.name === 'GitHub' ? 'acme/widgets' : PROJECT.fullName}`, 1))[0];
    expect(audit?.detail).toMatchObject({ assets: 250 });
  });

  it('refuses an endless asset at its cap, with a clear line, disk use bounded and nothing left behind', async () => {
    forge.addRelease('v-endless', [{ name: 'small.bin', content: 'fine\n' }, { name: 'endless.bin', endless: true }]);
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = workDir();
    const disk = watchDisk(workDir());
    let outcome: SignReleaseOutcome;
    try {
      outcome = await run('v-endless', { SIGNET_RELEASE_MAX_ASSET_BYTES: '1M' });
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
    }
    const peak = disk.stop();
    expect(outcome.status).toBe('failed');
    expect(readMarkdown(outcome.comment)).toContain('| `endless.bin` | download | failed: more than the per-asset cap of 1 MiB (SIGNET_RELEASE_MAX_ASSET_BYTES): the download was stopped there |');
    expect(peak).toBeLessThanOrEqual(1024 ** 2 + (256 << 10));
    expect(readdirSync(workDir())).toEqual([]);
  });

  it('stops at the per-run cap: what is left of it bounds the next asset', async () => {
    forge.addRelease('v-run', ['a', 'b', 'c'].map((n) => ({ name: `${n}.bin`, content: Buffer.alloc(600 << 10, n) })));
    const outcome = await run('v-run', { SIGNET_RELEASE_MAX_RUN_BYTES: '1M' });
    expect(outcome.status).toBe('failed');
    expect(readMarkdown(outcome.comment)).not.toContain('| `a.bin` | download |');
    // GitHub declares each asset's length: b and c are refused before a byte is written. GitLab's
    // uploads are cut while streaming: b spends the rest of the budget and c is not asked for.
    const cap = '1 MiB \\(SIGNET_RELEASE_MAX_RUN_BYTES\\)';
    const row = (name: string, why: string) => new RegExp(`\\| \`${name}\\.bin\` \\| download \\| failed: ${why}`);
    if (forge.name === 'GitHub') {
      for (const name of ['b', 'c']) expect(readMarkdown(outcome.comment)).toMatch(row(name, `600 KiB is over what is left of the per-run cap of ${cap}`));
    } else {
      expect(readMarkdown(outcome.comment)).toMatch(row('b', `more than what is left of the per-run cap of ${cap}: the download was stopped there`));
      expect(readMarkdown(outcome.comment)).toMatch(row('c', `not downloaded: the per-run cap of ${cap} is used up`));
      expect(forge.downloads().filter((path) => path.endsWith('/c.bin'))).toEqual([]);
    }
  });

  it('a cap that is not a size is one clear line in the answer, and nothing is downloaded', async () => {
    forge.addRelease('v-conf', [{ name: 'x.bin', content: 'x' }]);
    const before = forge.downloads().length;
    const outcome = await run('v-conf', { SIGNET_RELEASE_MAX_ASSET_BYTES: 'lots' });
    expect(outcome.status).toBe('error');
    expect(readMarkdown(outcome.comment)).toBe('signet could not sign release `v-conf`: SIGNET_RELEASE_MAX_ASSET_BYTES: "lots" is not a size (a positive number of bytes, or with K, M or G)\n');
    expect(forge.downloads().length).toBe(before);
  });

  it('sends its credential only to the event repository\'s own API and asset paths', async () => {
    const sent = forge.credentialed();
    expect(sent.length).toBeGreaterThan(250);
    const elsewhere = sent.filter((r) => r.credential !== undefined && !forge.tokenMayGo(r.path));
    expect(elsewhere).toEqual([]);
  });
});

describe('GitLab release links that point outside the project', () => {
  const gitlab = gitLabUnderTest();
  let fake: FakeGitLab;
  let other: Server;
  let otherUrl = '';
  const otherSeen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];

  beforeAll(async () => {
    await gitlab.start(dir, store);
    fake = gitlab.fake();
    other = createServer((req, res) => {
      otherSeen.push({ path: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('mirror bytes\n');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await gitlab.stop();
    await new Promise((resolve) => other.close(resolve));
  });

  it('fetches another project\'s upload and other GitLab pages without the token (the private upload stays unread), and another host without it', async () => {
    const secretPath = fake.storeUpload(OTHER_PROJECT, 'Chart.yaml', Buffer.from('name: private-chart\n'));
    gitlab.addRelease('v-cross', [{ name: 'own.bin', content: 'own\n' }]);
    const release = fake.releases.find((r) => r.tag === 'v-cross')!;
    release.links.push(
      { id: 90001, name: 'borrowed.yaml', url: `${fake.url}${secretPath}` },
      { id: 90002, name: 'dotdot.yaml', url: `${fake.url}/-/project/${PROJECT.id}/uploads/../../${OTHER_PROJECT}/uploads/${secretPath.split('/').slice(-2).join('/')}` },
      { id: 90003, name: 'api.bin', url: `${fake.url}/api/v4/projects/${OTHER_PROJECT}/repository/files/secret/raw` },
      { id: 90004, name: 'mirror.bin', url: `${otherUrl}/mirror.bin` },
    );
    const id = nextCommand++;
    const outcome = await runSignRelease(gitlab.forge(`delivery-${id}`, id), { store, log: silent, instanceId: 'flow-test', leaseMs: 60_000, now: () => new Date() }, { tag: 'v-cross', trigger: `sign-release:${id}`, delivery: `delivery-${id}` }, { env: {}, cwd: dir });
    expect(readMarkdown(outcome.comment)).toContain('| `borrowed.yaml` | download | failed: GET /-/project/999/uploads/');
    expect(readMarkdown(outcome.comment)).toContain('| `dotdot.yaml` | download | failed: GET /-/project/999/uploads/');
    expect(readMarkdown(outcome.comment)).toContain('| `api.bin` | download | failed: GET /api/v4/projects/999/repository/files/secret/raw: HTTP 401 |');
    expect(readMarkdown(outcome.comment)).not.toContain('| `mirror.bin` |');
    expect(readMarkdown(outcome.comment)).not.toContain('| `own.bin` |');
    const tokened = fake.requests.filter((r) => r.headers?.['private-token'] !== undefined).map((r) => r.path);
    expect(tokened.filter((path) => !gitlab.tokenMayGo(path))).toEqual([]);
    expect(fake.requests.filter((r) => r.path.includes(`/${OTHER_PROJECT}/`)).length).toBe(3);
    expect(otherSeen).toHaveLength(1);
    expect(otherSeen[0]!.headers['private-token']).toBeUndefined();
    expect(otherSeen[0]!.headers.authorization).toBeUndefined();
  });
});

describe('GitHub assets served from storage on another host', () => {
  const github = gitHubUnderTest();
  let storage: Server;
  const storageSeen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];

  beforeAll(async () => {
    await github.start(dir, store);
    storage = createServer((req, res) => {
      storageSeen.push({ path: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '14' }).end('stored bytes\n\n');
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    github.fake().assetStorageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await github.stop();
    await new Promise((resolve) => storage.close(resolve));
  });

  it('follows GitHub\'s redirect to storage without the installation token', async () => {
    github.addRelease('v-storage', [{ name: 'a.bin', content: 'ignored' }, { name: 'b.bin', content: 'ignored' }]);
    const id = nextCommand++;
    const outcome = await runSignRelease(github.forge(`delivery-${id}`, id), { store, log: silent, instanceId: 'flow-test', leaseMs: 60_000, now: () => new Date() }, { tag: 'v-storage', trigger: `sign-release:${id}`, delivery: `delivery-${id}` }, { env: {}, cwd: dir });
    expect(outcome.status).toBe('signed');
    expect(storageSeen).toHaveLength(2);
    expect(storageSeen.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
  });
});
