import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markerOf } from '../../../src/core/report/issue-sync.ts';
import { parseJobsConfig, type JobsConfig } from '../../../src/jobs/config.ts';
import type { JobEnvironment } from '../../../src/jobs/context.ts';
import { memoryJobState } from '../../../src/jobs/ports.ts';
import { runJob } from '../../../src/jobs/run-job.ts';
import type { AuditRecord } from '../../../src/jobs/audit-trail.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { startFakeForge, type FakeForge } from '../../helpers/jobs-fake-forge.ts';
import { commitFile, createSshKey, GpgHome } from '../../helpers/signing-keys.ts';

const TOKENS = { github: 'ghs_test_token', gitlab: 'glpat-test-token' };
const DAY = 86_400_000;

/** `valid-before` as allowed_signers takes it: YYYYMMDDHHMMSS with Z for UTC. */
function sshTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/**
 * The key expiry job against a local fake GitHub and GitLab: keys made by gpg (with expiry) and
 * ssh-keygen (valid-before), one issue per expiring key on each forge, updated not duplicated,
 * closed when the key is extended, reopened when it comes back.
 */
describe('key expiry job', () => {
  const dir = tempDir('jobs-expiry');
  let forge: FakeForge;
  let gpg: GpgHome;
  let dana: string;
  let frankLine: string;
  let config: JobsConfig;
  const keyring = () => join(dir.path, 'keys', 'registry.asc');
  const allowed = () => join(dir.path, 'keys', 'allowed_signers');
  const audit: Array<Omit<AuditRecord, 'source'>> = [];

  const exportRegistry = (): void => {
    writeFileSync(keyring(), gpg.gpg(['--armor', '--export']));
  };
  const environment = (overrides: Partial<JobEnvironment> = {}): JobEnvironment => ({
    config,
    now: () => new Date(),
    env: { GH_TOKEN: TOKENS.github, GL_TOKEN: TOKENS.gitlab },
    fetch: globalThis.fetch as JobEnvironment['fetch'],
    state: memoryJobState(),
    audit: (record) => audit.push(record),
    actor: 'test',
    ...overrides,
  });
  const issues = () => ({ github: forge.github.get('acme/widgets') ?? [], gitlab: forge.gitlab.get('acme/platform/widgets') ?? [] });

  beforeAll(async () => {
    forge = await startFakeForge(TOKENS);
    // The issues API lists pull requests too; one with our label must be left alone.
    forge.github.set('acme/widgets', [
      {
        number: 1,
        title: 'a pull request',
        body: '<!-- signet:key-expiry:FAKE -->',
        state: 'open',
        labels: ['signet:key-expiry'],
        comments: [],
        pullRequest: true,
      },
    ]);
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    gpg.gpg(['--quick-gen-key', 'Dana <dana@example.com>', 'ed25519', 'sign', '10d']);
    dana = /^fpr:+([0-9A-F]{40}):/m.exec(gpg.gpg(['--with-colons', '--list-keys', 'dana@example.com']))![1]!;
    gpg.createKey('Erin', 'erin@example.com'); // never expires
    git(dir.path, ['init', '-q', join(dir.path, 'repo')]);
    const frank = createSshKey(join(dir.path, 'ssh'), 'frank', 'frank@example.com');
    const gina = createSshKey(join(dir.path, 'ssh'), 'gina', 'gina@example.com');
    frankLine = frank.publicKeyLine.split(' ').slice(0, 2).join(' ');
    mkdirSync(join(dir.path, 'keys'));
    writeFileSync(
      allowed(),
      `frank@example.com valid-before="${sshTime(new Date(Date.now() + 5 * DAY))}" ${frankLine}\ngina@example.com valid-before="20991231" ${gina.publicKeyLine.split(' ').slice(0, 2).join(' ')}\n`,
    );
    exportRegistry();
    const yaml = `state_dir: state
repositories:
  - name: github:acme/widgets
    path: repo
    keyrings: [keys/registry.asc]
    allowed_signers: keys/allowed_signers
    forge: { type: github, project: acme/widgets, api_url: "${forge.url}", token_env: GH_TOKEN }
  - name: gitlab:acme/platform/widgets
    path: repo
    keyrings: [keys/registry.asc]
    allowed_signers: keys/allowed_signers
    forge: { type: gitlab, project: acme/platform/widgets, api_url: "${forge.url}/api/v4", token_env: GL_TOKEN }
jobs:
  key-expiry: { schedule: "0 6 * * *", within_days: 30 }
`;
    writeFileSync(join(dir.path, 'jobs.yml'), yaml);
    config = parseJobsConfig(yaml, join(dir.path, 'jobs.yml'));
  });
  afterAll(async () => {
    await forge?.close();
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gpg?.home } });
    dir.remove();
  });

  it('files one issue per expiring key on each forge, with a marker, and nothing for keys that do not expire soon', async () => {
    const run = await runJob('key-expiry', environment());
    expect(run.repositories.map((r) => [r.repository, r.outcome, r.findings, r.issues?.created])).toEqual([
      ['github:acme/widgets', 'findings', 2, [2, 3]],
      ['gitlab:acme/platform/widgets', 'findings', 2, [1, 2]],
    ]);
    const { github, gitlab } = issues();
    const markers = github.filter((i) => !i.pullRequest).map((i) => markerOf(i.body));
    expect(markers).toContain(`key-expiry:${dana}`);
    expect(markers.filter((m) => m?.startsWith('key-expiry:SHA256:'))).toHaveLength(1);
    expect(gitlab.map((i) => i.labels)).toEqual([['signet:key-expiry'], ['signet:key-expiry']]);
    // The SSH key expires first (5 days), then Dana's (10 days); the titles give the dates gpg and the file say.
    const danaExpiry = Number(
      gpg
        .gpg(['--with-colons', '--list-keys', dana])
        .split('\n')
        .find((l) => l.startsWith('pub:'))!
        .split(':')[6],
    );
    expect(github.find((i) => i.body.includes(dana))!.title).toBe(
      `Signing key expires on ${new Date(danaExpiry * 1000).toISOString().slice(0, 10)}: Dana <dana@example.com>`,
    );
    expect(gitlab.find((i) => i.body.includes('frank@example.com'))!.body).toContain('valid-before');
    expect(forge.writes().filter((r) => r.method === 'POST')).toHaveLength(4);
    // Tokens went where each forge wants them (the fake refuses others).
    expect(
      forge.requests.every((r) =>
        r.forge === 'github' ? r.path.startsWith('/repos/acme/widgets/issues') : r.path.startsWith('/api/v4/projects/acme%2Fplatform%2Fwidgets/issues'),
      ),
    ).toBe(true);
    // Each forge's token to its own API only: never the GitHub token on a GitLab path or the reverse.
    expect(forge.requests.filter((r) => r.credential !== (r.forge === 'github' ? `Bearer ${TOKENS.github}` : TOKENS.gitlab))).toEqual([]);
  });

  it('changes nothing when run again with the same keys', async () => {
    const before = forge.requests.length;
    const run = await runJob('key-expiry', environment());
    expect(run.repositories.map((r) => r.issues)).toEqual([
      { created: [], updated: [], closed: [], unchanged: 2 },
      { created: [], updated: [], closed: [], unchanged: 2 },
    ]);
    expect(forge.requests.slice(before).every((r) => r.method === 'GET')).toBe(true);
  });

  it('updates the issue, not a new one, when the key is extended but still expires soon', async () => {
    gpg.gpg(['--quick-set-expire', dana, '20d']);
    exportRegistry();
    const before = forge.writes().length;
    const run = await runJob('key-expiry', environment());
    expect(run.repositories.map((r) => [r.issues?.created, r.issues?.updated.length])).toEqual([
      [[], 1],
      [[], 1],
    ]);
    const writes = forge.writes().slice(before);
    expect(writes.map((w) => `${w.forge} ${w.method}`).sort()).toEqual(['github PATCH', 'gitlab PUT']);
    const danaIssue = issues().github.find((i) => i.body.includes(dana))!;
    const newExpiry = Number(
      gpg
        .gpg(['--with-colons', '--list-keys', dana])
        .split('\n')
        .find((l) => l.startsWith('pub:'))!
        .split(':')[6],
    );
    expect(danaIssue.title).toContain(new Date(newExpiry * 1000).toISOString().slice(0, 10));
    expect(issues().github.filter((i) => !i.pullRequest)).toHaveLength(2);
  });

  it('closes the issues when the keys are extended past the window, with a comment', async () => {
    gpg.gpg(['--quick-set-expire', dana, '1y']);
    exportRegistry();
    writeFileSync(allowed(), readFileSync(allowed(), 'utf8').replace(/^frank@example\.com valid-before="[^"]+"/m, 'frank@example.com valid-before="20991231"'));
    const run = await runJob('key-expiry', environment());
    expect(run.repositories.map((r) => [r.outcome, r.issues?.closed.length, r.issues?.created.length])).toEqual([
      ['ok', 2, 0],
      ['ok', 2, 0],
    ]);
    const { github, gitlab } = issues();
    expect([...github.filter((i) => !i.pullRequest), ...gitlab].map((i) => i.state)).toEqual(['closed', 'closed', 'closed', 'closed']);
    expect(gitlab[0]!.comments[0]).toMatch(/no longer holds a key that expires within 30 days/);
    // The pull request carrying a lookalike marker was never touched.
    expect(github.find((i) => i.pullRequest)!.state).toBe('open');
  });

  it('reopens the same issue when the key is shortened again, and leaves everything alone in a dry run', async () => {
    gpg.gpg(['--quick-set-expire', dana, '3d']);
    exportRegistry();
    const before = forge.writes().length;
    const dry = await runJob('key-expiry', environment({ dryRun: true }));
    expect(dry.repositories.map((r) => [r.findings, r.issues])).toEqual([
      [1, undefined],
      [1, undefined],
    ]);
    expect(forge.writes().length).toBe(before);
    const run = await runJob('key-expiry', environment());
    expect(run.repositories.map((r) => [r.issues?.created.length, r.issues?.updated.length])).toEqual([
      [0, 1],
      [0, 1],
    ]);
    const danaIssue = issues().github.find((i) => i.body.includes(dana))!;
    expect(danaIssue.state).toBe('open');
    expect(issues().github.filter((i) => !i.pullRequest)).toHaveLength(2);
    expect(issues().gitlab.filter((i) => i.state === 'open')).toHaveLength(1);
  });

  it('records every run in the audit trail', () => {
    const runs = audit.filter((r) => r.action === 'job:key-expiry' && !r.detail?.dryRun);
    expect(runs).toHaveLength(10);
    expect(runs.map((r) => r.verdict)).toEqual(['findings', 'findings', 'findings', 'findings', 'findings', 'findings', 'ok', 'ok', 'findings', 'findings']);
    expect(runs[0]).toMatchObject({ actor: 'test', repository: 'github:acme/widgets', detail: { findings: 2, issues: { created: [2, 3] } } });
  });

  it('runs from the CLI: signet jobs run key-expiry, findings exit 1, an audit line, a bad token is one error line', async () => {
    // Asynchronously: the fake forge answers from this process.
    const cli = async (env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> => {
      const child = spawn(process.execPath, [join(process.cwd(), 'bin/signet.js'), 'jobs', 'run', 'key-expiry', '--config', join(dir.path, 'jobs.yml')], {
        env: { ...process.env, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      return { status, stdout, stderr };
    };
    const ok = await cli({ GH_TOKEN: TOKENS.github, GL_TOKEN: TOKENS.gitlab });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(1);
    expect(ok.stdout).toMatch(
      new RegExp(
        `key-expiry  github:acme/widgets  1 finding; issues: unchanged\\n  expires \\d{4}-\\d\\d-\\d\\d \\(in \\d+ days\\)  openpgp ${dana}  Dana <dana@example.com>`,
      ),
    );
    const log = readFileSync(join(dir.path, 'state', 'audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    expect(log.map((r) => [r.source, r.action, r.repository, r.verdict])).toEqual([
      ['jobs', 'job:key-expiry', 'github:acme/widgets', 'findings'],
      ['jobs', 'job:key-expiry', 'gitlab:acme/platform/widgets', 'findings'],
    ]);
    const bad = await cli({ GH_TOKEN: 'wrong', GL_TOKEN: TOKENS.gitlab });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([
      'signet jobs: github:acme/widgets: the forge refused the request, check the token and forge settings: GET /repos/acme/widgets/issues: HTTP 401 Bad credentials',
    ]);
    expect(bad.stderr).not.toContain('wrong');
  });
});

/**
 * With `forge_accounts: true` the policy trusts keys people registered on GitHub: the job finds
 * the accounts of recent committers (GitHub's commit → account link) and checks their keys.
 */
describe('key expiry job: forge account keys of recent signers', () => {
  const dir = tempDir('jobs-forge-keys');
  let forge: FakeForge;
  let gpg: GpgHome;

  afterAll(async () => {
    await forge?.close();
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gpg?.home } });
    dir.remove();
  });

  it('files an issue for the expiring key an account registered, naming the account', async () => {
    forge = await startFakeForge(TOKENS);
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    gpg.gpg(['--quick-gen-key', 'Hank <hank@example.com>', 'ed25519', 'sign', '7d']);
    const hank = /^fpr:+([0-9A-F]{40}):/m.exec(gpg.gpg(['--with-colons', '--list-keys', 'hank@example.com']))![1]!;
    const ivy = gpg.createKey('Ivy', 'ivy@example.com'); // registered, never expires
    const repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    const env = { GNUPGHOME: gpg.home };
    const hankCommit = commitFile(repo, 'a', 'a\n', 'hank', { email: 'hank@example.com', sign: ['-c', `user.signingkey=${hank}`], env });
    const ivyCommit = commitFile(repo, 'b', 'b\n', 'ivy', { email: 'ivy@example.com', sign: gpg.gitSigningConfig(ivy), env });
    commitFile(repo, 'c', 'c\n', 'unlinked', { email: 'nobody@example.com' }); // no GitHub account
    forge.commitLogins.set(hankCommit, 'hank');
    forge.commitLogins.set(ivyCommit, 'ivy');
    forge.gpgKeys.set('hank', [gpg.gpg(['--armor', '--export', hank])]);
    forge.gpgKeys.set('ivy', [ivy.armoredPublicKey, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbroken\n-----END PGP PUBLIC KEY BLOCK-----\n']);
    writeFileSync(
      join(dir.path, 'policy.yml'),
      'version: 1\nkeys:\n  forge_accounts: true\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n',
    );
    const yaml = `state_dir: state\nrepositories:\n  - name: github:acme/app\n    path: repo\n    policy: policy.yml\n    forge: { type: github, project: acme/app, api_url: "${forge.url}", token_env: GH_TOKEN }\njobs:\n  key-expiry: { within_days: 30, forge_accounts_days: 30 }\n`;
    const config = parseJobsConfig(yaml, join(dir.path, 'jobs.yml'));
    const run = await runJob('key-expiry', {
      config,
      now: () => new Date(),
      env: { GH_TOKEN: TOKENS.github },
      fetch: globalThis.fetch as JobEnvironment['fetch'],
      state: memoryJobState(),
      audit: () => {},
      actor: 'test',
    });
    const outcome = run.repositories[0]!;
    expect(outcome.error).toBeUndefined();
    expect((outcome.data as Array<{ id: string; names: string[] }>).map((f) => [f.id, f.names])).toEqual([[hank, ['Hank <hank@example.com>', '@hank']]]);
    expect(outcome.warnings).toEqual([expect.stringMatching(/^@ivy GPG key 2: /)]);
    const issues = forge.github.get('acme/app')!;
    expect(issues).toHaveLength(1);
    expect(issues[0]!.body).toContain('that @hank registered on GitHub, trusted by the policy of **github:acme/app**');
    // One commit look-up per committer e-mail, then each account's keys.
    expect(forge.requests.filter((r) => r.path.includes('/commits/')).length).toBe(3);
    // The key look-ups carry the GitHub token, and only to the GitHub API's commit and key paths.
    expect(
      forge.requests.filter(
        (r) =>
          r.credential !== undefined &&
          !(r.credential === `Bearer ${TOKENS.github}` && /^\/(repos\/acme\/app\/|users\/[^/]+\/(gpg_keys|ssh_signing_keys))/.test(r.path)),
      ),
    ).toEqual([]);
  });
});
