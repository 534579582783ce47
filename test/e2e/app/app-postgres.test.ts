/**
 * Two app instances, started as deployments start them (`npm start`, and `node dist/app.mjs`),
 * share one throwaway PostgreSQL: the same delivery sent to both, and a push to one with its
 * check_suite to the other, each post one check run. One instance uses the PKCS#1 key GitHub
 * issues, the other the same key as PKCS#8.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../../src/store/sql-postgres.ts';
import { startFakeGitHub, type FakeGitHub } from '../../helpers/fake-github.ts';
import { deliver, example, retarget } from '../../helpers/fake-github-webhooks.ts';
import { startGitHttpBackend, type GitHttpBackend } from '../../helpers/http-backend.ts';
import { bob, makeSignedRepo, mallory, type SignedRepo } from '../../helpers/http-backend-repo.ts';
import { freePort, startPostgres, type TestPostgres } from '../../helpers/postgres.ts';

const SECRET = 'shared-secret';
const FULL_NAME = 'octo-org/shared';
const root = resolve(import.meta.dirname, '..', '..', '..');

let dir: string;
let postgres: TestPostgres;
let repo: SignedRepo;
let backend: GitHttpBackend;
let github: FakeGitHub;
const instances: Array<{ child: ChildProcess; url: string; output: string[] }> = [];

async function waitHealthy(url: string, child: ChildProcess, output: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}: ${output.join('')}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the app did not answer /healthz within 30 s: ${output.join('')}`);
}

async function startInstance(command: string[], name: string, privateKey: string): Promise<void> {
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: root,
    detached: true,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      APP_ID: String(github.appId),
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: github.host,
      GHE_PROTOCOL: 'http',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: postgres.url,
      SIGNET_CACHE_DIR: join(dir, `cache-${name}`),
      SIGNET_INSTANCE_ID: name,
      SIGNET_GITHUB_WRITE_INTERVAL_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  const url = `http://127.0.0.1:${port}`;
  instances.push({ child, url, output });
  await waitHealthy(url, child, output);
}

async function stopInstance(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(-child.pid, 'SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
}

const info = () => ({ fullName: FULL_NAME, cloneUrl: `${backend.origin}/${repo.path}`, installationId: 5 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'signet-app-pg-'));
  [postgres, github] = await Promise.all([startPostgres(), startFakeGitHub()]);
  repo = makeSignedRepo(FULL_NAME);
  backend = await startGitHttpBackend(repo.root);
  github.repositories.set(FULL_NAME, repo.bare);
  github.users.set('bob', { sshSigningKeys: [repo.bobSshPublicKey] });
  github.emailLogins.set(bob.email, 'bob');
  await Promise.all([
    startInstance(['npm', 'start', '--silent'], 'one', github.privateKey),
    startInstance([process.execPath, 'dist/app.mjs'], 'two', github.privateKeyPkcs8),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => stopInstance(i.child)));
  await github?.stop();
  await backend?.stop();
  postgres?.stop();
  repo?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('two instances on one PostgreSQL', () => {
  it('both answer /healthz with the PostgreSQL store', async () => {
    for (const instance of instances) expect(await (await fetch(`${instance.url}/healthz`)).json()).toEqual({ status: 'ok', store: 'postgres' });
  });

  it('the same delivery sent to both instances posts one check run', async () => {
    const head = repo.heads['feature-good'];
    const payload = retarget(example('pull_request', 'opened'), info());
    payload.number = 1;
    const pull = payload.pull_request as Record<string, any>;
    pull.number = 1;
    pull.head = { ...pull.head, sha: head, ref: 'feature-good', repo: { full_name: FULL_NAME } };
    pull.base = { ...pull.base, sha: repo.heads.main, ref: 'main', repo: { full_name: FULL_NAME } };
    const responses = await Promise.all(
      instances.map((i) => deliver(`${i.url}/api/github/webhooks`, SECRET, 'pull_request', payload, { id: 'one-delivery-two-instances' })),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    const runs = github.checkRuns.filter((r) => r.created.head_sha === head);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.current.conclusion).toBe('success');
  });

  it('a push to one instance and its check_suite to the other post one check run', async () => {
    const [oid] = repo.commit('main', 1, mallory, 'none');
    const push = retarget(example('push'), info());
    Object.assign(push, { ref: 'refs/heads/main', before: repo.heads.main, after: oid, created: false, deleted: false, commits: [], head_commit: null });
    const suite = retarget(example('check_suite', 'requested'), info());
    Object.assign(suite.check_suite as object, { head_sha: oid, head_branch: 'main', before: repo.heads.main, after: oid, pull_requests: [] });
    const [a, b] = await Promise.all([
      deliver(`${instances[0]!.url}/api/github/webhooks`, SECRET, 'push', push),
      deliver(`${instances[1]!.url}/api/github/webhooks`, SECRET, 'check_suite', suite),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const runs = github.checkRuns.filter((r) => r.created.head_sha === oid);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.current.conclusion).toBe('failure');
  });

  it('the verdicts and the audit trail are in PostgreSQL', async () => {
    const store = await openPostgresStore(postgres.url);
    try {
      const recorded = await store.lookupVerdicts(`github:${FULL_NAME}`, [repo.heads['feature-good']]);
      expect(recorded.get(repo.heads['feature-good'])).toMatchObject({ status: 'G', format: 'ssh', signer: bob.email });
      const audit = await store.listAudit(`github:${FULL_NAME}`, 10);
      expect(audit.filter((e) => e.outcome === 'skipped').length).toBeGreaterThanOrEqual(2);
      expect(audit.filter((e) => e.outcome === 'success' || e.outcome === 'failure')).toHaveLength(2);
    } finally {
      await store.close();
    }
  });
});
