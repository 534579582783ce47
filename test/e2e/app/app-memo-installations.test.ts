/**
 * The verdict memo across installations, end to end: Probot's real Server, the fake GitHub, three
 * installations whose repositories hold the same commits (real git, gpg, ssh-keygen behind `git
 * http-backend`). Two with the same trust share verdicts; the third revokes bob's SSH key in its
 * own policy and never receives the others' G, nor they its R. What is proved is read from the
 * memo's counters and the posted check runs, never from timing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitVerdictCache } from '../../../src/git/verify-range.ts';
import { check, delta, git, memoOf, mirror, type Target } from '../../helpers/app-memo-checks.ts';
import { startAppHarness, type AppHarness } from '../../helpers/fake-github-app.ts';
import { DEFAULT_POLICY } from '../../helpers/http-backend-repo.ts';

let app: AppHarness;
let sameTrust: Target;
let revoking: Target;
/** The share keys the check flow ran each check under, in order. */
const shareKeys: string[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'signet-memo-installations-'));

beforeAll(async () => {
  app = await startAppHarness('memo-a/shared-repo');
  // Installation A's policy names a revoked-keys file (a key nobody signs with), so that C's
  // policy file stays byte-identical and only the revoked-keys file tells the two apart.
  const unused = join(scratch, 'unused_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'unused', '-f', unused]);
  revise(app.repo.bare, 'work-a', readFileSync(`${unused}.pub`, 'utf8'), 'Name a revoked-keys file');
  sameTrust = mirror(app, 'memo-b/shared-repo', 81, scratch);
  // Installation C: the same commits, keyring and policy, but its revoked-keys file lists bob's SSH key.
  revoking = mirror(app, 'memo-c/shared-repo', 82, scratch);
  revise(join(app.repo.root, 'memo-c/shared-repo.git'), 'work-c', `${app.repo.bobSshPublicKey}\n`, "Revoke bob's key");
  // Watch which share each check runs under (the wiring from installation to share).
  const shares = app.server.deps.shares!;
  const run = shares.run.bind(shares);
  shares.run = (key, work) => (shareKeys.push(key), run(key, work));
  // Keys made in the current second are an instant the memo cannot yet prove passed: start later.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
});

afterAll(async () => {
  await app?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Commits to main of `bare` the policy naming a revoked-keys file with `revoked` in it. */
function revise(bare: string, workName: string, revoked: string, message: string): void {
  const work = join(scratch, workName);
  git(['clone', '-q', bare, work], scratch, scratch);
  writeFileSync(join(work, '.github', 'keys', 'revoked_keys'), revoked);
  writeFileSync(
    join(work, '.github', 'signet.yml'),
    DEFAULT_POLICY.replace('  forge_accounts: true\n', '  forge_accounts: true\n  ssh_revoked_keys: keys/revoked_keys\n'),
  );
  git(['add', '-A', '.github'], work, scratch);
  git(['-c', 'user.name=Carol', '-c', 'user.email=carol@example.com', 'commit', '-q', '-m', message], work, scratch);
  git(['push', '-q', 'origin', 'main'], work, scratch);
}

const letters = (rows: string[][]): string[] => rows.map((row) => row[1]!).sort();

describe('the verdict memo across installations', () => {
  it('shares verdicts between installations with the same trust, and keeps a revocation in one from the others', async () => {
    const memo = memoOf(app);
    const first = await delta(memo, () => check(app, app.info(), 'opened'));
    expect(first.result.conclusion).toBe('success');
    expect(first.misses).toBe(2);

    // Installation B: same commits, same policy and keys: every verdict from the memo.
    const b = await delta(memo, () => check(app, sameTrust, 'opened'));
    expect(b.result.conclusion).toBe('success');
    expect(b.result.rows).toEqual(first.result.rows);
    expect(b.misses).toBe(0);
    expect(b.hits).toBeGreaterThanOrEqual(2);

    // Installation C revoked bob's key: nothing of A's trust answers, bob's commit is R.
    const c = await delta(memo, () => check(app, revoking, 'opened'));
    expect(c.result.conclusion).toBe('failure');
    expect(letters(c.result.rows)).toEqual(['G', 'R']);
    // Both commits verified under C's trust (the hits are C's own check reusing what it just stored).
    expect(c.misses).toBe(2);
    // C's own rerun is answered from the memo, under its own trust: still R.
    const again = await delta(memo, () => check(app, revoking));
    expect(letters(again.result.rows)).toEqual(['G', 'R']);
    expect(again.misses).toBe(0);
    // And A's next check still sees its own G: C's R did not leak back either.
    const back = await delta(memo, () => check(app, app.info()));
    expect(back.result.rows).toEqual(first.result.rows);
    expect(back.misses).toBe(0);

    // Each installation ran under its own share, and the memo counts who stored what: A and C.
    expect(shareKeys).toEqual([
      'github-installation:77',
      'github-installation:81',
      'github-installation:82',
      'github-installation:82',
      'github-installation:77',
    ]);
    expect(memo.statistics.owners).toBe(2);
    expect(app.server.deps.shares!.statistics).toEqual({ running: 0, waiting: 0, keys: 0 });
  });

  it('posts a failure, never a pass or nothing, when the memo itself throws', async () => {
    const memo = memoOf(app);
    const forCheck = memo.forCheck.bind(memo);
    memo.forCheck = (...args): CommitVerdictCache => {
      const view = forCheck(...args);
      return {
        get: () => {
          throw new Error('the memo broke');
        },
        put: view.put,
      };
    };
    try {
      const broken = await check(app, sameTrust);
      expect(broken.conclusion).toBe('failure');
      expect(broken.title).toMatch(/the memo broke/);
      expect(broken.rows).toEqual([]);
    } finally {
      memo.forCheck = forCheck;
    }
  });
});
