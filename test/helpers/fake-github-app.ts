/**
 * One running app against the fakes, for the GitHub end-to-end test files: a signed
 * repository behind `git http-backend`, a fake GitHub API, a SQLite store and Probot's Server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readServerConfig } from '../../src/server/config.ts';
import { startSignetServer, type RunningServer } from '../../src/server/server.ts';
import { openSqliteStore } from '../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../src/store/store.ts';
import { startFakeGitHub, type CheckRunRecord, type FakeGitHub } from './fake-github.ts';
import { example, retarget } from './fake-github-webhooks.ts';
import { startGitHttpBackend, type GitHttpBackend } from './http-backend.ts';
import { bob, makeSignedRepo, type SignedRepo, type SignedRepoOptions } from './http-backend-repo.ts';
import { freePort } from './postgres.ts';
import { readMarkdown } from './read-markdown.ts';

export { readMarkdown };

export const SECRET = 'webhook-secret-for-tests';
export const INSTALLATION = 77;

export interface AppHarness {
  fullName: string;
  repo: SignedRepo;
  backend: GitHttpBackend;
  github: FakeGitHub;
  store: SignetStore;
  server: RunningServer;
  hookUrl: string;
  info(): { fullName: string; cloneUrl: string; installationId: number };
  pullPayload(action: string, number: number, head: string, headRef: string): Record<string, unknown>;
  pushPayload(ref: string, before: string, after: string): Record<string, unknown>;
  runsFor(sha: string): CheckRunRecord[];
  stop(): Promise<void>;
}

/** The summary's table rows, each cell as a reader sees it (an escaped `\|` stays inside its cell). */
export function tableRows(summary: string): string[][] {
  return summary
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => line.split(' | ').map((cell) => readMarkdown(cell.replace(/^\| /, '').trim())));
}

/** `env` adds to or overrides the server's settings (e.g. SIGNET_CHECK_TIMEOUT_MS). */
export async function startAppHarness(fullName: string, env: Record<string, string> = {}, repoOptions: SignedRepoOptions = {}): Promise<AppHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-app-'));
  const repo = makeSignedRepo(fullName, repoOptions);
  const backend = await startGitHttpBackend(repo.root);
  const github = await startFakeGitHub();
  github.repositories.set(fullName, repo.bare);
  github.users.set('bob', { sshSigningKeys: [repo.bobSshPublicKey] });
  github.emailLogins.set(bob.email, 'bob');
  const store = openSqliteStore(join(dir, 'signet.sqlite'));
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
      SIGNET_GITHUB_WRITE_INTERVAL_MS: '0',
      SIGNET_INSTANCE_ID: 'test-1',
      ...env,
    },
    dir,
  );
  const server = await startSignetServer(config, { store });
  const info = () => ({ fullName, cloneUrl: `${backend.origin}/${repo.path}`, installationId: INSTALLATION });
  return {
    fullName,
    repo,
    backend,
    github,
    store,
    server,
    hookUrl: `${server.url}/api/github/webhooks`,
    info,
    pullPayload(action, number, head, headRef) {
      const payload = retarget(example('pull_request', action), info());
      payload.number = number;
      const pull = payload.pull_request as Record<string, any>;
      pull.number = number;
      pull.head = { ...pull.head, sha: head, ref: headRef, repo: { ...pull.head.repo, full_name: fullName } };
      pull.base = { ...pull.base, sha: repo.heads.main, ref: 'main', repo: { ...pull.base.repo, full_name: fullName } };
      return payload;
    },
    pushPayload(ref, before, after) {
      const payload = retarget(example('push'), info());
      Object.assign(payload, { ref, before, after, created: /^0+$/.test(before), deleted: false, commits: [], head_commit: null });
      return payload;
    },
    runsFor: (sha) => github.checkRuns.filter((run) => run.created.head_sha === sha),
    async stop() {
      await server.stop();
      await store.close();
      await github.stop();
      await backend.stop();
      repo.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
