import { spawnSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/jobs/audit-trail.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { commitFile, GpgHome, type GpgIdentity } from '../../helpers/signing-keys.ts';

function signet(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(process.cwd(), 'bin/signet.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

const POLICY = `version: 1
keys:
  openpgp: [registry.asc]
rules:
  - refs: [refs/heads/main]
    require_signed_commits: true
`;

/**
 * `signet audit export`: the hook's decisions on real pushes, the jobs' runs and the app's
 * rows in the store, merged into one time-ordered JSON-lines stream and cut to the window.
 */
describe('signet audit export', () => {
  const dir = tempDir('audit');
  let gpg: GpgHome;
  let alice: GpgIdentity;
  let bare: string;
  let work: string;
  let sqlite: string;
  let jobsConfig: string;
  const pushes: Array<{ sha: string; ok: boolean }> = [];
  const start = new Date();

  beforeAll(async () => {
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    alice = gpg.createKey('Alice', 'alice@example.com');
    writeFileSync(join(dir.path, 'registry.asc'), alice.armoredPublicKey);
    writeFileSync(join(dir.path, 'policy.yml'), POLICY);
    bare = join(dir.path, 'server.git');
    git(dir.path, ['init', '-q', '--bare', '-b', 'main', bare]);
    const install = signet(['hook', 'install', '--repo', bare, '--policy', join(dir.path, 'policy.yml'), '--script']);
    expect(install.status).toBe(0);
    work = join(dir.path, 'work');
    git(dir.path, ['clone', '-q', bare, work]);
    const env = { GNUPGHOME: gpg.home };
    const signed = commitFile(work, 'a.txt', 'a\n', 'signed change', { email: alice.email, sign: gpg.gitSigningConfig(alice), env });
    pushes.push({ sha: signed, ok: spawnSync('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: work, env: { ...process.env, ...env } }).status === 0 });
    const unsigned = commitFile(work, 'b.txt', 'b\n', 'unsigned change', { email: 'mallory@example.com' });
    pushes.push({ sha: unsigned, ok: spawnSync('git', ['push', '-q', 'origin', 'HEAD:main'], { cwd: work, env: { ...process.env, ...env } }).status === 0 });

    // The app's rows: one long ago, two recent.
    sqlite = join(dir.path, 'app.sqlite');
    const store = openSqliteStore(sqlite);
    const ago = (ms: number) => new Date(start.getTime() - ms).toISOString();
    await store.appendAudit({
      at: ago(10 * 86_400_000),
      forge: 'github',
      repository: 'github:acme/widgets',
      event: 'push',
      delivery: 'd-old',
      headSha: 'a'.repeat(40),
      outcome: 'success',
    });
    await store.appendAudit({
      at: ago(3_600_000),
      forge: 'github',
      repository: 'github:acme/widgets',
      event: 'pull_request.synchronize',
      delivery: 'd-1',
      headSha: 'b'.repeat(40),
      outcome: 'failure',
      detail: { statuses: { G: 2, N: 1 }, sender: 'mallory' },
    });
    await store.appendAudit({
      at: ago(1_800_000),
      forge: 'github',
      repository: 'github:acme/widgets',
      event: 'issue_comment.created',
      delivery: 'd-2',
      outcome: 'success',
      detail: { command: '/sign-release', sender: 'alice' },
    });
    await store.close();

    jobsConfig = join(dir.path, 'jobs.yml');
    writeFileSync(jobsConfig, `state_dir: state\nrepositories:\n  - name: server\n    path: server.git\n    policy: policy.yml\n`);
    expect(signet(['jobs', 'run', 'key-expiry', '--config', jobsConfig]).status).toBe(0);
  });
  afterAll(() => {
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gpg?.home } });
    dir.remove();
  });

  it('merges the hook, the jobs and the store by time, within the window', async () => {
    expect(pushes.map((p) => p.ok)).toEqual([true, false]);
    const result = signet(['audit', 'export', '--since', '1d', '--config', jobsConfig, '--sqlite', sqlite, '--store-repository', 'github:acme/widgets']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    expect(records.map((r) => `${r.source} ${r.action} ${r.verdict}`)).toEqual([
      'github-app pull_request.synchronize failure',
      'github-app issue_comment.created success',
      'hook push accepted',
      'hook push rejected',
      'jobs job:key-expiry ok',
    ]);
    const times = records.map((r) => Date.parse(r.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const [accepted, rejected] = records.filter((r) => r.source === 'hook');
    expect(accepted).toMatchObject({ ref: 'refs/heads/main', detail: { new: pushes[0]!.sha, commits: 1, letters: { G: 1 }, rejectedCommits: 0 } });
    expect(rejected).toMatchObject({
      ref: 'refs/heads/main',
      detail: {
        old: pushes[0]!.sha,
        new: pushes[1]!.sha,
        letters: { N: 1 },
        rejectedCommits: 1,
        violations: [{ code: 'UNSIGNED_COMMIT', commit: pushes[1]!.sha }],
      },
    });
    expect(records[0]).toMatchObject({
      actor: 'mallory',
      repository: 'github:acme/widgets',
      detail: { delivery: 'd-1', headSha: 'b'.repeat(40), statuses: { G: 2, N: 1 } },
    });
    expect(records[1]).toMatchObject({ actor: 'alice', detail: { command: '/sign-release' } });
    expect(records[4]).toMatchObject({ repository: 'server', detail: { findings: 0 } });
  });

  it('cuts by --since and --until, and reads a log named with --log', async () => {
    const all = signet(['audit', 'export', '--since', '30d', '--sqlite', sqlite, '--store-repository', 'github:acme/widgets']);
    expect(
      all.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).detail?.delivery),
    ).toEqual(['d-old', 'd-1', 'd-2']);
    const until = new Date(start.getTime() - 3_000_000).toISOString();
    const early = signet(['audit', 'export', '--since', '30d', '--until', until, '--sqlite', sqlite, '--store-repository', 'github:acme/widgets']);
    expect(
      early.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).detail?.delivery),
    ).toEqual(['d-old', 'd-1']);
    const hookLog = join(bare, 'signet', 'audit.log');
    const onlyHook = signet(['audit', 'export', '--since', start.toISOString().slice(0, 10), '--log', hookLog]);
    expect(
      onlyHook.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).verdict),
    ).toEqual(['accepted', 'rejected']);
    const future = signet(['audit', 'export', '--since', '2099-01-01', '--log', hookLog]);
    expect(future.stdout).toBe('');
  });

  it('skips a damaged line with a warning, and refuses a missing log', () => {
    const hookLog = join(bare, 'signet', 'audit.log');
    appendFileSync(hookLog, '{"truncated": \n');
    const result = signet(['audit', 'export', '--since', '1d', '--repo', bare]);
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(/audit\.log:3: not a JSON line, skipped/);
    const missing = signet(['audit', 'export', '--since', '1d', '--log', join(dir.path, 'nope.log')]);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/--log .*nope\.log: no such file/)]);
    const bad = signet(['audit', 'export', '--since', 'last week', '--repo', bare]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--since: 'last week' is not a date/);
  });
});

describe('audit export from the single executable (dist/signet)', () => {
  const executable = join(process.cwd(), 'dist/signet');
  const dir = tempDir('signet-audit-sea-');
  beforeAll(() => {
    spawnSync(process.execPath, ['scripts/build-sea.mjs'], { stdio: 'pipe', timeout: 240_000 });
  }, 240_000);
  afterAll(() => dir.remove());

  it('says in one line that it has no SQLite driver, and what to use instead', () => {
    // The executable carries no native addon. Before, it failed with "Could not find module
    // root given file: signet.cjs", and the node CLI (which inlined better-sqlite3) with
    // "__filename is not defined": the export above now runs through bin/signet.js.
    const result = spawnSync(
      executable,
      ['audit', 'export', '--since', '1d', '--sqlite', join(dir.path, 'a.sqlite'), '--store-repository', 'github:acme/widgets'],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/the sqlite store is unavailable: better-sqlite3 cannot be loaded .*use --database URL \(PostgreSQL\) or run signet from node$/),
    ]);
  });
});
