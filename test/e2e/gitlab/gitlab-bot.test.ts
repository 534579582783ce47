/**
 * The GitLab bot end to end: the app's server receives GitLab webhooks at /gitlab/webhook
 * (X-Gitlab-Token), talks to a local fake GitLab API through the one GitLab client and fetches
 * objects from `git http-backend` serving a repository made with real git, gpg, ssh-keygen.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../../src/server/server.ts';
import { createGitLabCaches, gitLabAccountKeys } from '../../../src/forge/gitlab-api.ts';
import { gitLabClient } from '../../../src/forge/gitlab-client.ts';
import { gitLabVerifiedUserOfEmail } from '../../../src/forge/gitlab-verified-user.ts';
import { gitLabHandlers } from '../../../src/gitlab/handler.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { post } from '../../helpers/fake-github-webhooks.ts';
import { GITLAB_HOOK_SECRET, startGitLabBotHarness, type GitLabBotHarness } from '../../helpers/fake-gitlab-bot.ts';
import type { FakeGitLab } from '../../helpers/fake-gitlab.ts';
import type { GitHttpBackend } from '../../helpers/http-backend.ts';
import { DEFAULT_POLICY, bob, mallory, type SignedRepo } from '../../helpers/http-backend-repo.ts';

const SECRET = GITLAB_HOOK_SECRET;
const PROJECT_ID = 42;
const FULL_NAME = 'group/project';

let bot: GitLabBotHarness;
let repo: SignedRepo;
let backend: GitHttpBackend;
let gitlab: FakeGitLab;
let store: SignetStore;
let server: RunningServer;
let hookUrl: string;

const project = () => bot.projectPayload();
const mergeRequest = (iid: number, head: string, source: string, extra: Record<string, unknown> = {}) => bot.mergeRequestObject(iid, head, source, extra);
const mrHook = (action: string, iid: number, head: string, source: string, extra: Record<string, unknown> = {}) =>
  bot.mergeRequestPayload(action, iid, head, source, extra);
const pushHook = (ref: string, before: string, after: string) => bot.pushPayload(ref, before, after);
const send = (event: string, payload: unknown, token = SECRET, raw?: string) => bot.send(event, payload, { token, ...(raw !== undefined ? { raw } : {}) });

const statusesFor = (sha: string) => gitlab.statuses.filter((s) => s.sha === sha);

beforeAll(async () => {
  bot = await startGitLabBotHarness(FULL_NAME, PROJECT_ID);
  ({ repo, backend, gitlab, store, server, hookUrl } = bot);
  repo.updateRef('refs/merge-requests/1/head', repo.heads['feature-good']);
  repo.updateRef('refs/merge-requests/2/head', repo.heads['feature-bad']);
});

afterAll(async () => {
  if (process.env.TEST_DEBUG) for (const s of gitlab.statuses) console.log(s.sha, s.state, s.description);
  await bot?.stop();
});

describe('merge requests', () => {
  it('sets running then success, and writes one note with the table', async () => {
    const head = repo.heads['feature-good'];
    const response = await send('Merge Request Hook', mrHook('open', 1, head, 'feature-good'));
    expect(response.status).toBe(200);
    expect(statusesFor(head).map((s) => [s.state, s.name])).toEqual([
      ['running', 'signet/signatures'],
      ['success', 'signet/signatures'],
    ]);
    expect(statusesFor(head)[1]!.description).toBe('2 commits meet the signing policy');
    const notes = gitlab.notes.filter((n) => n.iid === 1);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body).toMatch(/^<!-- signet:signatures -->\n### ✅ signet\/signatures: success/);
    const rows = notes[0]!.body.split('\n').filter((l) => l.startsWith('| `'));
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.includes(' | G | '))).toBe(true);
    // bob's SSH key came from his GitLab account (usage_type signing).
    expect(rows.some((r) => r.includes(`| G | ${bob.email} |`))).toBe(true);
    // Objects were fetched with the token as HTTP basic credentials.
    const auth = backend.requests.find((r) => r.authorization)?.authorization ?? '';
    expect(Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString()).toBe(`oauth2:${gitlab.token}`);
  });

  it('fails an unsigned commit; /signet recheck sets the status again and edits the same note', async () => {
    const head = repo.heads['feature-bad'];
    await send('Merge Request Hook', mrHook('update', 2, head, 'feature-bad', { oldrev: repo.heads.main }));
    expect(statusesFor(head).at(-1)).toMatchObject({ state: 'failed', description: '1 of 1 commit does not meet the signing policy' });
    const note = gitlab.notes.find((n) => n.iid === 2)!;
    expect(note.body).toContain('### ❌ signet/signatures: failure');
    expect(note.body).toContain('| N |');

    const recheck = {
      object_kind: 'note',
      user: { id: 1, username: 'alice' },
      project_id: PROJECT_ID,
      project: project(),
      object_attributes: { id: 1, note: '/signet recheck', noteable_type: 'MergeRequest' },
      merge_request: mergeRequest(2, head, 'feature-bad'),
    };
    const before = statusesFor(head).length;
    expect((await send('Note Hook', recheck)).status).toBe(200);
    expect(statusesFor(head)).toHaveLength(before + 2);
    expect(gitlab.notes.filter((n) => n.iid === 2)).toHaveLength(1);
    expect(note.edits).toBe(1);
  });

  it('an update without new commits (a title edit) changes nothing', async () => {
    const count = gitlab.statuses.length;
    expect((await send('Merge Request Hook', mrHook('update', 1, repo.heads['feature-good'], 'feature-good'))).status).toBe(200);
    expect(gitlab.statuses.length).toBe(count);
  });
});

describe('pushes and faults', () => {
  it('a push of an unsigned commit to main fails the status', async () => {
    const [oid] = repo.commit('main', 1, mallory, 'none');
    await send('Push Hook', pushHook('refs/heads/main', repo.heads.main, oid!));
    expect(statusesFor(oid!).map((s) => s.state)).toEqual(['running', 'failed']);
  });

  it('retries a 500 from the API', async () => {
    const [oid] = repo.commit('retry', 1, mallory, 'none');
    gitlab.faults.push({ method: 'POST', path: /\/statuses\//, status: 500 });
    await send('Push Hook', pushHook('refs/heads/retry', '0'.repeat(40), oid!));
    expect(statusesFor(oid!).map((s) => s.state)).toEqual(['running', 'success']);
    expect(statusesFor(oid!)[1]!.description).toMatch(/^neutral: no rule of \.github\/signet\.yml applies/);
  });

  it('a fetch failure is a failed status that says what broke', async () => {
    const [oid] = repo.commit('down', 1, mallory, 'none');
    backend.failWith = 500;
    try {
      await send('Push Hook', pushHook('refs/heads/down', '0'.repeat(40), oid!));
    } finally {
      backend.failWith = 0;
    }
    expect(statusesFor(oid!).at(-1)!.state).toBe('failed');
    expect(statusesFor(oid!).at(-1)!.description).toMatch(/^signet could not fetch the commits: cannot fetch refs\/heads\/down/);
  });

  it('an outage while checking is a failed status that says "could not check, try again", never success', async () => {
    const [oid] = repo.commit('outage', 1, mallory, 'none');
    backend.failWith = 502;
    try {
      expect((await send('Push Hook', pushHook('refs/heads/outage', '0'.repeat(40), oid!))).status).toBe(200);
    } finally {
      backend.failWith = 0;
    }
    expect(statusesFor(oid!).map((s) => s.state)).toEqual(['running', 'failed']);
    expect(statusesFor(oid!).at(-1)!.description).toMatch(
      /^signet could not fetch the commits: cannot fetch refs\/heads\/outage.* — could not check, try again$/,
    );
    const audit = await store.listAudit(`gitlab:${FULL_NAME}`, 1);
    expect(audit[0]).toMatchObject({ outcome: 'error', headSha: oid, detail: { code: 'FORGE_OUTAGE' } });
  });

  it('GitLab down when the status is set: nothing is posted, the webhook answers 503 with Retry-After, a redelivery posts', async () => {
    const [oid] = repo.commit('gitlab-down', 1, mallory, 'none');
    // 503 on every try (the client retries it twice).
    const fault = { method: 'POST', path: /\/statuses\//, status: 503, times: 3 };
    gitlab.faults.push(fault);
    const down = await send('Push Hook', pushHook('refs/heads/gitlab-down', '0'.repeat(40), oid!));
    expect(fault.times).toBe(0);
    expect([down.status, down.retryAfter]).toEqual([503, '60']);
    expect(JSON.parse(down.body)).toMatchObject({ code: 'FORGE_OUTAGE' });
    expect(statusesFor(oid!)).toEqual([]);
    const again = await send('Push Hook', pushHook('refs/heads/gitlab-down', '0'.repeat(40), oid!));
    expect([again.status, again.retryAfter]).toEqual([200, undefined]);
    expect(statusesFor(oid!).map((s) => s.state)).toEqual(['running', 'success']);
  });

  it('a wrong X-Gitlab-Token is a 401 and posts nothing; a body that is not JSON is a 400', async () => {
    const count = gitlab.requests.length;
    const wrong = await send('Push Hook', pushHook('refs/heads/main', repo.heads.main, repo.heads['feature-bad']), 'wrong-token');
    expect(wrong.status).toBe(401);
    const missing = await post(hookUrl, { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook' }, '{}');
    expect(missing.status).toBe(401);
    expect((await send('Push Hook', undefined, SECRET, '{oops')).status).toBe(400);
    const odd = await send('Push Hook', { object_kind: 'push' });
    expect(odd.status).toBe(200);
    expect(gitlab.requests.length).toBe(count);
  });

  it('only SSH keys registered for signing count', async () => {
    const fake = {
      id: 12,
      username: 'dave',
      email: 'dave@example.com',
      sshKeys: [
        { key: repo.bobSshPublicKey, usage_type: 'auth' as const },
        { key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0+signing dave', usage_type: 'auth_and_signing' as const },
      ],
    };
    gitlab.users.push(fake);
    const keys = await gitLabAccountKeys(gitLabClient({ baseUrl: gitlab.url, token: gitlab.token }), createGitLabCaches(), { id: 12, username: 'dave' }, [
      'dave@example.com',
    ]);
    expect(keys.sshSigningKeys).toEqual(['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0+signing dave']);
    expect(keys.verifiedEmails).toEqual(['dave@example.com']);
  });
});

describe('a lenient status never overrides a strict one (issue 11 item 5)', () => {
  it("pushing a merge request's head to a branch without a rule keeps the status failed", async () => {
    const [head] = repo.commit('mr-seven', 1, mallory, 'none');
    repo.updateRef('refs/merge-requests/7/head', head!);
    gitlab.mergeRequests.push({ project: PROJECT_ID, iid: 7, sha: head!, source_branch: 'mr-seven', target_branch: 'main', state: 'opened' });
    await send('Merge Request Hook', mrHook('open', 7, head!, 'mr-seven'));
    expect(statusesFor(head!).at(-1)!.state).toBe('failed');
    repo.updateRef('refs/heads/elsewhere', head!);
    await send('Push Hook', pushHook('refs/heads/elsewhere', '0'.repeat(40), head!));
    expect(statusesFor(head!).map((s) => s.state)).toEqual(['running', 'failed', 'running', 'failed']);
    // The push plan asked GitLab which merge requests have this head.
    expect(gitlab.requests.some((r) => r.path === `/projects/${PROJECT_ID}/repository/commits/${head}/merge_requests`)).toBe(true);
  });
});

describe('GitLab accounts vouch only for e-mails GitLab confirmed (issue 11 item 6)', () => {
  it('an unconfirmed primary or secondary e-mail links no commit; confirmed, public and commit e-mails do', async () => {
    const api = gitLabClient({ baseUrl: gitlab.url, token: gitlab.token });
    gitlab.users.push(
      {
        id: 21,
        username: 'eve',
        email: 'eve@example.com',
        primaryEmail: { email: 'ceo@example.com', confirmed: false },
        secondaryEmails: [
          { email: 'cfo@example.com', confirmed: false },
          { email: 'eve.work@example.com', confirmed: true },
        ],
      },
      { id: 22, username: 'frank', email: 'frank@example.com', primaryEmail: { email: 'frank.primary@example.com', confirmed: true } },
    );
    const caches = createGitLabCaches();
    expect(await gitLabVerifiedUserOfEmail(api, caches, 'ceo@example.com')).toBeUndefined();
    expect(await gitLabVerifiedUserOfEmail(api, caches, 'cfo@example.com')).toBeUndefined();
    expect(await gitLabVerifiedUserOfEmail(api, caches, 'eve.work@example.com')).toEqual({ id: 21, username: 'eve' });
    expect(await gitLabVerifiedUserOfEmail(api, caches, 'eve@example.com')).toEqual({ id: 21, username: 'eve' });
    expect(await gitLabVerifiedUserOfEmail(api, caches, 'frank.primary@example.com')).toEqual({ id: 22, username: 'frank' });
  });
});

describe('the policy in force before a push judges it (issue 11 item 7)', () => {
  it('an unsigned push to main that rewrites the policy fails under the old one', async () => {
    // Earlier tests moved main: ask the repository.
    const before = execFileSync('git', ['--git-dir', repo.bare, 'rev-parse', 'refs/heads/main']).toString().trim();
    const after = repo.setPolicy(DEFAULT_POLICY.replace('refs/heads/main, ', ''), mallory, 'none');
    await send('Push Hook', pushHook('refs/heads/main', before, after));
    expect(statusesFor(after).map((s) => s.state)).toEqual(['running', 'failed']);
    expect(gitlab.requests.some((r) => r.path.startsWith(`/projects/${PROJECT_ID}/repository/files/`) && r.query.get('ref') === before)).toBe(true);
  });
});

describe('every page of a list (issue 12)', () => {
  it("an open merge request on the second page of a commit's merge requests still brings its target's rules", async () => {
    const [head] = repo.commit('mr-paged', 1, mallory, 'none');
    for (let iid = 100; iid < 220; iid++)
      gitlab.mergeRequests.push({ project: PROJECT_ID, iid, sha: head!, source_branch: 'mr-paged', target_branch: 'main', state: 'closed' });
    gitlab.mergeRequests.push({ project: PROJECT_ID, iid: 220, sha: head!, source_branch: 'mr-paged', target_branch: 'release/next', state: 'opened' });
    await send('Push Hook', pushHook('refs/heads/mr-paged', '0'.repeat(40), head!));
    expect(statusesFor(head!).map((s) => s.state)).toEqual(['running', 'failed']);
    expect(gitlab.requests.some((r) => r.path.endsWith(`/commits/${head}/merge_requests`) && r.query.get('page') === '2')).toBe(true);
  });
});

describe('tokens stay home and secrets speak for their own project (issue 12)', () => {
  async function listener() {
    const seen: Array<{ path: string; authorization?: string; privateToken?: string }> = [];
    const http = createServer((req, res) => {
      seen.push({
        path: req.url ?? '',
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        ...(typeof req.headers['private-token'] === 'string' ? { privateToken: req.headers['private-token'] } : {}),
      });
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return { seen, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, stop: () => new Promise<void>((resolve) => http.close(() => resolve())) };
  }

  it("a payload's git_http_url is never cloned: objects come from GITLAB_URL, and the token reaches no other host", async () => {
    const evil = await listener();
    try {
      const [oid] = repo.commit('clone-url', 1, mallory, 'none');
      const payload = pushHook('refs/heads/clone-url', '0'.repeat(40), oid!);
      (payload.project as Record<string, unknown>).git_http_url = `${evil.url}/steal.git`;
      (payload.project as Record<string, unknown>).default_branch = 'clone-url';
      await send('Push Hook', payload);
      expect(statusesFor(oid!).map((s) => s.state)).toEqual(['running', 'success']);
      expect(evil.seen).toEqual([]);
      // Every API request carried the token to the configured origin only, and git went through it too.
      expect(gitlab.requests.every((r) => r.privateToken === gitlab.token)).toBe(true);
      expect(backend.requests.some((r) => r.path.startsWith(`/${FULL_NAME}.git/`))).toBe(true);
    } finally {
      await evil.stop();
    }
  });

  it('an API answer that redirects off GitLab is not followed: no token there, no policy from there, and the status fails (issue 16)', async () => {
    const evil = await listener();
    try {
      const [oid] = repo.commit('redirected', 1, mallory, 'none');
      gitlab.faults.push({ method: 'GET', path: /\/repository\/files\//, status: 302, location: `${evil.url}/lenient-policy.json` });
      await send('Push Hook', pushHook('refs/heads/redirected', '0'.repeat(40), oid!));
      expect(statusesFor(oid!).map((s) => s.state)).toEqual(['running', 'failed']);
      expect(statusesFor(oid!)[1]!.description).toMatch(
        /^signet could not talk to the forge API: reading \.gitlab\/signet\.yml from project 42@main: GET \/api\/v4\/projects\/42\//,
      );
      const audit = (await store.listAudit(`gitlab:${FULL_NAME}`, 1))[0]!;
      expect(String(audit.detail?.error)).toMatch(/: HTTP 302 to http:\/\/127\.0\.0\.1:\d+, off the GitLab API: not followed$/);
      expect(evil.seen).toEqual([]);
    } finally {
      await evil.stop();
    }
  });

  it('a payload whose project path is not the one GitLab has for its id is refused, with nothing fetched', async () => {
    const [oid] = repo.commit('wrong-path', 1, mallory, 'none');
    const payload = pushHook('refs/heads/wrong-path', '0'.repeat(40), oid!);
    (payload.project as Record<string, unknown>).path_with_namespace = 'other-group/other-project';
    const fetches = backend.requests.length;
    await send('Push Hook', payload);
    expect(statusesFor(oid!).at(-1)).toMatchObject({
      state: 'failed',
      description: expect.stringContaining("delivery refused: project 42 is 'group/project' on GitLab"),
    });
    expect(backend.requests.length).toBe(fetches);
  });

  it("per-project secrets: one project's secret cannot deliver for another, nor the shared one for a project with its own", async () => {
    const config = {
      url: gitlab.url,
      token: gitlab.token,
      webhookSecret: 'shared-secret',
      projectSecrets: new Map([
        [String(PROJECT_ID), 'own-secret'],
        ['other/project', 'other-secret'],
      ]),
    };
    const [handler] = gitLabHandlers(config, server.deps);
    const http = createServer((req, res) => void handler!(req, res));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/gitlab/webhook`;
    try {
      const ignored = { ...pushHook('refs/heads/x', '0'.repeat(40), '0'.repeat(40)) };
      const as = (secret: string, body: unknown) =>
        post(url, { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': secret }, JSON.stringify(body));
      expect((await as('other-secret', ignored)).status).toBe(403);
      expect((await as('shared-secret', ignored)).status).toBe(403);
      expect((await as('wrong', ignored)).status).toBe(401);
      expect((await as('own-secret', ignored)).status).toBe(200);
      // The shared secret still serves a project without its own.
      const elsewhere = { ...ignored, project_id: 77, project: { ...project(), id: 77, path_with_namespace: 'group/elsewhere' } };
      expect((await as('shared-secret', elsewhere)).status).toBe(200);
      expect((await as('own-secret', elsewhere)).status).toBe(403);
    } finally {
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});
