/**
 * The plain functions behind the app's handlers, without HTTP: planning from webhook
 * payloads (real examples from @octokit/webhooks-examples), the decision with forge keys
 * and GitHub's e-mail rule on a repository made by real git/gpg/ssh-keygen, and rendering.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planGitHubEvent } from '../../../src/app/plan.ts';
import { isRecheckCommand } from '../../../src/forge/payload.ts';
import { parsePolicy } from '../../../src/core/policy/index.ts';
import { decideSignatures } from '../../../src/forge/decide.ts';
import { buildCheckRegistries, type ForgeAccountKeys } from '../../../src/forge/forge-keys.ts';
import { renderSummary, SUMMARY_LIMIT, type ReportRow } from '../../../src/forge/report.ts';
import { md } from '../../../src/core/render/markdown-text.ts';
import { scopeOf } from '../../../src/forge/scope.ts';
import { planGitLabEvent } from '../../../src/gitlab/plan.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { example, retarget } from '../../helpers/fake-github-webhooks.ts';
import { DEFAULT_POLICY, bob, makeSignedRepo, type SignedRepo } from '../../helpers/http-backend-repo.ts';

const info = { fullName: 'o/r', cloneUrl: 'http://git.test/o/r.git', installationId: 3 };
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('planGitHubEvent', () => {
  it('push: the pushed ref from before to after, claim shared with its check_suite, payload e-mail → login pairs kept', () => {
    const payload = retarget(example('push'), info);
    Object.assign(payload, {
      ref: 'refs/heads/dev',
      before: A,
      after: B,
      deleted: false,
      head_commit: null,
      commits: [{ committer: { email: 'Bob@Example.com', username: 'bob' } }],
    });
    const plan = planGitHubEvent('push', payload, 'd1');
    expect(plan.kind).toBe('check');
    if (plan.kind !== 'check') return;
    expect(plan.target).toMatchObject({
      headSha: B,
      trigger: 'auto:refs/heads/dev',
      fetchRefs: ['refs/heads/dev'],
      lookUpPullRequests: true,
      contexts: [{ ref: 'refs/heads/dev', oldOid: A, newOid: B, baseOid: A }],
    });
    expect(plan.target.knownAccounts).toEqual([['bob@example.com', 'bob']]);
    expect(plan.target.repository).toEqual({ owner: 'o', name: 'r', fullName: 'o/r', cloneUrl: info.cloneUrl, defaultBranch: 'main', installationId: 3 });
    const suite = retarget(example('check_suite', 'requested'), info);
    Object.assign(suite.check_suite as object, { head_sha: B, head_branch: 'dev', before: A });
    const suitePlan = planGitHubEvent('check_suite', suite, 'd2');
    expect(suitePlan.kind === 'check' && suitePlan.target.trigger).toBe('auto:refs/heads/dev');
  });

  it('a deleted branch and unknown actions are ignored, with the reason', () => {
    const payload = retarget(example('push'), info);
    Object.assign(payload, { ref: 'refs/heads/gone', before: A, after: '0'.repeat(40), deleted: true });
    expect(planGitHubEvent('push', payload, 'd')).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('deleting refs/heads/gone') });
    expect(planGitHubEvent('pull_request', retarget(example('pull_request', 'labeled'), info), 'd')).toMatchObject({
      kind: 'ignore',
      reason: 'pull_request.labeled is not checked',
    });
    const other = retarget(example('check_run', 'rerequested'), info);
    expect(planGitHubEvent('check_run', other, 'd')).toMatchObject({ kind: 'ignore', reason: expect.stringContaining('another check') });
    expect(planGitHubEvent('push', { repository: { full_name: 'x' } }, 'd')).toMatchObject({ kind: 'ignore' });
    expect(planGitHubEvent('push', 'not an object', 'd')).toMatchObject({ kind: 'ignore' });
  });

  it('pull_request: base rules with base..head, plus the head branch of a same-repository PR; the claim includes the delivery', () => {
    const payload = retarget(example('pull_request', 'synchronize'), info);
    const pull = payload.pull_request as Record<string, any>;
    pull.head = { ...pull.head, sha: B, ref: 'topic', repo: { full_name: 'o/r' } };
    pull.base = { ...pull.base, sha: A, ref: 'main' };
    pull.number = 7;
    payload.number = 7;
    const plan = planGitHubEvent('pull_request', payload, 'del');
    expect(plan.kind === 'check' && plan.target).toMatchObject({
      trigger: 'pr:7:synchronize:del',
      fetchRefs: ['refs/pull/7/head'],
      contexts: [
        { ref: 'refs/heads/main', oldOid: A, newOid: B, baseOid: A },
        { ref: 'refs/heads/topic', oldOid: null, newOid: B, baseOid: A },
      ],
    });
    pull.head.repo = { full_name: 'fork/r' };
    const fork = planGitHubEvent('pull_request', payload, 'del');
    expect(fork.kind === 'check' && fork.target.contexts).toHaveLength(1);
  });

  it('merge_group, issue_comment commands and installation events', () => {
    const group = retarget(example('merge_group', 'checks_requested'), info);
    const plan = planGitHubEvent('merge_group', group, 'd');
    expect(plan.kind === 'check' && plan.target.contexts[0]).toMatchObject({ ref: 'refs/heads/main', newOid: '2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d' });
    const comment = retarget(example('issue_comment', 'created'), info);
    Object.assign(comment.issue as object, { number: 4, pull_request: { url: 'x' } });
    Object.assign(comment.comment as object, { id: 9, body: '/signet recheck' });
    expect(planGitHubEvent('issue_comment', comment, 'd')).toMatchObject({ kind: 'recheck-pull', number: 4, commentId: 9 });
    Object.assign(comment.issue as object, { pull_request: undefined });
    expect(planGitHubEvent('issue_comment', comment, 'd').kind).toBe('ignore');
    const installed = example('installation', 'created');
    expect(planGitHubEvent('installation', installed, 'd')).toMatchObject({
      kind: 'installation',
      action: 'created',
      repositories: ['Codertocat/Hello-World'],
    });
    expect(isRecheckCommand('  /signet recheck  ')).toBe(true);
    expect(isRecheckCommand('/signet rechecks')).toBe(false);
  });
});

describe('planGitLabEvent', () => {
  const project = { id: 5, path_with_namespace: 'g/p', git_http_url: 'http://gl.test/g/p.git', default_branch: 'main' };
  it('merge request updates are checked only when commits changed; notes only with the command', () => {
    const mr = { iid: 3, last_commit: { id: B }, target_branch: 'main', source_branch: 'topic', source_project_id: 5 };
    expect(planGitLabEvent('Merge Request Hook', { project, object_attributes: { ...mr, action: 'update' } }, 'd')).toMatchObject({ kind: 'ignore' });
    const plan = planGitLabEvent('Merge Request Hook', { project, object_attributes: { ...mr, action: 'update', oldrev: A } }, 'd');
    expect(plan.kind === 'check' && plan.target).toMatchObject({
      headSha: B,
      mergeRequestIid: 3,
      fetchRefs: ['refs/merge-requests/3/head', 'refs/heads/main'],
      contexts: [{ ref: 'refs/heads/main', baseRef: 'refs/heads/main' }, { ref: 'refs/heads/topic' }],
    });
    expect(planGitLabEvent('Note Hook', { project, object_attributes: { noteable_type: 'MergeRequest', note: 'lgtm' }, merge_request: mr }, 'd').kind).toBe(
      'ignore',
    );
    expect(
      planGitLabEvent('Note Hook', { project, object_attributes: { noteable_type: 'MergeRequest', note: '/signet recheck' }, merge_request: mr }, 'd').kind,
    ).toBe('check');
    expect(planGitLabEvent('Push Hook', { project, ref: 'refs/heads/x', before: A, after: '0'.repeat(40) }, 'd').kind).toBe('ignore');
  });
});

describe('renderSummary', () => {
  it('puts rejected commits first, escapes table cells and stays under the check-run limit', () => {
    const rows: ReportRow[] = Array.from({ length: 2000 }, (_, i) => ({
      commit: i.toString(16).padStart(40, '0'),
      subject: `change | ${i}`,
      letter: i === 1999 ? 'N' : 'G',
      signer: 'A <a@x>',
      reason: i === 1999 ? 'unsigned' : 'valid',
      fix: i === 1999 ? 'git commit --amend -S' : '',
      accepted: i !== 1999,
    }));
    const summary = renderSummary([md`**title**`], rows);
    expect(summary.length).toBeLessThanOrEqual(SUMMARY_LIMIT);
    const lines = summary.split('\n');
    expect(lines[4]).toContain('| N |');
    expect(lines[4]).toContain('change \\| 1999');
    expect(lines[4]).toContain('A &lt;a@x&gt;');
    expect(summary).toMatch(/… and \d+ more commits \(0 rejected\) not shown\.$/);
  });
});

describe('decideSignatures with forge keys (GPG) and the e-mail rule', () => {
  let repo: SignedRepo;
  beforeAll(() => {
    repo = makeSignedRepo('o/decide');
  });
  afterAll(() => repo?.cleanup());

  async function decide(accounts: ForgeAccountKeys[], keyrings: Array<{ name: string; text: string }>, accountOf: Record<string, string>) {
    const git = openRepository({ path: repo.bare, cwd: repo.bare, env: {} });
    const policy = parsePolicy(DEFAULT_POLICY, '.github/signet.yml');
    const checkRegistries = await buildCheckRegistries({ keyrings }, accounts);
    const scope = scopeOf([{ ref: 'refs/heads/main', oldOid: repo.heads.main, newOid: repo.heads['feature-good'], baseOid: repo.heads.main }], git, 'main');
    const { report } = await decideSignatures({ repo: git, policy, checkRegistries, scope, now: new Date(), accountOfEmail: (email) => accountOf[email] });
    return report.rows.find((row) => row.subject.includes('Alice'))!;
  }
  const aliceAccount = (): ForgeAccountKeys => ({
    account: 'alice',
    gpgKeys: [repo.alicePublicKey],
    sshSigningKeys: [],
    verifiedEmails: ['alice@example.com'],
  });

  it("alice's GPG key from her account is G when GitHub links her committer e-mail to her", async () => {
    expect(await decide([aliceAccount()], [], { 'alice@example.com': 'alice' })).toMatchObject({ letter: 'G', reason: 'valid', accepted: true });
  });

  it('the same signature is U unverified_email when the e-mail is linked to another account, or to none', async () => {
    expect(await decide([aliceAccount()], [], { 'alice@example.com': 'mallory' })).toMatchObject({
      letter: 'U',
      accepted: false,
      reason: expect.stringMatching(/^unverified_email/),
    });
    expect(await decide([aliceAccount()], [], {})).toMatchObject({ letter: 'U', accepted: false });
  });

  it('a key the policy keyring holds is trusted without the forge rule', async () => {
    expect(await decide([aliceAccount()], [{ name: 'team.asc', text: repo.alicePublicKey }], {})).toMatchObject({ letter: 'G', accepted: true });
  });

  it('the app and `signet verify` give the same letters and keys on the same commits and registries', async () => {
    const work = mkdtempSync(join(tmpdir(), 'signet-faces-'));
    try {
      writeFileSync(join(work, 'team.asc'), repo.alicePublicKey);
      const signersLine = `${bob.email} ${repo.bobSshPublicKey.split(' ').slice(0, 2).join(' ')}\n`;
      writeFileSync(join(work, 'allowed_signers'), signersLine);
      const git = openRepository({ path: repo.bare, cwd: repo.bare, env: {} });
      const policy = parsePolicy(DEFAULT_POLICY, '.github/signet.yml');
      const registries = await buildCheckRegistries(
        { keyrings: [{ name: 'team.asc', text: repo.alicePublicKey }], allowedSigners: { name: 'allowed_signers', text: signersLine } },
        [],
      );
      const heads = ['feature-good', 'feature-bad', 'feature-email'] as const;
      for (const head of heads) {
        const scope = scopeOf([{ ref: 'refs/heads/main', oldOid: repo.heads.main, newOid: repo.heads[head], baseOid: repo.heads.main }], git, 'main');
        const { evaluation } = await decideSignatures({ repo: git, policy, checkRegistries: registries, scope, now: new Date() });
        const app = [...evaluation.commits.values()]
          .map((c) => ({ commit: c.commit, status: c.verdict.status, key: c.verdict.key ?? null }))
          .sort((a, b) => a.commit.localeCompare(b.commit));
        const cli = spawnSync(
          process.execPath,
          [
            'bin/signet.js',
            'verify',
            '--repo',
            repo.bare,
            '--keyring',
            join(work, 'team.asc'),
            '--allowed-signers',
            join(work, 'allowed_signers'),
            '--format',
            'jsonl',
            `main..${head}`,
          ],
          { encoding: 'utf8' },
        );
        const lines = cli.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { commit: string; status: string; key?: string });
        expect(lines.map((l) => ({ commit: l.commit, status: l.status, key: l.key ?? null })).sort((a, b) => a.commit.localeCompare(b.commit))).toEqual(app);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('an unreadable forge key is skipped and named, not fatal', async () => {
    const broken: ForgeAccountKeys = {
      account: 'eve',
      gpgKeys: ['-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n'],
      sshSigningKeys: ['ssh-ed25519 !!!'],
      verifiedEmails: [],
    };
    const registries = await buildCheckRegistries({ keyrings: [] }, [broken, aliceAccount()]);
    expect(registries.skipped).toHaveLength(2);
    expect(registries.skipped[0]).toMatch(/^eve GPG key 1: /);
    expect(registries.keyOwners.size).toBe(1);
  });
});

describe('forge keys vouch only for e-mails the forge verified on that account (issue 11 item 6)', () => {
  // Mallory's own key carries a second user ID, Alice's address; GitHub lists it verified: false.
  let dir: string;
  let bare: string;
  let head: string;
  let base: string;
  let malloryKey: string;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: dir,
    GNUPGHOME: join(dir, 'gnupg'),
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    LC_ALL: 'C',
    ...extra,
  });
  const run = (command: string, args: string[], cwd = dir, extra: NodeJS.ProcessEnv = {}): string => {
    const result = spawnSync(command, args, { cwd, env: env(extra), encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-uids-'));
    spawnSync('mkdir', ['-m', '700', join(dir, 'gnupg')]);
    run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Mallory <mallory@example.com>', 'ed25519', 'sign', 'never']);
    const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(run('gpg', ['--with-colons', '--list-keys', 'mallory@example.com']))![1]!;
    run('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-add-uid', fingerprint, 'Alice <alice@example.com>']);
    malloryKey = run('gpg', ['--armor', '--export', fingerprint]);
    bare = join(dir, 'r.git');
    run('git', ['init', '-q', '-b', 'main', bare]);
    const who = {
      GIT_AUTHOR_NAME: 'Mallory',
      GIT_AUTHOR_EMAIL: 'mallory@example.com',
      GIT_COMMITTER_NAME: 'Mallory',
      GIT_COMMITTER_EMAIL: 'mallory@example.com',
    };
    run('git', ['-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', 'base'], bare, who);
    base = run('git', ['rev-parse', 'HEAD'], bare).trim();
    run(
      'git',
      ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${fingerprint}`, 'commit', '-q', '-S', '--allow-empty', '-m', 'signed by mallory, naming alice'],
      bare,
      who,
    );
    head = run('git', ['rev-parse', 'HEAD'], bare).trim();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function decideWith(rule: string, verifiedEmails: string[]) {
    const git = openRepository({ path: bare, cwd: bare, env: {} });
    const policy = parsePolicy(
      `version: 1\nkeys:\n  forge_accounts: true\nrules:\n  - refs: [refs/heads/main]\n    require_signed_commits: true\n    accept: [G]\n${rule}`,
      '.github/signet.yml',
    );
    const checkRegistries = await buildCheckRegistries({ keyrings: [] }, [{ account: 'mallory', gpgKeys: [malloryKey], sshSigningKeys: [], verifiedEmails }]);
    const scope = scopeOf([{ ref: 'refs/heads/main', oldOid: base, newOid: head, baseOid: base }], git, 'main');
    const { report } = await decideSignatures({
      repo: git,
      policy,
      checkRegistries,
      scope,
      now: new Date(),
      accountOfEmail: (email) => (email === 'mallory@example.com' ? 'mallory' : undefined),
    });
    return report.rows[0]!;
  }

  it('an allow-list naming the unverified user ID refuses the commit; her verified address is still hers', async () => {
    const refused = await decideWith('    signers: [alice@example.com]\n', ['mallory@example.com']);
    expect(refused).toMatchObject({ letter: 'G', accepted: false, reason: expect.stringContaining('not an allowed signer') });
    expect(await decideWith('    signers: [mallory@example.com]\n', ['mallory@example.com'])).toMatchObject({ letter: 'G', accepted: true });
  });

  it('require_email_match with the allow-list: still refused; if GitHub had verified alice@ on her account it would match', async () => {
    const rule = '    signers: [alice@example.com]\n    require_email_match: true\n';
    expect(await decideWith(rule, ['mallory@example.com'])).toMatchObject({ accepted: false });
    expect(await decideWith('    signers: [alice@example.com]\n', ['mallory@example.com', 'alice@example.com'])).toMatchObject({ accepted: true });
  });
});
