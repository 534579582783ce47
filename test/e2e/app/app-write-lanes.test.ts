/**
 * GitHub's spacing of content-creating requests is per installation token, and so is signet's:
 * two installations' check-run writes interleave, one installation's writes stay the
 * configured spacing apart, and a secondary rate limit (429 + Retry-After) on one installation
 * holds that installation only. Probot's Server, the fake GitHub API, `git http-backend`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerConfig } from '../../../src/server/config.ts';
import { startSignetServer, type RunningServer } from '../../../src/server/server.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { startFakeGitHub, type FakeGitHub, type RecordedRequest } from '../../helpers/fake-github.ts';
import { deliver, example, retarget } from '../../helpers/fake-github-webhooks.ts';
import { startGitHttpBackend, type GitHttpBackend } from '../../helpers/http-backend.ts';
import { bob, makeSignedRepo, type SignedRepo } from '../../helpers/http-backend-repo.ts';
import { freePort } from '../../helpers/postgres.ts';

const SECRET = 'write-lanes-secret';
const SPACING_MS = 400;
/** Two installations, each with its own repository (the same commits behind both names). */
const ORGS = [
  { installationId: 101, fullName: 'org-a/repo' },
  { installationId: 102, fullName: 'org-b/repo' },
];

let dir: string;
let repo: SignedRepo;
let backend: GitHttpBackend;
let github: FakeGitHub;
let store: SignetStore;
let server: RunningServer;
let hookUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signet-lanes-'));
  repo = makeSignedRepo('org-a/repo');
  backend = await startGitHttpBackend(repo.root);
  github = await startFakeGitHub();
  for (const org of ORGS) github.repositories.set(org.fullName, repo.bare);
  github.users.set('bob', { sshSigningKeys: [repo.bobSshPublicKey] });
  github.emailLogins.set(bob.email, 'bob');
  store = openSqliteStore(join(dir, 'signet.sqlite'));
  const config = readServerConfig(
    {
      APP_ID: String(github.appId),
      PRIVATE_KEY: github.privateKey,
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: github.host,
      GHE_PROTOCOL: 'http',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent',
      SIGNET_CACHE_DIR: join(dir, 'cache'),
      SIGNET_GITHUB_WRITE_INTERVAL_MS: String(SPACING_MS),
      SIGNET_INSTANCE_ID: 'lanes-1',
    },
    dir,
  );
  server = await startSignetServer(config, { store });
  hookUrl = `${server.url}/api/github/webhooks`;
  // Warm each repository's object cache, so the checks below cost little besides their writes.
  await Promise.all(ORGS.map((org) => push(org, 'refs/heads/warm')));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await store?.close();
  await github?.stop();
  await backend?.stop();
  repo?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function push(org: (typeof ORGS)[number], ref: string) {
  const payload = retarget(example('push'), { fullName: org.fullName, cloneUrl: `${backend.origin}/${repo.path}`, installationId: org.installationId });
  Object.assign(payload, { ref, before: '0'.repeat(40), after: repo.heads.main, created: true, deleted: false, commits: [], head_commit: null });
  return deliver(hookUrl, SECRET, 'push', payload).then((delivery) => {
    expect(delivery.status).toBe(200);
    return delivery;
  });
}

/** Check-run writes (create and complete) that reached the fake, per repository, in arrival order. */
function writesOf(fullName: string, since: number): RecordedRequest[] {
  return github.requests.filter(
    (r) => r.method !== 'GET' && r.path.startsWith(`/repos/${fullName}/check-runs`) && (r.at ?? 0) >= since && !r.path.includes('reactions'),
  );
}

const gaps = (requests: RecordedRequest[]): number[] => requests.slice(1).map((r, i) => r.at! - requests[i]!.at!);

describe('write spacing per installation', () => {
  it("interleaves two installations' check-run writes while each installation's own stay the spacing apart", async () => {
    const since = Date.now();
    await Promise.all(ORGS.flatMap((org) => [1, 2, 3].map((i) => push(org, `refs/heads/spacing-${i}`))));
    const [a, b] = ORGS.map((org) => writesOf(org.fullName, since));
    // Three check runs each, created and completed: six writes per installation.
    expect(a).toHaveLength(6);
    expect(b).toHaveLength(6);
    // Within an installation: never closer than the spacing (each write waits for the answer to
    // the one before, then the spacing; 2 ms for the clock's rounding).
    for (const gap of [...gaps(a!), ...gaps(b!)]) expect(gap).toBeGreaterThanOrEqual(SPACING_MS - 2);
    // Across installations: some pair of writes closer than half the spacing, which one queue
    // for the whole app (every write a spacing apart) could never produce.
    const closest = Math.min(...a!.flatMap((x) => b!.map((y) => Math.abs(x.at! - y.at!))));
    expect(closest).toBeLessThan(SPACING_MS / 2);
    // And the work took about one installation's six writes, not twelve in one queue.
    const span = Math.max(a!.at(-1)!.at!, b!.at(-1)!.at!) - Math.min(a![0]!.at!, b![0]!.at!);
    expect(span).toBeLessThan(11 * SPACING_MS);
  }, 60_000);

  it('holds only the installation that met a secondary rate limit, for its Retry-After', async () => {
    const [orgA, orgB] = ORGS as [(typeof ORGS)[number], (typeof ORGS)[number]];
    // Let both lanes' spacing from the test above run out.
    await new Promise((resolve) => setTimeout(resolve, SPACING_MS));
    github.faults.push({
      method: 'POST',
      path: /^\/repos\/org-a\/repo\/check-runs$/,
      status: 429,
      headers: { 'retry-after': '2' },
      body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
    });
    const since = Date.now();
    const [deliveredA, deliveredB] = await Promise.all([push(orgA, 'refs/heads/limited'), push(orgB, 'refs/heads/not-limited')]);
    const a = writesOf(orgA.fullName, since);
    const b = writesOf(orgB.fullName, since);
    // A: the refused create, the create again no sooner than Retry-After (not after Octokit's
    // own 1 s retry), then the completion a spacing later.
    expect(a.map((r) => r.method)).toEqual(['POST', 'POST', 'PATCH']);
    expect(a[1]!.at! - a[0]!.at!).toBeGreaterThanOrEqual(2000 - 2);
    expect(a[2]!.at! - a[1]!.at!).toBeGreaterThanOrEqual(SPACING_MS - 2);
    // B went on meanwhile: both of its writes landed before A's hold ended.
    expect(b.map((r) => r.method)).toEqual(['POST', 'PATCH']);
    expect(b[1]!.at!).toBeLessThan(a[1]!.at!);
    expect(deliveredB.ms).toBeLessThan(deliveredA.ms);
    // Both check runs completed.
    for (const fullName of [orgA.fullName, orgB.fullName]) {
      const run = github.checkRuns.filter((r) => r.repository === fullName).at(-1)!;
      expect(run.current.status).toBe('completed');
    }
  }, 60_000);

  it('keeps one lane per installation that wrote, no more', () => {
    expect(server.writes!.size).toBeLessThanOrEqual(ORGS.length);
  });
});
