/**
 * Per-project webhook secrets against a delivery that names one project by id and another by
 * path: the holder of one project's secret must not act for a project whose secret it is not.
 * The check flow confirms the id and path with the GitLab API; /sign-release must too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerConfig } from '../../../src/server/config.ts';
import { startSignetServer, type RunningServer } from '../../../src/server/server.ts';
import { gitLabHandlers } from '../../../src/gitlab/handler.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { post } from '../../helpers/fake-github-webhooks.ts';
import { startFakeGitLab, type FakeGitLab } from '../../helpers/fake-gitlab.ts';
import { freePort } from '../../helpers/postgres.ts';
import { git, tempDir } from '../../helpers/git.ts';

const VICTIM = { id: 42, path: 'victim/app' };
const ATTACKER = { id: 9, path: 'mallory/own' };
const MAINTAINER_OF_VICTIM = { id: 21, username: 'maya' };

describe('GitLab per-project secrets and /sign-release', () => {
  const dir = tempDir('redteam-gitlab');
  let gitlab: FakeGitLab;
  let store: SignetStore;
  let server: RunningServer;
  let http: Server;
  let url: string;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'signet-redteam-gitlab-'));
    const bare = join(dir.path, 'victim.git');
    git(dir.path, ['init', '-q', '--bare', bare]);
    gitlab = await startFakeGitLab();
    gitlab.projects.set(VICTIM.id, bare);
    gitlab.projectPaths.set(VICTIM.id, VICTIM.path);
    gitlab.projects.set(ATTACKER.id, bare);
    gitlab.projectPaths.set(ATTACKER.id, ATTACKER.path);
    gitlab.members.set(`${VICTIM.id}:${MAINTAINER_OF_VICTIM.id}`, 40);
    store = openSqliteStore(join(work, 'signet.sqlite'));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const config = readServerConfig(
      {
        APP_ID: '1',
        PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        WEBHOOK_SECRET: 'unused',
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        SIGNET_CACHE_DIR: join(work, 'cache'),
        GITLAB_URL: gitlab.url,
        GITLAB_TOKEN: gitlab.token,
        GITLAB_WEBHOOK_SECRET: 'shared-secret',
      },
      work,
    );
    server = await startSignetServer(config, { store });
    // The victim has its own secret (by id); mallory's project has hers (by path).
    const perProject = {
      ...config.gitlab!,
      projectSecrets: new Map([
        [String(VICTIM.id), 'victim-secret'],
        [ATTACKER.path, 'mallory-secret'],
      ]),
    };
    const [handler] = gitLabHandlers(perProject, server.deps, { release: { env: {}, cwd: work } });
    http = createServer((req, res) => void handler!(req, res));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/gitlab/webhook`;
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((resolve) => http?.close(() => resolve()));
    await server?.stop();
    await store?.close();
    await gitlab?.stop();
    rmSync(work, { recursive: true, force: true });
    dir.remove();
  });

  it("mallory's secret, the victim's id and her own path: /sign-release does nothing on the victim's project", async () => {
    const payload = {
      object_kind: 'note',
      event_type: 'note',
      user: { ...MAINTAINER_OF_VICTIM, name: 'maya' },
      project_id: VICTIM.id,
      project: {
        id: VICTIM.id,
        name: 'own',
        path_with_namespace: ATTACKER.path,
        default_branch: 'main',
        git_http_url: `https://gitlab.example/${ATTACKER.path}.git`,
        web_url: `https://gitlab.example/${ATTACKER.path}`,
      },
      object_attributes: { id: 901, note: '/sign-release v1.0.0', noteable_type: 'Issue', author_id: MAINTAINER_OF_VICTIM.id },
      issue: { iid: 3, id: 5003, title: 'Release' },
    };
    const response = await post(
      url,
      { 'content-type': 'application/json', 'x-gitlab-event': 'Note Hook', 'x-gitlab-token': 'mallory-secret' },
      JSON.stringify(payload),
    );
    expect(response.status).not.toBe(401);
    // Nothing but the project look-up touched the victim: no membership, release, award or note.
    const touched = gitlab.requests.filter((r) => r.path.startsWith(`/projects/${VICTIM.id}/`));
    expect(touched.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(gitlab.awards).toEqual([]);
    expect(gitlab.notes).toEqual([]);
  });
});
