import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { markerOf } from '../../../src/core/report/issue-sync.ts';
import { parseJobsConfig, type JobsConfig } from '../../../src/jobs/config.ts';
import type { JobEnvironment, RepositoryOutcome } from '../../../src/jobs/context.ts';
import { memoryJobState } from '../../../src/jobs/ports.ts';
import { runJob } from '../../../src/jobs/run-job.ts';
import { startFakeGitLab, type FakeGitLab } from '../../helpers/fake-gitlab.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { commitFile, createSshKey, GpgHome, type SshIdentity } from '../../helpers/signing-keys.ts';

const TOKEN = 'glpat-jobs-forge-keys';
const PROJECT = 77;
const DAY = 86_400_000;

/** ssh-keygen's own SHA256 fingerprint of a public key file. */
function sshFingerprint(identity: SshIdentity): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${identity.privateKey}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
}

/** gpg's own expiry (seconds) of a primary key, from --with-colons. */
function gpgExpiry(gpg: GpgHome, fingerprint: string): number {
  return Number(
    gpg
      .gpg(['--with-colons', '--list-keys', fingerprint])
      .split('\n')
      .find((l) => l.startsWith('pub:'))!
      .split(':')[6],
  );
}

interface Finding {
  kind: string;
  id: string;
  names: string[];
  source: string;
  expiresAt: string;
}

/**
 * With `forge_accounts: true` and a GitLab forge, the key expiry job watches the keys of the
 * GitLab users whose e-mails committed recently on protected refs: their GPG keys and their SSH
 * keys of usage type signing or auth_and_signing (with GitLab's expires_at). Keys made by gpg and
 * ssh-keygen, served by the fake GitLab REST API (users search, gpg_keys, keys, issues).
 */
describe('key expiry job: GitLab forge account keys of recent committers', () => {
  const dir = tempDir('jobs-gitlab-keys');
  let gitlab: FakeGitLab;
  let gpg: GpgHome;
  let config: JobsConfig;
  let jill: string; // GPG key expiring in 7 days
  let olga: string; // GPG key expiring in 3 days, but her only commit is old
  let leoSigning: SshIdentity; // signing, expires in 5 days
  let leoAuth: SshIdentity; // auth only, expires in 2 days: not a signing key
  let miaBoth: SshIdentity; // auth_and_signing, expires in 12 days
  let kimFar: SshIdentity; // signing, expires in 400 days
  const at = (days: number): string => new Date(Math.floor(Date.now() / 1000) * 1000 + days * DAY).toISOString();
  const leoExpiry = at(5);
  const miaExpiry = at(12);
  const environment = (env: NodeJS.ProcessEnv = { GL_TOKEN: TOKEN }): JobEnvironment => ({
    config,
    now: () => new Date(),
    env,
    fetch: globalThis.fetch as JobEnvironment['fetch'],
    state: memoryJobState(),
    audit: () => {},
    actor: 'test',
  });
  const issues = () => gitlab.issues.filter((i) => i.project === PROJECT);
  const issueOf = (id: string) => {
    const found = issues().filter((i) => markerOf(i.description) === `key-expiry:${id}`);
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    gitlab = await startFakeGitLab(TOKEN);
    gpg = new GpgHome(join(dir.path, 'gnupg'));
    gpg.gpg(['--quick-gen-key', 'Jill <jill@example.com>', 'ed25519', 'sign', '7d']);
    jill = /^fpr:+([0-9A-F]{40}):/m.exec(gpg.gpg(['--with-colons', '--list-keys', 'jill@example.com']))![1]!;
    gpg.gpg(['--quick-gen-key', 'Olga <olga@example.com>', 'ed25519', 'sign', '3d']);
    olga = /^fpr:+([0-9A-F]{40}):/m.exec(gpg.gpg(['--with-colons', '--list-keys', 'olga@example.com']))![1]!;
    const kimGpg = gpg.createKey('Kim', 'kim@example.com'); // never expires
    const ssh = join(dir.path, 'ssh');
    leoSigning = createSshKey(ssh, 'leo-signing', 'leo@example.com');
    leoAuth = createSshKey(ssh, 'leo-auth', 'leo@example.com');
    miaBoth = createSshKey(ssh, 'mia-both', 'mia@example.com');
    kimFar = createSshKey(ssh, 'kim-far', 'kim@example.com');

    gitlab.users.push(
      { id: 11, username: 'jill', email: 'jill@example.com', gpgKeys: [gpg.gpg(['--armor', '--export', jill])] },
      {
        id: 12,
        username: 'kim',
        email: 'kim@example.com',
        gpgKeys: [kimGpg.armoredPublicKey, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbroken\n-----END PGP PUBLIC KEY BLOCK-----\n'],
        sshKeys: [{ key: kimFar.publicKeyLine, usage_type: 'signing', expires_at: at(400) }],
      },
      {
        id: 13,
        username: 'leo',
        email: 'leo@example.com',
        sshKeys: [
          { key: leoSigning.publicKeyLine, usage_type: 'signing', title: 'laptop signing', expires_at: leoExpiry },
          { key: leoAuth.publicKeyLine, usage_type: 'auth', expires_at: at(2) },
          { key: 'ssh-ed25519 AAAAnot-a-key leo@example.com', usage_type: 'signing', title: 'broken', expires_at: at(4) },
        ],
      },
      { id: 14, username: 'mia', email: 'mia@example.com', sshKeys: [{ key: miaBoth.publicKeyLine, usage_type: 'auth_and_signing', expires_at: miaExpiry }] },
      { id: 15, username: 'olga', email: 'olga@example.com', gpgKeys: [gpg.gpg(['--armor', '--export', olga])] },
    );

    const repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    const old = `${Math.floor((Date.now() - 200 * DAY) / 1000)} +0000`;
    commitFile(repo, 'o', 'o\n', 'olga, long ago', { email: 'olga@example.com', env: { GIT_AUTHOR_DATE: old, GIT_COMMITTER_DATE: old } });
    commitFile(repo, 'a', 'a\n', 'jill', {
      email: 'Jill@Example.com',
      sign: gpg.gitSigningConfig({ name: 'Jill', email: 'jill@example.com', fingerprint: jill, armoredPublicKey: '' }),
      env: gpg.env(),
    });
    commitFile(repo, 'b', 'b\n', 'kim', { email: 'kim@example.com' });
    commitFile(repo, 'c', 'c\n', 'leo', { email: 'leo@example.com', sign: ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${leoSigning.privateKey}`] });
    commitFile(repo, 'd', 'd\n', 'mia', { email: 'mia@example.com' });
    commitFile(repo, 'e', 'e\n', 'unknown', { email: 'nobody@example.com' }); // no GitLab user
    gitlab.projects.set(PROJECT, join(repo, '.git'));
    writeFileSync(
      join(dir.path, 'policy.yml'),
      'version: 1\nkeys:\n  forge_accounts: true\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n',
    );
    const yaml = `state_dir: state\nrepositories:\n  - name: gitlab:acme/app\n    path: repo\n    policy: policy.yml\n    forge: { type: gitlab, project: "${PROJECT}", api_url: "${gitlab.url}/api/v4", token_env: GL_TOKEN }\njobs:\n  key-expiry: { within_days: 30, forge_accounts_days: 30 }\n`;
    writeFileSync(join(dir.path, 'jobs.yml'), yaml);
    config = parseJobsConfig(yaml, join(dir.path, 'jobs.yml'));
  });
  afterAll(async () => {
    await gitlab?.stop();
    spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gpg?.home } });
    dir.remove();
  });

  it("files one issue per expiring GPG or SSH signing key of a recent committer, and none for auth-only, far-off or old committers' keys", async () => {
    const run = await runJob('key-expiry', environment());
    const outcome = run.repositories[0]!;
    expect(outcome.error).toBeUndefined();
    expect(outcome.outcome).toBe('findings');
    const data = outcome.data as Finding[];
    // Soonest first: Leo's SSH signing key (5 days), Jill's GPG key (7), Mia's auth_and_signing key (12).
    expect(data.map((f) => [f.kind, f.id, f.names, f.source])).toEqual([
      ['ssh', sshFingerprint(leoSigning), ['leo@example.com', '@leo'], 'GitLab account @leo'],
      ['openpgp', jill, ['Jill <jill@example.com>', '@jill'], 'GitLab account @jill'],
      ['ssh', sshFingerprint(miaBoth), ['mia@example.com', '@mia'], 'GitLab account @mia'],
    ]);
    // The dates are GitLab's expires_at (SSH) and gpg's own expiry (OpenPGP).
    expect(data[0]!.expiresAt).toBe(leoExpiry);
    expect(data[1]!.expiresAt).toBe(new Date(gpgExpiry(gpg, jill) * 1000).toISOString());
    expect(data[2]!.expiresAt).toBe(miaExpiry);
    // One unreadable key per account is a warning, not a failure.
    expect(outcome.warnings).toEqual([expect.stringMatching(/^@kim GPG key 2: /), expect.stringMatching(/^@leo SSH signing key 2 \(broken\): /)]);

    expect(outcome.issues?.created).toEqual([1, 2, 3]);
    expect(issues().map((i) => [i.state, i.labels])).toEqual([
      ['opened', ['signet:key-expiry']],
      ['opened', ['signet:key-expiry']],
      ['opened', ['signet:key-expiry']],
    ]);
    const leoIssue = issueOf(sshFingerprint(leoSigning));
    expect(leoIssue.title).toBe(`Signing key expires on ${leoExpiry.slice(0, 10)}: leo@example.com`);
    expect(leoIssue.description).toContain('that @leo registered on GitLab, trusted by the policy of **gitlab:acme/app**');
    expect(leoIssue.description).toContain('usage type "Signing"');
    expect(issueOf(jill).title).toBe(`Signing key expires on ${new Date(gpgExpiry(gpg, jill) * 1000).toISOString().slice(0, 10)}: Jill <jill@example.com>`);
    expect(issueOf(jill).description).toContain('GitLab → User settings → GPG keys');
    expect(issueOf(sshFingerprint(miaBoth)).description).toContain('that @mia registered on GitLab');
    // Nothing about the auth-only key, Kim's far-off key, or Olga, who only committed 200 days ago.
    const everything = JSON.stringify(issues());
    for (const absent of [sshFingerprint(leoAuth), sshFingerprint(kimFar), olga, kimGpgFingerprint()]) expect(everything).not.toContain(absent);

    // One user search per recent committer e-mail (GitLab's e-mail rule), then keys of matched users only.
    const gets = gitlab.requests.filter((r) => r.method === 'GET');
    expect(
      gets
        .filter((r) => r.path === '/users')
        .map((r) => r.query.get('search'))
        .sort(),
    ).toEqual(['jill@example.com', 'kim@example.com', 'leo@example.com', 'mia@example.com', 'nobody@example.com']);
    expect([...new Set(gets.filter((r) => /^\/users\/\d+\//.test(r.path)).map((r) => r.path))].sort()).toEqual(
      ['11', '12', '13', '14'].flatMap((id) => [`/users/${id}/gpg_keys`, `/users/${id}/keys`]),
    );
  });

  function kimGpgFingerprint(): string {
    return /^fpr:+([0-9A-F]{40}):/m.exec(gpg.gpg(['--with-colons', '--list-keys', 'kim@example.com']))![1]!;
  }

  it('changes nothing when run again with the same keys', async () => {
    const before = gitlab.requests.length;
    const run = await runJob('key-expiry', environment());
    expect(run.repositories[0]!.issues).toEqual({ created: [], updated: [], closed: [], unchanged: 3 });
    expect(gitlab.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(issues()).toHaveLength(3);
  });

  it("updates the same issue when a GPG key is extended but still expires soon, and closes the SSH key's issue once the account drops the key", async () => {
    const jillIssue = issueOf(jill).iid;
    const leoIssue = issueOf(sshFingerprint(leoSigning)).iid;
    gpg.gpg(['--quick-set-expire', jill, '20d']);
    gitlab.users.find((u) => u.username === 'jill')!.gpgKeys = [gpg.gpg(['--armor', '--export', jill])];
    // GitLab cannot extend an SSH key: Leo adds a new signing key and removes the expiring one.
    const leoNew = createSshKey(join(dir.path, 'ssh'), 'leo-new', 'leo@example.com');
    const leo = gitlab.users.find((u) => u.username === 'leo')!;
    leo.sshKeys = [{ key: leoNew.publicKeyLine, usage_type: 'signing', expires_at: at(365) }, leo.sshKeys![1]!];
    const run = await runJob('key-expiry', environment());
    const outcome = run.repositories[0]!;
    expect(outcome.issues).toEqual({ created: [], updated: [jillIssue], closed: [leoIssue], unchanged: 1 });
    expect(issues()).toHaveLength(3);
    expect(issueOf(jill).state).toBe('opened');
    expect(issueOf(jill).title).toContain(new Date(gpgExpiry(gpg, jill) * 1000).toISOString().slice(0, 10));
    expect(gpgExpiry(gpg, jill) * 1000).toBeGreaterThan(Date.now() + 19 * DAY);
    expect(issueOf(sshFingerprint(leoSigning)).state).toBe('closed');
    expect(gitlab.notes.filter((n) => n.noteable === 'issues' && n.project === PROJECT).map((n) => [n.iid, n.body])).toEqual([
      [leoIssue, expect.stringMatching(/no longer holds a key that expires within 30 days/)],
    ]);
    // Soonest first: Mia's key (12 days), then Jill's extended one (20).
    expect((outcome.data as Finding[]).map((f) => f.id)).toEqual([sshFingerprint(miaBoth), jill]);
    expect(outcome.warnings).toEqual([expect.stringMatching(/^@kim GPG key 2: /)]);
  });

  it('names the token variable in one error line when it is missing, and asks GitLab nothing', async () => {
    const before = gitlab.requests.length;
    const run = await runJob('key-expiry', environment({}));
    expect(run.repositories.map((r: RepositoryOutcome) => [r.outcome, r.error])).toEqual([
      ['error', 'the policy trusts forge accounts, and reading their keys needs the token in GL_TOKEN, which is not set'],
    ]);
    expect(gitlab.requests.length).toBe(before);

    // The CLI (from the sources, in-process) prints it as one line and exits 2; a wrong token is one line too.
    const cli = async (env: NodeJS.ProcessEnv): Promise<{ status: number; stderr: string }> => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let err = '';
      stderr.on('data', (chunk) => (err += chunk));
      stdout.resume();
      const status = await main(['jobs', 'run', 'key-expiry', '--config', join(dir.path, 'jobs.yml')], {
        stdout,
        stderr,
        stdin: new PassThrough(),
        env,
        cwd: dir.path,
      });
      return { status, stderr: err };
    };
    const missing = await cli({});
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(
      'signet jobs: gitlab:acme/app: the policy trusts forge accounts, and reading their keys needs the token in GL_TOKEN, which is not set\n',
    );
    const wrong = await cli({ GL_TOKEN: 'glpat-wrong' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toEqual([
      // The one GitLab client's refusal code reaches the job's line, as on GitHub.
      expect.stringMatching(
        /^signet jobs: gitlab:acme\/app: the forge refused the request, check the token and forge settings: reading the forge accounts' keys: looking up the user of [a-z]+@example\.com: GET \/api\/v4\/users: HTTP 401$/,
      ),
    ]);
    expect(wrong.stderr).not.toContain('glpat-wrong');

    // GitLab answering 503 (retried twice, then given up) is an outage, not a configuration error: exit 3.
    const fault = { method: 'GET', path: /^\/users$/, status: 503, times: 3 };
    gitlab.faults.push(fault);
    const down = await cli({ GL_TOKEN: gitlab.token });
    expect(fault.times).toBe(0);
    expect(down.status).toBe(3);
    expect(down.stderr).toMatch(
      /^signet jobs: gitlab:acme\/app: the forge is unavailable, the next run tries again: reading the forge accounts' keys: .*HTTP 503\s*$/,
    );
  });
});
