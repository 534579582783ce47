import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceReport } from '../../../src/core/report/types.ts';
import type { CoveragePoint } from '../../../src/jobs/compliance-report.ts';
import { parseJobsConfig, type JobsConfig } from '../../../src/jobs/config.ts';
import type { JobEnvironment, JobRun } from '../../../src/jobs/context.ts';
import { fileJobState } from '../../../src/jobs/ports.ts';
import type { RevocationFindingData } from '../../../src/jobs/revocation-sweep.ts';
import { runJob } from '../../../src/jobs/run-job.ts';
import { VerdictRecords } from '../../../src/store/verdict-records.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { startFakeForge, type FakeForge } from '../../helpers/jobs-fake-forge.ts';
import { buildReportHistory, dated, gitLetters, REPORT_POLICY, type ReportHistory } from '../../helpers/report-history.ts';
import { commitFile, sshSigningConfig } from '../../helpers/signing-keys.ts';

const TOKEN = 'ghs_sweep';

/**
 * The revocation sweep and the compliance-report job on a real history: a revoked key whose
 * stolen copy keeps signing, a key removed from the registry that signs afterwards, an SSH key
 * put on the revoked list, a commit the hook accepted after the revocation; issues on a fake
 * GitHub. The report job's numbers are the CLI's.
 */
describe('revocation sweep and compliance-report job', () => {
  const dir = tempDir('jobs-sweep');
  let h: ReportHistory;
  let forge: FakeForge;
  let config: JobsConfig;
  const thief: string[] = [];
  let carolLegit: string[] = [];
  let bobCommits: string[] = [];
  const environment = (overrides: Partial<JobEnvironment> = {}): JobEnvironment => ({
    config,
    now: () => new Date(),
    env: { GH_TOKEN: TOKEN },
    fetch: globalThis.fetch as JobEnvironment['fetch'],
    state: fileJobState(config.stateDir),
    audit: () => {},
    actor: 'test',
    ...overrides,
  });
  const findingsOf = (run: JobRun): RevocationFindingData[] => (run.repositories[0]!.data as { findings: RevocationFindingData[] }).findings;

  beforeAll(async () => {
    h = buildReportHistory(dir.path, 10);
    forge = await startFakeForge({ github: TOKEN, gitlab: 'unused' });
    const letters = gitLetters(h, ['refs/heads/main']).get('refs/heads/main')!;
    carolLegit = letters.filter((c) => c.letter === 'R').map((c) => c.oid);
    bobCommits = git(h.worktree, ['log', '--author=bob@example.com', '--format=%H', 'main']).split('\n');
    // Carol's key was revoked; a stolen copy of it signs two more commits on main.
    const sign = ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${h.carol.fingerprint}`];
    for (const hour of [9, 10]) {
      thief.push(
        commitFile(h.worktree, 'stolen.txt', `stolen ${hour}\n`, `carol? change ${hour}`, {
          email: 'carol@example.com',
          sign,
          env: { GNUPGHOME: h.thiefHome.home, ...dated(30, hour) },
        }),
      );
    }
    writeFileSync(
      join(dir.path, 'jobs.yml'),
      `state_dir: state
repositories:
  - name: github:acme/history
    path: ${h.worktree}
    policy: ${h.keys.policy}
    forge: { type: github, project: acme/history, api_url: "${forge.url}", token_env: GH_TOKEN }
jobs:
  revocation-sweep: { lookback_days: 5000 }
  compliance-report: { period_days: 1500, publish: issue }
`,
    );
    config = parseJobsConfig(readFileSync(join(dir.path, 'jobs.yml'), 'utf8'), join(dir.path, 'jobs.yml'));
  });
  afterAll(async () => {
    await forge?.close();
    for (const home of [h?.signHome, h?.verifyHome, h?.thiefHome])
      if (home) spawn('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home.home } });
    dir.remove();
  });

  it('finds the commits a revoked key signed after its revocation, and files one issue for the key', async () => {
    expect(carolLegit.length).toBeGreaterThan(0);
    const run = await runJob('revocation-sweep', environment());
    const findings = findingsOf(run);
    expect(findings.map((f) => [f.commit, f.key, f.how, f.why]).sort()).toEqual(
      thief.map((oid) => [oid, h.carol.fingerprint, 'revoked', 'signed-after']).sort(),
    );
    expect(findings[0]!.since).toBe(new Date(h.carolRevokedAt * 1000).toISOString());
    // git agrees the stolen signatures are carol's, and revoked.
    const letters = gitLetters(h, ['refs/heads/main']).get('refs/heads/main')!;
    for (const oid of thief) expect(letters.find((c) => c.oid === oid)).toMatchObject({ letter: 'R', primary: h.carol.fingerprint });
    const issues = forge.github.get('acme/history')!;
    expect(issues).toHaveLength(1);
    expect(issues[0]!.title).toBe('2 commits signed by revoked key Carol <carol@example.com>');
    for (const oid of thief) expect(issues[0]!.body).toContain(oid.slice(0, 12));
    expect(issues[0]!.labels).toEqual(['signet:revoked-key']);
  });

  it('reports a commit signed before the revocation but first accepted after it (a date can be forged)', async () => {
    const records = new VerdictRecords(join(h.worktree, '.git', 'signet', 'verdicts'));
    const late = new Date((h.carolRevokedAt + 3600) * 1000).toISOString();
    records.recordFirst({
      commit: carolLegit[0]!,
      verdict: { status: 'G', format: 'openpgp', reason: 'valid' },
      acceptedAt: late,
      ref: 'refs/heads/main',
      pusher: 'carol',
    });
    const findings = findingsOf(await runJob('revocation-sweep', environment()));
    expect(findings.find((f) => f.commit === carolLegit[0])).toMatchObject({ why: 'accepted-after', acceptedAt: late });
    expect(findings.filter((f) => carolLegit.includes(f.commit))).toHaveLength(1);
    // Updated, not duplicated.
    expect(forge.github.get('acme/history')).toHaveLength(1);
    expect(forge.github.get('acme/history')![0]!.title).toBe('3 commits signed by revoked key Carol <carol@example.com>');
  });

  it('remembers the registry: a key removed from it that signs afterwards is found too', async () => {
    // Alice leaves the registry (the sweep notices at its next run) …
    const registry = h.signHome.gpg(['--armor', '--export', h.carol.fingerprint]) + readFileSync(join(h.root, 'bench', 'keys', 'registry.asc'), 'utf8');
    writeFileSync(h.keys.registryAsc, registry);
    const noticed = await runJob('revocation-sweep', environment());
    expect(findingsOf(noticed).filter((f) => f.key === h.alice.fingerprint)).toEqual([]);
    const snapshot = JSON.parse(readFileSync(join(config.stateDir, 'snapshots', 'github-acme-history.json'), 'utf8')) as {
      keys: Array<{ id: string; removedAt?: string; signingKeys: string[] }>;
    };
    const alice = snapshot.keys.find((k) => k.id === h.alice.fingerprint)!;
    expect(alice.removedAt).toBeDefined();
    expect(alice.signingKeys).toContain(h.alice.subkey);
    // … and her key signs another commit afterwards (with the subkey: the E verdict names only that).
    const after = commitFile(h.worktree, 'late.txt', 'late\n', 'alice after removal', {
      email: 'alice@example.com',
      sign: ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${h.alice.fingerprint}`],
      env: { GNUPGHOME: h.signHome.home, ...dated(31, 9) },
    });
    const findings = findingsOf(await runJob('revocation-sweep', environment()));
    expect(findings.filter((f) => f.key === h.alice.fingerprint).map((f) => [f.commit, f.how, f.why, f.status])).toEqual([
      [after, 'removed', 'signed-after', 'E'],
    ]);
    expect(
      forge.github
        .get('acme/history')!
        .map((i) => i.title)
        .sort(),
    ).toEqual(['1 commit signed by removed key Alice <alice@example.com>', '3 commits signed by revoked key Carol <carol@example.com>']);
  });

  it('treats every use of a key on the SSH revoked list as suspect (the list gives no time)', async () => {
    writeFileSync(join(h.root, 'keys', 'revoked_keys'), `${h.bob.publicKeyLine}\n`);
    writeFileSync(
      h.keys.policy,
      REPORT_POLICY.replace('  ssh_allowed_signers: allowed_signers\n', '  ssh_allowed_signers: allowed_signers\n  ssh_revoked_keys: revoked_keys\n'),
    );
    const findings = findingsOf(await runJob('revocation-sweep', environment()));
    const bob = findings.filter((f) => f.kind === 'ssh');
    expect(bob.map((f) => f.commit).sort()).toEqual([...bobCommits].sort());
    expect(new Set(bob.map((f) => `${f.status} ${f.why} ${f.since}`))).toEqual(new Set(['R time-unknown null']));
    expect(bob.length).toBeGreaterThan(0);
  });

  it('closes an issue once no such commit is left on the protected refs', async () => {
    writeFileSync(h.keys.policy, REPORT_POLICY);
    git(h.worktree, ['reset', '-q', '--hard', `${thief[0]}~1`]); // the stolen and late commits are gone
    const run = await runJob('revocation-sweep', environment());
    expect(run.repositories[0]!.issues?.closed.length).toBe(2); // alice's and bob's
    const issues = forge.github.get('acme/history')!;
    expect(issues.filter((i) => i.state === 'open').map((i) => i.title)).toEqual(['1 commit signed by revoked key Carol <carol@example.com>']);
  });

  it('compliance-report job: keeps the report (JSON, Markdown, SVG, history) and posts it as an issue, numbers as signet report gives them', async () => {
    const now = new Date();
    const run = await runJob('compliance-report', environment({ now: () => now }));
    expect(run.repositories[0]!.outcome).toBe('findings'); // unsigned commits violate the policy
    const dirOf = join(config.stateDir, 'reports', 'github-acme-history');
    const files = readdirSync(dirOf).sort();
    expect(files.filter((f) => f.endsWith('.svg'))).toHaveLength(1);
    expect(files).toEqual(expect.arrayContaining(['history.json', 'latest.json']));
    const latest = JSON.parse(readFileSync(join(dirOf, 'latest.json'), 'utf8')) as ComplianceReport;
    const cli = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [
        join(process.cwd(), 'bin/signet.js'),
        'report',
        '--repo',
        h.worktree,
        '--policy',
        h.keys.policy,
        '--since',
        latest.since,
        '--until',
        latest.until,
        '--now',
        latest.until,
        '--name',
        'github:acme/history',
        '--format',
        'json',
      ]);
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.on('close', () => resolve(out));
    });
    expect({ ...latest, generatedAt: '' }).toEqual({ ...(JSON.parse(cli) as ComplianceReport), generatedAt: '' });
    const history = JSON.parse(readFileSync(join(dirOf, 'history.json'), 'utf8')) as CoveragePoint[];
    expect(history).toEqual([run.repositories[0]!.data]);
    expect(history[0]!.commits).toBe(latest.refs.reduce((sum, ref) => sum + ref.commits, 0));
    const reportIssues = forge.github.get('acme/history')!.filter((i) => i.labels.includes('signet:compliance-report'));
    expect(reportIssues).toHaveLength(1);
    expect(reportIssues[0]!.body).toContain('### refs/heads/main');

    // The next period's report is a new issue; the previous one is closed as superseded.
    const later = new Date(now.getTime() + 86_400_000);
    await runJob('compliance-report', environment({ now: () => later }));
    const after = forge.github.get('acme/history')!.filter((i) => i.labels.includes('signet:compliance-report'));
    expect(after.map((i) => i.state)).toEqual(['closed', 'open']);
    expect(after[0]!.comments[0]).toMatch(/^Superseded by the report for /);
    expect((JSON.parse(readFileSync(join(dirOf, 'history.json'), 'utf8')) as CoveragePoint[]).map((p) => p.until)).toEqual([
      now.toISOString(),
      later.toISOString(),
    ]);
  });
});
