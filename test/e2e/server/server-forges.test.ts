/**
 * `node dist/app.mjs` (what `npm start` runs) with each deployment's own settings only: a
 * GitLab-only server judges a signed GitLab push (fake GitLab API, `git http-backend`, a
 * repository made with real git, gpg, ssh-keygen) and has no GitHub route; a GitHub-only
 * server verifies GitHub's signature and has no GitLab route; both together serve both. A
 * partial setting is one line on stderr naming the variable, exit status 2.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAppProcess, type AppProcess } from '../../helpers/app-process.ts';
import { deliver, post } from '../../helpers/fake-github-webhooks.ts';
import { startFakeGitLab, type FakeGitLab } from '../../helpers/fake-gitlab.ts';
import { startGitHttpBackend, type GitHttpBackend } from '../../helpers/http-backend.ts';
import { makeSignedRepo, type SignedRepo } from '../../helpers/http-backend-repo.ts';
import { freePort } from '../../helpers/postgres.ts';
import { withoutForgeSettings } from '../../helpers/setup-page.ts';

const APP = join(process.cwd(), 'dist', 'app.mjs');
const GITLAB_SECRET = 'gitlab-hook-secret';
const GITHUB_SECRET = 'github-hook-secret';
const PROJECT_ID = 42;
const FULL_NAME = 'group/project';

const dir = mkdtempSync(join(tmpdir(), 'signet-forges-'));
const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
let repo: SignedRepo;
let backend: GitHttpBackend;
let gitlab: FakeGitLab;
const running: AppProcess[] = [];

function baseEnv(name: string): NodeJS.ProcessEnv {
  return {
    ...withoutForgeSettings(process.env),
    HOST: '127.0.0.1',
    SIGNET_CACHE_DIR: join(dir, name, 'cache'),
    SIGNET_SQLITE_PATH: join(dir, name, 'signet.sqlite'),
  };
}
const gitlabEnv = () => ({ GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token, GITLAB_WEBHOOK_SECRET: GITLAB_SECRET });
const githubEnv = () => ({ APP_ID: '7', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: GITHUB_SECRET, SIGNET_GITHUB_WRITE_INTERVAL_MS: '0' });

async function start(name: string, settings: Record<string, string>): Promise<string> {
  const port = await freePort();
  const app = startAppProcess(process.execPath, [APP], { cwd: dir, env: { ...baseEnv(name), ...settings, PORT: String(port) } });
  running.push(app);
  await app.waitForLine(/"msg":"signet is serving"/);
  return `http://127.0.0.1:${port}`;
}

function pushHook(before: string, after: string) {
  return {
    object_kind: 'push',
    event_name: 'push',
    before,
    after,
    ref: 'refs/heads/main',
    checkout_sha: after,
    user_id: 7,
    user_username: 'alice',
    project_id: PROJECT_ID,
    project: {
      id: PROJECT_ID,
      name: 'project',
      path_with_namespace: FULL_NAME,
      default_branch: 'main',
      git_http_url: `${backend.origin}/${repo.path}`,
      web_url: 'http://gitlab.test/group/project',
    },
    commits: [],
    total_commits_count: 1,
  };
}

const gitlabPost = (url: string, token: string, payload: unknown) =>
  post(`${url}/gitlab/webhook`, { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': token }, JSON.stringify(payload));

beforeAll(async () => {
  repo = makeSignedRepo(FULL_NAME);
  backend = await startGitHttpBackend(repo.root);
  gitlab = await startFakeGitLab();
  gitlab.projects.set(PROJECT_ID, repo.bare);
  gitlab.projectPaths.set(PROJECT_ID, FULL_NAME);
  gitlab.gitOrigin = backend.origin;
});

afterAll(async () => {
  for (const app of running) await app.stop('SIGTERM');
  await gitlab?.stop();
  await backend?.stop();
  repo?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('npm start with one forge configured', () => {
  it('GitLab only: starts without any GitHub setting, judges a signed push, has no GitHub route', async () => {
    const url = await start('gitlab', gitlabEnv());
    const [oid] = repo.commit('main', 1, { name: 'Alice', email: 'alice@example.com' }, 'alice-gpg');
    const answer = await gitlabPost(url, GITLAB_SECRET, pushHook(repo.heads.main, oid!));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ status: 'checked' });
    expect(gitlab.statuses.filter((s) => s.sha === oid).map((s) => s.state)).toEqual(['running', 'success']);
    expect((await gitlabPost(url, 'wrong', pushHook(repo.heads.main, oid!))).status).toBe(401);
    const github = await deliver(`${url}/api/github/webhooks`, GITHUB_SECRET, 'ping', { zen: 'x' });
    expect(github.status).toBe(404);
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok', store: 'sqlite' });
  });

  it('GitHub only: verifies GitHub signatures, has no GitLab route', async () => {
    const url = await start('github', githubEnv());
    expect((await deliver(`${url}/api/github/webhooks`, GITHUB_SECRET, 'ping', { zen: 'x', hook_id: 1 })).status).toBe(200);
    expect((await deliver(`${url}/api/github/webhooks`, 'not-the-secret', 'ping', { zen: 'x', hook_id: 1 })).status).toBe(400);
    expect((await gitlabPost(url, GITLAB_SECRET, { object_kind: 'push' })).status).toBe(404);
  });

  it('both: each route answers with its own secret', async () => {
    const url = await start('both', { ...githubEnv(), ...gitlabEnv() });
    expect((await deliver(`${url}/api/github/webhooks`, GITHUB_SECRET, 'ping', { zen: 'x', hook_id: 1 })).status).toBe(200);
    expect((await gitlabPost(url, 'wrong', { object_kind: 'push' })).status).toBe(401);
  });
});

describe('partial settings: one line naming the variable, exit status 2', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['APP_ID alone', { APP_ID: '7' }, /PRIVATE_KEY/],
    ['a non-numeric APP_ID', { APP_ID: 'seven', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: 's' }, /APP_ID must be set/],
    ['no WEBHOOK_SECRET', { APP_ID: '7', PRIVATE_KEY: privateKey }, /WEBHOOK_SECRET/],
    ['GITLAB_URL alone', { GITLAB_URL: 'https://gitlab.example.com' }, /GITLAB_TOKEN/],
    [
      'GitLab complete, GitHub partial',
      { GITLAB_URL: 'https://gitlab.example.com', GITLAB_TOKEN: 't', GITLAB_WEBHOOK_SECRET: 's', APP_ID: '7' },
      /PRIVATE_KEY/,
    ],
  ];
  for (const [name, settings, names] of cases)
    it(name, () => {
      const result = spawnSync(process.execPath, [APP], {
        cwd: dir,
        env: { ...baseEnv('partial'), ...settings, PORT: '0' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(names);
      expect(lines[0]).toMatch(/^signet serve: /);
      expect(result.stdout).not.toContain('setup');
    });
});

describe('bounds of the verdict memo and the shares: a bad value is one line naming the variable, exit status 2', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['SIGNET_MEMO_MAX_ENTRIES', 'lots', /SIGNET_MEMO_MAX_ENTRIES must be a whole number of at least 0, not 'lots'/],
    ['SIGNET_MEMO_MAX_ENTRIES', '-1', /SIGNET_MEMO_MAX_ENTRIES must be a whole number/],
    ['SIGNET_MEMO_MAX_BYTES', '1.5G', /SIGNET_MEMO_MAX_BYTES: "1.5G" is not a size/],
    ['SIGNET_MEMO_MAX_REGISTRIES', '0', /SIGNET_MEMO_MAX_REGISTRIES must be a whole number of at least 1, not '0'/],
    ['SIGNET_CHECKS_PER_INSTALLATION', '2.5', /SIGNET_CHECKS_PER_INSTALLATION must be a whole number of at least 1/],
  ];
  for (const [name, value, message] of cases)
    it(`${name}=${value}`, () => {
      const result = spawnSync(process.execPath, [APP], {
        cwd: dir,
        env: { ...baseEnv('bounds'), ...githubEnv(), [name]: value, PORT: '0' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^signet serve: /);
      expect(lines[0]).toMatch(message);
    });
});
