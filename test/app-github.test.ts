/**
 * The GitHub App end to end: Probot's real Server receives signed webhooks (payloads from
 * @octokit/webhooks-examples), talks to a local fake GitHub REST API, and fetches git objects
 * from `git http-backend` serving a repository made with real git, gpg and ssh-keygen.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerConfig } from '../src/app/config.ts';
import { startSignetServer, type RunningServer } from '../src/app/server.ts';
import { openSqliteStore } from '../src/store/sql-sqlite.ts';
import type { SignetStore } from '../src/store/store.ts';
import { startFakeGitHub, type CheckRunRecord, type FakeGitHub } from './helpers/fake-github.ts';
import { deliver, example, retarget } from './helpers/fake-github-webhooks.ts';
import { startGitHttpBackend, type GitHttpBackend } from './helpers/http-backend.ts';
import { DEFAULT_POLICY, bob, makeSignedRepo, mallory, type SignedRepo } from './helpers/http-backend-repo.ts';
import { freePort } from './helpers/postgres.ts';

const SECRET = 'webhook-secret-for-tests';
const FULL_NAME = 'octo-org/signed-repo';
const INSTALLATION = 77;

let dir: string;
let repo: SignedRepo;
let backend: GitHttpBackend;
let github: FakeGitHub;
let store: SignetStore;
let server: RunningServer;
let hookUrl: string;

function repoInfo() {
  return { fullName: FULL_NAME, cloneUrl: `${backend.origin}/${repo.path}`, installationId: INSTALLATION };
}

function pullPayload(action: string, number: number, head: string, headRef: string) {
  const payload = retarget(example('pull_request', action), repoInfo());
  payload.number = number;
  const pull = payload.pull_request as Record<string, any>;
  pull.number = number;
  pull.head = { ...pull.head, sha: head, ref: headRef, repo: { ...pull.head.repo, full_name: FULL_NAME } };
  pull.base = { ...pull.base, sha: repo.heads.main, ref: 'main', repo: { ...pull.base.repo, full_name: FULL_NAME } };
  return payload;
}

function pushPayload(ref: string, before: string, after: string) {
  const payload = retarget(example('push'), repoInfo());
  Object.assign(payload, { ref, before, after, created: /^0+$/.test(before), deleted: false, commits: [], head_commit: null });
  return payload;
}

function runsFor(sha: string): CheckRunRecord[] {
  return github.checkRuns.filter((run) => run.created.head_sha === sha);
}

function tableRows(summary: string): string[][] {
  return summary.split('\n').filter((line) => line.startsWith('| `')).map((line) => line.split(' | ').map((cell) => cell.replace(/^\| /, '').trim()));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signet-app-'));
  repo = makeSignedRepo(FULL_NAME);
  backend = await startGitHttpBackend(repo.root);
  github = await startFakeGitHub();
  github.repositories.set(FULL_NAME, repo.bare);
  github.users.set('bob', { sshSigningKeys: [repo.bobSshPublicKey] });
  github.emailLogins.set(bob.email, 'bob');
  store = openSqliteStore(join(dir, 'signet.sqlite'));
  const port = await freePort();
  const config = readServerConfig({
    APP_ID: String(github.appId), PRIVATE_KEY: github.privateKey, WEBHOOK_SECRET: SECRET,
    GHE_HOST: github.host, GHE_PROTOCOL: 'http', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent',
    SIGNET_CACHE_DIR: join(dir, 'cache'), SIGNET_GITHUB_WRITE_INTERVAL_MS: '0', SIGNET_INSTANCE_ID: 'test-1',
  }, dir);
  server = await startSignetServer(config, { store });
  hookUrl = `${server.url}/api/github/webhooks`;
});

afterAll(async () => {
  if (process.env.TEST_DEBUG) for (const r of github.checkRuns) console.log(r.created.head_sha, JSON.stringify(r.current.output).slice(0, 600));
  await server?.stop();
  await store?.close();
  await github?.stop();
  await backend?.stop();
  repo?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('pull requests', () => {
  it('posts a success check run for signed commits: in progress first, then the table', async () => {
    const head = repo.heads['feature-good'];
    const response = await deliver(hookUrl, SECRET, 'pull_request', pullPayload('opened', 1, head, 'feature-good'));
    expect(response.status).toBe(200);
    const [run] = runsFor(head);
    expect(runsFor(head)).toHaveLength(1);
    expect(run!.created).toMatchObject({ name: 'signet/signatures', head_sha: head, status: 'in_progress' });
    expect(run!.updates).toHaveLength(1);
    const completed = run!.current as { conclusion: string; status: string; output: { title: string; summary: string } };
    expect(completed.status).toBe('completed');
    expect(completed.conclusion).toBe('success');
    const rows = tableRows(completed.output.summary);
    expect(rows).toHaveLength(2);
    // bob signed with the SSH key he registered on GitHub, alice with the policy's keyring.
    expect(rows.map((r) => [r[1], r[2]]).sort()).toEqual([['G', 'Alice &lt;alice@example.com&gt;'], ['G', bob.email]]);
    // Objects came over smart HTTP with the installation token, as x-access-token.
    const auth = backend.requests.find((r) => r.authorization)?.authorization ?? '';
    expect(Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString()).toMatch(/^x-access-token:ghs_test77_\d+$/);
    // The policy came from the default branch through the contents API.
    expect(github.requests.some((r) => r.path === `/repos/${FULL_NAME}/contents/.github/signet.yml` && r.query.get('ref') === 'main')).toBe(true);
  });

  it('fails an unsigned commit and says how to fix it', async () => {
    const head = repo.heads['feature-bad'];
    await deliver(hookUrl, SECRET, 'pull_request', pullPayload('synchronize', 2, head, 'feature-bad'));
    const run = runsFor(head).at(-1)!;
    const output = run.current.output as { title: string; summary: string };
    expect(run.current.conclusion).toBe('failure');
    expect(output.title).toBe('1 of 1 commit does not meet the signing policy');
    const [row] = tableRows(output.summary);
    expect(row![0]).toContain(head.slice(0, 12));
    expect(row![1]).toBe('N');
    expect(row![3]).toMatch(/^unsigned/);
    expect(row![4]).toContain('git rebase --exec');
  });

  it("applies GitHub's e-mail rule to forge keys: bob's key on carol's commit is U unverified_email", async () => {
    const head = repo.heads['feature-email'];
    await deliver(hookUrl, SECRET, 'pull_request', pullPayload('reopened', 3, head, 'feature-email'));
    const run = runsFor(head).at(-1)!;
    expect(run.current.conclusion).toBe('failure');
    expect((run.current.output as { title: string }).title).toBe('1 of 2 commits does not meet the signing policy');
    const rows = tableRows((run.current.output as { summary: string }).summary);
    // Rejected rows come first.
    expect(rows.map((r) => [r[0]!.slice(1, 13), r[1], r[3]!.split(':')[0]])).toEqual([
      [head.slice(0, 12), 'U', 'unverified_email'],
      [expect.any(String), 'G', 'valid'],
    ]);
  });

  it('walks base..head locally: a 260-commit pull request (more than the REST listing) is judged whole', async () => {
    const head = repo.commitUnsignedBulk('long', 260, mallory, repo.heads.main);
    repo.updateRef('refs/pull/9/head', head);
    await deliver(hookUrl, SECRET, 'pull_request', pullPayload('opened', 9, head, 'long'));
    const run = runsFor(head).at(-1)!;
    expect(run.current.conclusion).toBe('failure');
    expect((run.current.output as { title: string }).title).toBe('260 of 260 commits do not meet the signing policy');
    expect(github.requests.some((r) => r.path.includes('/pulls/9/commits'))).toBe(false);
  });
});

describe('pushes and reruns', () => {
  it('a push to a branch no rule covers is neutral, and its check_suite does not post again', async () => {
    const [oid] = repo.commit('topic', 1, mallory, 'none');
    const push = await deliver(hookUrl, SECRET, 'push', pushPayload('refs/heads/topic', '0'.repeat(40), oid!));
    expect(push.status).toBe(200);
    expect(runsFor(oid!)).toHaveLength(1);
    expect(runsFor(oid!)[0]!.current.conclusion).toBe('neutral');
    expect((runsFor(oid!)[0]!.current.output as { title: string }).title).toContain('no rule of .github/signet.yml applies to refs/heads/topic');
    const suite = retarget(example('check_suite', 'requested'), repoInfo());
    Object.assign(suite.check_suite as object, { head_sha: oid, head_branch: 'topic', before: '0'.repeat(40), after: oid, pull_requests: [] });
    expect((await deliver(hookUrl, SECRET, 'check_suite', suite)).status).toBe(200);
    expect(runsFor(oid!)).toHaveLength(1);
    const audit = await store.listAudit(`github:${FULL_NAME}`, 5);
    expect(audit[0]).toMatchObject({ event: 'check_suite.requested', outcome: 'skipped' });
  });

  it('the same delivery twice posts once; a rerequest posts again', async () => {
    const head = repo.heads['feature-good'];
    const payload = pullPayload('synchronize', 1, head, 'feature-good');
    const before = runsFor(head).length;
    const first = await deliver(hookUrl, SECRET, 'pull_request', payload, { id: 'fixed-delivery-id' });
    const again = await deliver(hookUrl, SECRET, 'pull_request', payload, { id: 'fixed-delivery-id' });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(runsFor(head)).toHaveLength(before + 1);

    const rerun = retarget(example('check_run', 'rerequested'), repoInfo());
    const checkRun = rerun.check_run as Record<string, any>;
    Object.assign(checkRun, { name: 'signet/signatures', head_sha: head, pull_requests: [{ number: 1, head: { ref: 'feature-good', sha: head }, base: { ref: 'main', sha: repo.heads.main } }] });
    checkRun.check_suite = { ...checkRun.check_suite, head_branch: 'feature-good', head_sha: head, before: repo.heads.main };
    await deliver(hookUrl, SECRET, 'check_run', rerun);
    expect(runsFor(head)).toHaveLength(before + 2);
    expect(runsFor(head).at(-1)!.current.conclusion).toBe('success');
  });

  it('/signet recheck on a pull request re-checks it and reacts to the comment', async () => {
    const head = repo.heads['feature-bad'];
    github.pulls.set(`${FULL_NAME}#2`, { number: 2, state: 'open', head: { sha: head, ref: 'feature-bad', repo: { full_name: FULL_NAME } }, base: { sha: repo.heads.main, ref: 'main', repo: { full_name: FULL_NAME } } });
    const comment = retarget(example('issue_comment', 'created'), repoInfo());
    Object.assign(comment.issue as object, { number: 2, pull_request: { url: 'x' } });
    Object.assign(comment.comment as object, { id: 555, body: 'please\n/signet recheck\n' });
    const before = runsFor(head).length;
    await deliver(hookUrl, SECRET, 'issue_comment', comment);
    expect(runsFor(head)).toHaveLength(before + 1);
    expect(runsFor(head).at(-1)!.current.conclusion).toBe('failure');
    expect(github.reactions).toContainEqual({ repository: FULL_NAME, commentId: 555, content: 'rocket' });
    // A comment without the command changes nothing.
    Object.assign(comment.comment as object, { id: 556, body: 'signet recheck please' });
    await deliver(hookUrl, SECRET, 'issue_comment', comment);
    expect(runsFor(head)).toHaveLength(before + 1);
  });

  it('merge_group: the queue head is checked against the base rules', async () => {
    const head = repo.heads['feature-good'];
    repo.updateRef('refs/heads/gh-readonly-queue/main/pr-1', head);
    const payload = retarget(example('merge_group', 'checks_requested'), repoInfo());
    Object.assign(payload.merge_group as object, { head_sha: head, head_ref: 'refs/heads/gh-readonly-queue/main/pr-1', base_sha: repo.heads.main, base_ref: 'refs/heads/main' });
    const before = runsFor(head).length;
    await deliver(hookUrl, SECRET, 'merge_group', payload);
    expect(runsFor(head)).toHaveLength(before + 1);
    expect(runsFor(head).at(-1)!.current.conclusion).toBe('success');
  });

  it('a push of an unsigned commit to main fails; the first verdicts of accepted commits are recorded', async () => {
    const [oid] = repo.commit('main', 1, mallory, 'none');
    await deliver(hookUrl, SECRET, 'push', pushPayload('refs/heads/main', repo.heads.main, oid!));
    expect(runsFor(oid!).at(-1)!.current.conclusion).toBe('failure');
    const recorded = await store.lookupVerdicts(`github:${FULL_NAME}`, [repo.heads['feature-good']]);
    expect(recorded.get(repo.heads['feature-good'])?.status).toBe('G');
    expect((await store.lookupVerdicts(`github:${FULL_NAME}`, [oid!])).size).toBe(0);
  });
});

describe('no policy, a broken policy', () => {
  it('is neutral "no policy configured" without .github/signet.yml, and a failure naming the field when malformed', async () => {
    const noPolicy = repo.setPolicy(undefined);
    const [a] = repo.commit('np', 1, mallory, 'none', noPolicy);
    await deliver(hookUrl, SECRET, 'push', pushPayload('refs/heads/np', '0'.repeat(40), a!));
    expect(runsFor(a!).at(-1)!.current).toMatchObject({ conclusion: 'neutral', output: { title: 'no policy configured' } });

    repo.setPolicy('version: 1\nrules:\n  - refs: [refs/heads/main]\n    accept: [Q]\n');
    const [b] = repo.commit('np', 1, mallory, 'none');
    await deliver(hookUrl, SECRET, 'push', pushPayload('refs/heads/np', a!, b!));
    const run = runsFor(b!).at(-1)!;
    expect(run.current.conclusion).toBe('failure');
    expect((run.current.output as { title: string }).title).toMatch(/^signet could not read the policy: .*accept/);
    repo.setPolicy(DEFAULT_POLICY);
  });
});

describe('faults', () => {
  it('retries a 5xx from the API and still posts', async () => {
    const [oid] = repo.commit('retry', 1, mallory, 'none');
    github.faults.push({ method: 'POST', path: /\/check-runs$/, status: 502 });
    const response = await deliver(hookUrl, SECRET, 'push', pushPayload('refs/heads/retry', '0'.repeat(40), oid!));
    expect(response.status).toBe(200);
    expect(github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/check-runs') && (r.body as { head_sha?: string })?.head_sha === oid)).toHaveLength(2);
    expect(runsFor(oid!)).toHaveLength(1);
    expect(runsFor(oid!)[0]!.current.status).toBe('completed');
  });

  it('waits out a primary rate limit reply and completes', async () => {
    const [oid] = repo.commit('ratelimit', 1, mallory, 'none');
    const reset = Math.ceil(Date.now() / 1000) + 1;
    github.faults.push({ method: 'GET', path: /\/contents\/\.github\/signet\.yml$/, status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }, body: { message: 'API rate limit exceeded' } });
    const response = await deliver(hookUrl, SECRET, 'push', pushPayload('refs/heads/ratelimit', '0'.repeat(40), oid!));
    expect(response.status).toBe(200);
    expect(runsFor(oid!)[0]!.current.conclusion).toBe('neutral');
    expect(github.requests.filter((r) => r.path.endsWith('/contents/.github/signet.yml')).length).toBeGreaterThanOrEqual(2);
  });

  it('a fetch failure (git endpoint down) becomes a failure check run that says what broke', async () => {
    const [oid] = repo.commit('down', 1, mallory, 'none');
    backend.failWith = 503;
    try {
      const response = await deliver(hookUrl, SECRET, 'push', pushPayload('refs/heads/down', '0'.repeat(40), oid!));
      expect(response.status).toBe(200);
    } finally {
      backend.failWith = 0;
    }
    const run = runsFor(oid!).at(-1)!;
    expect(run.current).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect((run.current.output as { title: string }).title).toMatch(/^signet could not fetch the commits: cannot fetch refs\/heads\/down/);
    expect((run.current.output as { summary: string }).summary).toMatch(/^\*\*signet could not fetch the commits: cannot fetch refs\/heads\/down.* from http:\/\/127\.0\.0\.1:\d+\/octo-org\/signed-repo\.git: HTTP 503/);
    const audit = await store.listAudit(`github:${FULL_NAME}`, 1);
    expect(audit[0]).toMatchObject({ outcome: 'error', headSha: oid });
  });

  it('a well-signed but malformed payload gets a 2xx and posts nothing', async () => {
    const writes = github.requests.filter((r) => r.method !== 'GET').length;
    const response = await deliver(hookUrl, SECRET, 'pull_request', { action: 'opened', number: 'x', repository: { full_name: 42 } });
    expect(response.status).toBe(200);
    const junk = await deliver(hookUrl, SECRET, 'push', { ...retarget(example('push'), repoInfo()), after: 'not-a-sha' });
    expect(junk.status).toBe(200);
    expect(github.requests.filter((r) => r.method !== 'GET').length).toBe(writes);
  });

  it('a wrong signature gets a 4xx and changes nothing; so does a body that is not JSON', async () => {
    const before = github.requests.length;
    const forged = await deliver(hookUrl, 'not-the-secret', 'pull_request', pullPayload('opened', 2, repo.heads['feature-bad'], 'feature-bad'));
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
    const garbage = await deliver(hookUrl, SECRET, 'push', undefined, { rawBody: '{not json' });
    expect(garbage.status).toBeGreaterThanOrEqual(400);
    expect(garbage.status).toBeLessThan(500);
    expect(github.requests.length).toBe(before);
  });

  it('answers /healthz', async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', store: 'sqlite' });
  });
});
