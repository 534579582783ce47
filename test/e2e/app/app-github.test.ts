/**
 * The GitHub App end to end: Probot's real Server receives signed webhooks (payloads from
 * @octokit/webhooks-examples), talks to a local fake GitHub REST API, and fetches git objects
 * from `git http-backend` serving a repository made with real git, gpg and ssh-keygen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver, example, retarget } from '../../helpers/fake-github-webhooks.ts';
import { SECRET, startAppHarness, readMarkdown, tableRows, type AppHarness } from '../../helpers/fake-github-app.ts';
import { DEFAULT_POLICY, bob, mallory } from '../../helpers/http-backend-repo.ts';

const FULL_NAME = 'octo-org/signed-repo';
let app: AppHarness;

beforeAll(async () => {
  app = await startAppHarness(FULL_NAME);
});

afterAll(async () => {
  if (process.env.TEST_DEBUG) for (const r of app.github.checkRuns) console.log(r.created.head_sha, JSON.stringify(r.current.output).slice(0, 600));
  await app?.stop();
});

describe('pull requests', () => {
  it('posts a success check run for signed commits: in progress first, then the table', async () => {
    const head = app.repo.heads['feature-good'];
    const response = await deliver(app.hookUrl, SECRET, 'pull_request', app.pullPayload('opened', 1, head, 'feature-good'));
    expect(response.status).toBe(200);
    const [run] = app.runsFor(head);
    expect(app.runsFor(head)).toHaveLength(1);
    expect(run!.created).toMatchObject({ name: 'signet/signatures', head_sha: head, status: 'in_progress' });
    expect(run!.updates).toHaveLength(1);
    const completed = run!.current as { conclusion: string; status: string; output: { title: string; summary: string } };
    expect(completed.status).toBe('completed');
    expect(completed.conclusion).toBe('success');
    const rows = tableRows(completed.output.summary);
    expect(rows).toHaveLength(2);
    // bob signed with the SSH key he registered on GitHub, alice with the policy's keyring.
    expect(rows.map((r) => [r[1], r[2]]).sort()).toEqual([
      ['G', 'Alice <alice@example.com>'],
      ['G', bob.email],
    ]);
    // Objects came over smart HTTP with the installation token, as x-access-token.
    const auth = app.backend.requests.find((r) => r.authorization)?.authorization ?? '';
    expect(Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString()).toMatch(/^x-access-token:ghs_test77_\d+$/);
    // The policy came from the default branch through the contents API.
    expect(app.github.requests.some((r) => r.path === `/repos/${FULL_NAME}/contents/.github/signet.yml` && r.query.get('ref') === 'main')).toBe(true);
  });

  it('fails an unsigned commit and says how to fix it', async () => {
    const head = app.repo.heads['feature-bad'];
    await deliver(app.hookUrl, SECRET, 'pull_request', app.pullPayload('synchronize', 2, head, 'feature-bad'));
    const run = app.runsFor(head).at(-1)!;
    const output = run.current.output as { title: string; summary: string };
    expect(run.current.conclusion).toBe('failure');
    expect(output.title).toBe('1 of 1 commit does not meet the signing policy');
    const [row] = tableRows(output.summary);
    expect(row![0]).toContain(head.slice(0, 12));
    expect(row![1]).toBe('N');
    expect(row![3]).toMatch(/^unsigned/);
    expect(row![4]).toContain('git rebase --exec');
  });

  it("applies GitHub's e-mail rule to forge keys: bob's key on carol's commit is U unverified_email", async () => {
    const head = app.repo.heads['feature-email'];
    await deliver(app.hookUrl, SECRET, 'pull_request', app.pullPayload('reopened', 3, head, 'feature-email'));
    const run = app.runsFor(head).at(-1)!;
    expect(run.current.conclusion).toBe('failure');
    expect((run.current.output as { title: string }).title).toBe('1 of 2 commits does not meet the signing policy');
    const rows = tableRows((run.current.output as { summary: string }).summary);
    // Rejected rows come first.
    expect(rows.map((r) => [r[0]!.slice(1, 13), r[1], r[3]!.split(':')[0]])).toEqual([
      [head.slice(0, 12), 'U', 'unverified_email'],
      [expect.any(String), 'G', 'valid'],
    ]);
  });

  it('walks base..head locally: a 260-commit pull request (more than the REST listing) is judged whole', async () => {
    const head = app.repo.commitUnsignedBulk('long', 260, mallory, app.repo.heads.main);
    app.repo.updateRef('refs/pull/9/head', head);
    await deliver(app.hookUrl, SECRET, 'pull_request', app.pullPayload('opened', 9, head, 'long'));
    const run = app.runsFor(head).at(-1)!;
    expect(run.current.conclusion).toBe('failure');
    expect((run.current.output as { title: string }).title).toBe('260 of 260 commits do not meet the signing policy');
    expect(app.github.requests.some((r) => r.path.includes('/pulls/9/commits'))).toBe(false);
  });
});

describe('pushes and reruns', () => {
  it('a push to a branch no rule covers is neutral, and its check_suite does not post again', async () => {
    const [oid] = app.repo.commit('topic', 1, mallory, 'none');
    const push = await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/topic', '0'.repeat(40), oid!));
    expect(push.status).toBe(200);
    expect(app.runsFor(oid!)).toHaveLength(1);
    expect(app.runsFor(oid!)[0]!.current.conclusion).toBe('neutral');
    expect((app.runsFor(oid!)[0]!.current.output as { title: string }).title).toContain('no rule of .github/signet.yml applies to refs/heads/topic');
    const suite = retarget(example('check_suite', 'requested'), app.info());
    Object.assign(suite.check_suite as object, { head_sha: oid, head_branch: 'topic', before: '0'.repeat(40), after: oid, pull_requests: [] });
    expect((await deliver(app.hookUrl, SECRET, 'check_suite', suite)).status).toBe(200);
    expect(app.runsFor(oid!)).toHaveLength(1);
    const audit = await app.store.listAudit(`github:${FULL_NAME}`, 5);
    expect(audit[0]).toMatchObject({ event: 'check_suite.requested', outcome: 'skipped' });
  });

  it('the same delivery twice posts once; a rerequest posts again', async () => {
    const head = app.repo.heads['feature-good'];
    const payload = app.pullPayload('synchronize', 1, head, 'feature-good');
    const before = app.runsFor(head).length;
    const first = await deliver(app.hookUrl, SECRET, 'pull_request', payload, { id: 'fixed-delivery-id' });
    const again = await deliver(app.hookUrl, SECRET, 'pull_request', payload, { id: 'fixed-delivery-id' });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(app.runsFor(head)).toHaveLength(before + 1);

    const rerun = retarget(example('check_run', 'rerequested'), app.info());
    const checkRun = rerun.check_run as Record<string, any>;
    Object.assign(checkRun, {
      name: 'signet/signatures',
      head_sha: head,
      pull_requests: [{ number: 1, head: { ref: 'feature-good', sha: head }, base: { ref: 'main', sha: app.repo.heads.main } }],
    });
    checkRun.check_suite = { ...checkRun.check_suite, head_branch: 'feature-good', head_sha: head, before: app.repo.heads.main };
    await deliver(app.hookUrl, SECRET, 'check_run', rerun);
    expect(app.runsFor(head)).toHaveLength(before + 2);
    expect(app.runsFor(head).at(-1)!.current.conclusion).toBe('success');
  });

  it('/signet recheck on a pull request re-checks it and reacts to the comment', async () => {
    const head = app.repo.heads['feature-bad'];
    app.github.pulls.set(`${FULL_NAME}#2`, {
      number: 2,
      state: 'open',
      head: { sha: head, ref: 'feature-bad', repo: { full_name: FULL_NAME } },
      base: { sha: app.repo.heads.main, ref: 'main', repo: { full_name: FULL_NAME } },
    });
    const comment = retarget(example('issue_comment', 'created'), app.info());
    Object.assign(comment.issue as object, { number: 2, pull_request: { url: 'x' } });
    Object.assign(comment.comment as object, { id: 555, body: 'please\n/signet recheck\n' });
    const before = app.runsFor(head).length;
    await deliver(app.hookUrl, SECRET, 'issue_comment', comment);
    expect(app.runsFor(head)).toHaveLength(before + 1);
    expect(app.runsFor(head).at(-1)!.current.conclusion).toBe('failure');
    expect(app.github.reactions).toContainEqual({ repository: FULL_NAME, commentId: 555, content: 'rocket' });
    // A comment without the command changes nothing.
    Object.assign(comment.comment as object, { id: 556, body: 'signet recheck please' });
    await deliver(app.hookUrl, SECRET, 'issue_comment', comment);
    expect(app.runsFor(head)).toHaveLength(before + 1);
  });

  it('merge_group: the queue head is checked against the base rules', async () => {
    const head = app.repo.heads['feature-good'];
    app.repo.updateRef('refs/heads/gh-readonly-queue/main/pr-1', head);
    const payload = retarget(example('merge_group', 'checks_requested'), app.info());
    Object.assign(payload.merge_group as object, {
      head_sha: head,
      head_ref: 'refs/heads/gh-readonly-queue/main/pr-1',
      base_sha: app.repo.heads.main,
      base_ref: 'refs/heads/main',
    });
    const before = app.runsFor(head).length;
    await deliver(app.hookUrl, SECRET, 'merge_group', payload);
    expect(app.runsFor(head)).toHaveLength(before + 1);
    expect(app.runsFor(head).at(-1)!.current.conclusion).toBe('success');
  });

  it('a push of an unsigned commit to main fails; the first verdicts of accepted commits are recorded', async () => {
    const [oid] = app.repo.commit('main', 1, mallory, 'none');
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/main', app.repo.heads.main, oid!));
    expect(app.runsFor(oid!).at(-1)!.current.conclusion).toBe('failure');
    const recorded = await app.store.lookupVerdicts(`github:${FULL_NAME}`, [app.repo.heads['feature-good']]);
    expect(recorded.get(app.repo.heads['feature-good'])?.status).toBe('G');
    expect((await app.store.lookupVerdicts(`github:${FULL_NAME}`, [oid!])).size).toBe(0);
  });
});

describe('a lenient check never overrides a strict one (issue 11 item 5)', () => {
  it("a push whose before already holds a pull request's unsigned commit does not turn the PR head green", async () => {
    const head = app.repo.heads['feature-bad'];
    app.github.pulls.set(`${FULL_NAME}#2`, {
      number: 2,
      state: 'open',
      head: { sha: head, ref: 'feature-bad', repo: { full_name: FULL_NAME } },
      base: { sha: app.repo.heads.main, ref: 'main', repo: { full_name: FULL_NAME } },
    });
    await deliver(app.hookUrl, SECRET, 'pull_request', app.pullPayload('synchronize', 2, head, 'feature-bad'));
    expect(app.runsFor(head).at(-1)!.current.conclusion).toBe('failure');
    // The attacker's branch sits one commit past the unsigned one; force-pushing it back to the
    // PR head gives a push whose `before` contains every commit of the pull request (pushed
    // first, so the app has fetched it).
    const [decoy] = app.repo.commit('decoy', 1, mallory, 'none', head);
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/decoy', '0'.repeat(40), decoy!));
    app.repo.updateRef('refs/heads/decoy', head);
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/decoy', decoy!, head));
    const latest = app.runsFor(head).at(-1)!;
    expect(latest.current.conclusion).toBe('failure');
    expect((latest.current.output as { summary: string }).summary).toContain('refs/heads/main');
  });

  it('a commit a strict branch refused stays failed when pushed again to a branch without a rule', async () => {
    const [oid] = app.repo.commit('release/one', 1, mallory, 'none');
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/release/one', app.repo.heads.main, oid!));
    expect(app.runsFor(oid!).at(-1)!.current.conclusion).toBe('failure');
    app.repo.updateRef('refs/heads/lenient-alias', oid!);
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/lenient-alias', '0'.repeat(40), oid!));
    expect(app.runsFor(oid!)).toHaveLength(2);
    expect(app.runsFor(oid!).at(-1)!.current.conclusion).toBe('failure');
  });
});

describe('the policy in force before a push judges it (issue 11 item 7)', () => {
  it('an unsigned push to main that rewrites .github/signet.yml is judged by the old policy: failure, not neutral', async () => {
    const before = app.repo.heads.main;
    const lenient = DEFAULT_POLICY.replace('refs/heads/main, ', '');
    const after = app.repo.setPolicy(lenient, mallory, 'none');
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/main', before, after));
    const run = app.runsFor(after).at(-1)!;
    expect(run.current.conclusion).toBe('failure');
    // The policy was read at `before`, through the contents API.
    expect(app.github.requests.some((r) => r.path === `/repos/${FULL_NAME}/contents/.github/signet.yml` && r.query.get('ref') === before)).toBe(true);
    // A pull request is still judged by the default branch's policy, now the new one.
    const [topic] = app.repo.commit('after-policy', 1, mallory, 'none', after);
    app.repo.updateRef('refs/pull/31/head', topic!);
    const payload = app.pullPayload('opened', 31, topic!, 'after-policy');
    (payload.pull_request as { base: { sha: string } }).base.sha = after;
    await deliver(app.hookUrl, SECRET, 'pull_request', payload);
    expect(app.runsFor(topic!).at(-1)!.current.conclusion).toBe('neutral');
  });
});

describe('bounds on the work an outsider causes (issue 12)', () => {
  it("follows every page of a commit's pull requests: an open PR on page 2 still brings its base's rules", async () => {
    const [head] = app.repo.commit('paged', 1, mallory, 'none', app.repo.heads['feature-good']);
    for (let n = 100; n < 250; n++)
      app.github.pulls.set(`${FULL_NAME}#${n}`, {
        number: n,
        state: 'closed',
        head: { sha: head, ref: 'paged' },
        base: { sha: app.repo.heads.main, ref: 'main', repo: { full_name: FULL_NAME } },
      });
    app.github.pulls.set(`${FULL_NAME}#250`, {
      number: 250,
      state: 'open',
      head: { sha: head, ref: 'paged', repo: { full_name: FULL_NAME } },
      base: { sha: app.repo.heads['feature-good'], ref: 'release/next', repo: { full_name: FULL_NAME } },
    });
    await deliver(app.hookUrl, SECRET, 'push', app.pushPayload('refs/heads/paged', app.repo.heads['feature-good'], head!));
    expect(app.runsFor(head!).at(-1)!.current.conclusion).toBe('failure');
    expect(app.github.requests.some((r) => r.path.endsWith(`/commits/${head}/pulls`) && r.query.get('page') === '2')).toBe(true);
  });

  it('a pull request with more commits than SIGNET_CHECK_MAX_COMMITS fails and names the bound', async () => {
    const head = app.repo.commitUnsignedBulk('too-long', 150, mallory, app.repo.heads.main);
    app.repo.updateRef('refs/pull/41/head', head);
    const saved = app.server.deps.maxCommits;
    app.server.deps.maxCommits = 100;
    try {
      await deliver(app.hookUrl, SECRET, 'pull_request', app.pullPayload('opened', 41, head, 'too-long'));
    } finally {
      app.server.deps.maxCommits = saved;
    }
    const run = app.runsFor(head).at(-1)!;
    expect(run.current.conclusion).toBe('failure');
    expect(readMarkdown((run.current.output as { summary: string }).summary)).toContain('150 commits to judge, more than SIGNET_CHECK_MAX_COMMITS (100)');
  });
});

describe('tokens stay home (issue 12)', () => {
  it('every API request carries an installation token or the app JWT to the configured GitHub only; git gets the token as x-access-token only from the clone URL', async () => {
    await deliver(app.hookUrl, SECRET, 'pull_request', app.pullPayload('synchronize', 1, app.repo.heads['feature-good'], 'feature-good'));
    expect(app.github.requests.length).toBeGreaterThan(0);
    for (const request of app.github.requests) {
      const authorization = String(request.headers.authorization ?? '');
      if (request.path.startsWith('/app/')) expect(authorization).toMatch(/^bearer ey/i);
      else expect(authorization).toMatch(/^token ghs_test\d+_\d+$/);
      // Requests arrived at the fake's own host (the configured GHE_HOST), never another.
      expect(request.headers.host).toBe(app.github.host);
    }
    const git = app.backend.requests.filter((r) => r.authorization);
    expect(git.length).toBeGreaterThan(0);
    for (const request of git) {
      expect(Buffer.from(request.authorization!.replace(/^Basic /, ''), 'base64').toString()).toMatch(/^x-access-token:ghs_test\d+_\d+$/);
      expect(request.path.startsWith(`/${app.repo.path}/`)).toBe(true);
    }
  });
});
