/**
 * One running GitLab bot against the fakes, as fake-github-app.ts is for the GitHub App: a
 * signed repository behind `git http-backend` (cloned through the fake GitLab's host, as GitLab
 * serves clones), the fake GitLab API, a SQLite store and the app's server with the bot's
 * webhook route. Payload builders give GitLab's webhook shapes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitLabHandlers } from '../../src/gitlab/handler.ts';
import { readServerConfig } from '../../src/server/config.ts';
import { startSignetServer, type RunningServer } from '../../src/server/server.ts';
import { openSqliteStore } from '../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../src/store/store.ts';
import { post, type Delivery } from './fake-github-webhooks.ts';
import { startFakeGitLab, type FakeGitLab } from './fake-gitlab.ts';
import { startGitHttpBackend, type GitHttpBackend } from './http-backend.ts';
import { bob, mallory, makeSignedRepo, type SignedRepo } from './http-backend-repo.ts';
import { freePort } from './postgres.ts';

export const GITLAB_HOOK_SECRET = 'gitlab-hook-token';

export interface GitLabBotHarness {
  projectId: number;
  fullName: string;
  repo: SignedRepo;
  backend: GitHttpBackend;
  gitlab: FakeGitLab;
  store: SignetStore;
  server: RunningServer;
  hookUrl: string;
  /** POSTs one delivery to the bot's webhook route (X-Gitlab-Token, X-Gitlab-Event, X-Gitlab-Event-UUID); `raw` is sent instead of the payload's JSON. */
  send(event: string, payload: unknown, options?: { uuid?: string; token?: string; raw?: string }): Promise<Delivery>;
  /** The `project` object of a payload. */
  projectPayload(): Record<string, unknown>;
  /** A merge request as a note's `merge_request` shows it. */
  mergeRequestObject(iid: number, head: string, source: string, extra?: Record<string, unknown>): Record<string, unknown>;
  mergeRequestPayload(action: string, iid: number, head: string, source: string, extra?: Record<string, unknown>): Record<string, unknown>;
  pushPayload(ref: string, before: string, after: string): Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startGitLabBotHarness(fullName: string, projectId: number, env: Record<string, string> = {}): Promise<GitLabBotHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-gitlab-bot-'));
  const repo = makeSignedRepo(fullName);
  const backend = await startGitHttpBackend(repo.root);
  const gitlab = await startFakeGitLab();
  gitlab.projects.set(projectId, repo.bare);
  gitlab.projectPaths.set(projectId, fullName);
  gitlab.gitOrigin = backend.origin;
  gitlab.users.push({ id: 11, username: 'bob', email: bob.email, sshKeys: [{ key: repo.bobSshPublicKey, usage_type: 'signing' }] });
  const store = openSqliteStore(join(dir, 'signet.sqlite'));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const config = readServerConfig(
    {
      APP_ID: '1',
      PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      WEBHOOK_SECRET: 'unused',
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: (process.env.TEST_LOG_LEVEL ?? 'silent') as 'silent',
      SIGNET_CACHE_DIR: join(dir, 'cache'),
      GITLAB_URL: gitlab.url,
      GITLAB_TOKEN: gitlab.token,
      GITLAB_WEBHOOK_SECRET: GITLAB_HOOK_SECRET,
      ...env,
    },
    dir,
  );
  const server = await startSignetServer(config, { store, extraHandlers: (deps) => gitLabHandlers(config.gitlab!, deps) });
  const hookUrl = `${server.url}/gitlab/webhook`;
  const project = (): Record<string, unknown> => ({
    id: projectId,
    name: fullName.split('/').pop(),
    path_with_namespace: fullName,
    default_branch: 'main',
    git_http_url: `${backend.origin}/${repo.path}`,
    web_url: `http://gitlab.test/${fullName}`,
  });
  const mergeRequest = (iid: number, head: string, source: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    iid,
    id: iid + 1000,
    target_branch: 'main',
    source_branch: source,
    source_project_id: projectId,
    target_project_id: projectId,
    state: 'opened',
    last_commit: { id: head, message: 'x' },
    ...extra,
  });
  return {
    projectId,
    fullName,
    repo,
    backend,
    gitlab,
    store,
    server,
    hookUrl,
    send: (event, payload, options = {}) =>
      post(
        hookUrl,
        {
          'content-type': 'application/json',
          'x-gitlab-event': event,
          'x-gitlab-token': options.token ?? GITLAB_HOOK_SECRET,
          ...(options.uuid ? { 'x-gitlab-event-uuid': options.uuid } : {}),
        },
        options.raw ?? JSON.stringify(payload),
        options.uuid,
      ),
    projectPayload: project,
    mergeRequestObject: mergeRequest,
    mergeRequestPayload: (action, iid, head, source, extra = {}) => ({
      object_kind: 'merge_request',
      event_type: 'merge_request',
      user: { id: 9, username: 'alice' },
      project: project(),
      object_attributes: { ...mergeRequest(iid, head, source, extra), action },
    }),
    pushPayload: (ref, before, after) => ({
      object_kind: 'push',
      event_name: 'push',
      before,
      after,
      ref,
      checkout_sha: after,
      user_id: 7,
      user_username: 'mallory',
      user_email: mallory.email,
      project_id: projectId,
      project: project(),
      commits: [],
      total_commits_count: 1,
    }),
    async stop() {
      await server.stop();
      await store.close();
      await gitlab.stop();
      await backend.stop();
      repo.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
