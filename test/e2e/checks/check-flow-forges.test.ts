/**
 * The one check flow (src/checks/) through both real forge adapters, the same cases for each
 * (as test/e2e/release/release-flow.test.ts runs one suite for /sign-release): GitHub through
 * Probot's real server receiving signed webhooks over HTTP against the fake GitHub, GitLab
 * through the bot's webhook route against the fake GitLab; git objects from `git http-backend`
 * serving a repository made with real git, gpg and ssh-keygen. Every case asserts what was
 * posted to the fake forge: GitHub check runs, GitLab commit statuses and the merge request note.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver, type Delivery } from '../../helpers/fake-github-webhooks.ts';
import { SECRET, startAppHarness, type AppHarness } from '../../helpers/fake-github-app.ts';
import { startGitLabBotHarness, type GitLabBotHarness } from '../../helpers/fake-gitlab-bot.ts';
import type { GitHttpBackend } from '../../helpers/http-backend.ts';
import { mallory, type SignedRepo } from '../../helpers/http-backend-repo.ts';

/** Long enough for a GitHub policy read that Probot's Octokit retries (1 + 4 + 9 s) to end on its own. */
const CHECK_TIMEOUT_MS = 20_000;
const ZERO = '0'.repeat(40);

/** One check as the forge shows it: still running (no conclusion) or completed. */
interface PostedCheck {
  conclusion?: 'success' | 'failure' | 'neutral';
  /** The one line people see first (check run title, commit status description). */
  title: string;
  /** Everything posted about it (the summary table; on GitLab the merge request note). */
  text: string;
}

interface ForgeUnderTest {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  repo(): SignedRepo;
  backend(): GitHttpBackend;
  /** Opens pull / merge request `number` with `head` from `branch` against main (the forge lists it as the commit's open change) and delivers its event. */
  openChange(number: number, head: string, branch: string, delivery?: string): Promise<Delivery>;
  push(ref: string, before: string, after: string, delivery?: string): Promise<Delivery>;
  /** The checks posted for `sha`, oldest first. */
  checks(sha: string): PostedCheck[];
  /** Every read of the policy file answers 503 (`outage`) or never answers (`hang`) until the returned function is called. */
  breakPolicyReads(how: 'outage' | 'hang'): () => void;
}

function gitHubUnderTest(): ForgeUnderTest {
  const FULL_NAME = 'octo-org/flow-repo';
  let app: AppHarness;
  return {
    name: 'GitHub',
    async start() {
      app = await startAppHarness(FULL_NAME, { SIGNET_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS) });
    },
    stop: () => app.stop(),
    repo: () => app.repo,
    backend: () => app.backend,
    openChange(number, head, branch, delivery) {
      app.repo.updateRef(`refs/pull/${number}/head`, head);
      app.github.pulls.set(`${FULL_NAME}#${number}`, {
        number,
        state: 'open',
        head: { sha: head, ref: branch, repo: { full_name: FULL_NAME } },
        base: { sha: app.repo.heads.main, ref: 'main', repo: { full_name: FULL_NAME } },
      });
      return deliver(app.hookUrl, SECRET, 'pull_request', app.pullPayload('opened', number, head, branch), delivery ? { id: delivery } : {});
    },
    push: (ref, before, after, delivery) => deliver(app.hookUrl, SECRET, 'push', app.pushPayload(ref, before, after), delivery ? { id: delivery } : {}),
    checks: (sha) =>
      app.runsFor(sha).map((run) => {
        const output = (run.current.output ?? {}) as { title?: string; summary?: string };
        return {
          ...(run.current.status === 'completed' ? { conclusion: run.current.conclusion as PostedCheck['conclusion'] } : {}),
          title: output.title ?? '',
          text: `${output.title ?? ''}\n${output.summary ?? ''}`,
        };
      }),
    breakPolicyReads(how) {
      // Octokit sends the path's slash as %2F.
      const fault = { method: 'GET', path: /\/contents\/\.github(\/|%2F)signet\.yml$/i, status: 503, times: 1_000, hang: how === 'hang' };
      app.github.faults.push(fault);
      return () => void app.github.faults.splice(app.github.faults.indexOf(fault), 1);
    },
  };
}

function gitLabUnderTest(): ForgeUnderTest {
  let bot: GitLabBotHarness;
  /** merge request iid → its head, to find the note that goes with a commit's status. */
  const heads = new Map<number, string>();
  return {
    name: 'GitLab',
    async start() {
      bot = await startGitLabBotHarness('group/flow-project', 42, { SIGNET_CHECK_TIMEOUT_MS: String(CHECK_TIMEOUT_MS) });
    },
    stop: () => bot.stop(),
    repo: () => bot.repo,
    backend: () => bot.backend,
    openChange(number, head, branch, delivery) {
      bot.repo.updateRef(`refs/merge-requests/${number}/head`, head);
      bot.gitlab.mergeRequests.push({ project: bot.projectId, iid: number, sha: head, source_branch: branch, target_branch: 'main', state: 'opened' });
      heads.set(number, head);
      return bot.send('Merge Request Hook', bot.mergeRequestPayload('open', number, head, branch), delivery ? { uuid: delivery } : {});
    },
    push: (ref, before, after, delivery) => bot.send('Push Hook', bot.pushPayload(ref, before, after), delivery ? { uuid: delivery } : {}),
    checks(sha) {
      const notes = bot.gitlab.notes.filter((note) => heads.get(note.iid) === sha).map((note) => note.body);
      const checks: PostedCheck[] = [];
      // A check is "running" and then its result: GitLab keeps every status it was given.
      for (const status of bot.gitlab.statuses.filter((s) => s.sha === sha && s.name === 'signet/signatures')) {
        if (status.state === 'running') {
          checks.push({ title: status.description, text: '' });
          continue;
        }
        const conclusion = status.state === 'failed' ? 'failure' : status.description.startsWith('neutral: ') ? 'neutral' : 'success';
        checks[checks.length - 1] = { conclusion, title: status.description, text: [status.description, ...notes].join('\n') };
      }
      return checks;
    },
    breakPolicyReads(how) {
      const fault = { method: 'GET', path: /\/repository\/files\//, status: 503, times: 1_000, hang: how === 'hang' };
      bot.gitlab.faults.push(fault);
      return () => void bot.gitlab.faults.splice(bot.gitlab.faults.indexOf(fault), 1);
    },
  };
}

describe.each([gitHubUnderTest(), gitLabUnderTest()])('the check flow on $name', (forge) => {
  beforeAll(() => forge.start());
  afterAll(() => forge.stop());

  /** The checks of `sha` once the last one has a result (GitLab answers 202 when a check outlives its webhook timeout). */
  const settled = async (sha: string, count: number): Promise<PostedCheck[]> => {
    const deadline = Date.now() + CHECK_TIMEOUT_MS + 30_000;
    for (;;) {
      const checks = forge.checks(sha);
      if (checks.length >= count && checks.every((check) => check.conclusion)) return checks;
      if (Date.now() > deadline) return checks;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  it('a signed commit passes', async () => {
    const head = forge.repo().heads['feature-good'];
    expect((await forge.openChange(1, head, 'feature-good')).status).toBe(200);
    const checks = await settled(head, 1);
    expect(checks.map((c) => [c.conclusion, c.title])).toEqual([['success', '2 commits meet the signing policy']]);
  });

  it('an unsigned commit fails, and the result names the commit', async () => {
    const head = forge.repo().heads['feature-bad'];
    await forge.openChange(2, head, 'feature-bad');
    const [check] = await settled(head, 1);
    expect(check).toMatchObject({ conclusion: 'failure', title: '1 of 1 commit does not meet the signing policy' });
    const row = check!.text.split('\n').find((line) => line.startsWith('| `'));
    expect(row).toContain(head.slice(0, 12));
    expect(row).toContain('| N |');
  });

  it('a push never overrides a stricter pull / merge request check of the same commit', async () => {
    const [head] = forge.repo().commit('strict-change', 1, mallory, 'none');
    await forge.openChange(3, head!, 'strict-change');
    expect((await settled(head!, 1)).map((c) => c.conclusion)).toEqual(['failure']);
    // The same commit pushed to a branch no rule covers: the open change's rules still apply.
    forge.repo().updateRef('refs/heads/lenient', head!);
    await forge.push('refs/heads/lenient', ZERO, head!);
    expect((await settled(head!, 2)).map((c) => c.conclusion)).toEqual(['failure', 'failure']);
    // Without an open change such a push is neutral: the case above is the open change's doing.
    const [alone] = forge.repo().commit('lenient-alone', 1, mallory, 'none');
    await forge.push('refs/heads/lenient-alone', ZERO, alone!);
    expect((await settled(alone!, 1)).map((c) => c.conclusion)).toEqual(['neutral']);
  });

  it('a forge outage on the policy read is a failure that says it could not check, never a pass', async () => {
    const [oid] = forge.repo().commit('outage', 1, mallory, 'none');
    // The outage lasts until the check has its result (a delivery may be answered 202 before that).
    const repair = forge.breakPolicyReads('outage');
    let checks: PostedCheck[];
    try {
      await forge.push('refs/heads/outage', ZERO, oid!);
      checks = await settled(oid!, 1);
    } finally {
      repair();
    }
    expect(checks).toHaveLength(1);
    expect(checks[0]!.conclusion).toBe('failure');
    // An outage says so and asks for a retry (the error model's outage kind, docs/architecture.md).
    expect(checks[0]!.title).toMatch(
      /^signet could not talk to the forge API: reading \.(github|gitlab)\/signet\.yml from .*(HTTP 503|…) — could not check, try again$/,
    );
  });

  it('a compute that throws (git endpoint down) still reports the check, as a failure naming what broke', async () => {
    const [oid] = forge.repo().commit('git-down', 1, mallory, 'none');
    forge.backend().failWith = 500;
    try {
      await forge.push('refs/heads/git-down', ZERO, oid!);
    } finally {
      forge.backend().failWith = 0;
    }
    const checks = await settled(oid!, 1);
    expect(checks.map((c) => c.conclusion)).toEqual(['failure']);
    expect(checks[0]!.title).toMatch(/^signet could not fetch the commits: cannot fetch refs\/heads\/git-down/);
  });

  it('the same delivery twice posts once', async () => {
    const [oid] = forge.repo().commit('twice', 1, mallory, 'none');
    const delivery = `0f0e0d0c-${forge.name.length}000-4000-8000-00000000000${forge.name.length}`;
    const first = await forge.push('refs/heads/twice', ZERO, oid!, delivery);
    const again = await forge.push('refs/heads/twice', ZERO, oid!, delivery);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect((await settled(oid!, 1)).map((c) => c.conclusion)).toEqual(['neutral']);
  });

  it('a compute that outlives SIGNET_CHECK_TIMEOUT_MS still reports the check, as a failure that says so', async () => {
    const [oid] = forge.repo().commit('hung', 1, mallory, 'none');
    const repair = forge.breakPolicyReads('hang');
    try {
      await forge.push('refs/heads/hung', ZERO, oid!);
      const checks = await settled(oid!, 1);
      expect(checks.map((c) => c.conclusion)).toEqual(['failure']);
      expect(checks[0]!.title).toBe(
        `signet did not finish in time: the check took longer than ${CHECK_TIMEOUT_MS / 1000} s (SIGNET_CHECK_TIMEOUT_MS) — could not check, try again`,
      );
    } finally {
      repair();
    }
  });
});
