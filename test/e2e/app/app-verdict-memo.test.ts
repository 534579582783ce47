/**
 * The app's verdict memo (src/checks/verdict-memo.ts) end to end: Probot's real Server, the fake
 * GitHub, repositories made with real git, gpg and ssh-keygen behind `git http-backend`. What is
 * proved is read from the memo's counters (a miss is a commit verified), never from timing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, delta, git as gitIn, memoOf, mirror as mirrorIn, type Target } from '../../helpers/app-memo-checks.ts';
import { startAppHarness, type AppHarness } from '../../helpers/fake-github-app.ts';

let app: AppHarness;
let expiring: AppHarness;
const scratch = mkdtempSync(join(tmpdir(), 'signet-memo-test-'));

beforeAll(async () => {
  app = await startAppHarness('memo-org/signed-repo');
  // alice's key expires a day from now: a check two days on must see it expired.
  expiring = await startAppHarness('memo-org/expiring-key', {}, { aliceKeyExpires: '1d' });
  // A key or signature made in the current second is an instant the memo cannot yet prove
  // passed, so verdicts judged in that second are not kept: start the checks a second later,
  // or the counted misses depend on how fast the fixtures were made.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
});

afterAll(async () => {
  await app?.stop();
  await expiring?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the verdict memo', () => {
  it('answers a second check of the same commits without verifying them again', async () => {
    const memo = memoOf(app);
    const first = await delta(memo, () => check(app, app.info(), 'opened'));
    expect(first.result.conclusion).toBe('success');
    // Two commits, each verified once (the forge e-mail rule and the decision share the verdict).
    expect(first.misses).toBe(2);
    const second = await delta(memo, () => check(app, app.info()));
    expect(second.result).toEqual(first.result);
    expect(second.misses).toBe(0);
    expect(second.hits).toBeGreaterThanOrEqual(2);
    expect(memo.statistics.registriesReused).toBeGreaterThanOrEqual(1);
  });

  it('never gives an installation with another keyring the verdicts made with the first one', async () => {
    // The same commits in another installation's repository, whose policy file is the same but
    // whose keyring holds eve's key instead of alice's: alice's commit is not G there.
    const gnupg = join(scratch, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    const gpg = (args: string[]): string => execFileSync('gpg', ['--batch', '--homedir', gnupg, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Eve <eve@example.com>', 'ed25519', 'sign', 'never']);
    const other = mirror(app, 'memo-other/signed-repo', 78);
    const work = join(scratch, 'work');
    git(['clone', '-q', join(app.repo.root, 'memo-other/signed-repo.git'), work], scratch);
    writeFileSync(join(work, '.github', 'keys', 'team.asc'), gpg(['--armor', '--export', 'eve@example.com']));
    git(['-c', 'user.name=Eve', '-c', 'user.email=eve@example.com', 'commit', '-q', '-am', 'Trust eve instead'], work);
    git(['push', '-q', 'origin', 'main'], work);

    const memo = memoOf(app);
    const trusted = await check(app, app.info());
    expect(trusted.conclusion).toBe('success');
    const elsewhere = await delta(memo, () => check(app, other));
    expect(elsewhere.result.conclusion).toBe('failure');
    // alice's commit: unknown key under eve's keyring; bob's (forge key, same account) still G.
    expect(elsewhere.result.rows.map((row) => row[1]).sort()).toEqual(['E', 'G']);
    // Both commits verified again under the other trust (eve's key, made a moment ago, has an
    // instant this second: its verdict is not even kept, so it may be verified twice).
    expect(elsewhere.misses).toBeGreaterThanOrEqual(2);
    // And the first installation keeps its own verdicts.
    const again = await delta(memo, () => check(app, app.info()));
    expect(again.result).toEqual(trusted);
    expect(again.misses).toBe(0);
  });

  it('shares verdicts between installations with the same trust, but not past the expiry of the key that made them', async () => {
    const memo = memoOf(expiring);
    const today = await delta(memo, () => check(expiring, expiring.info(), 'opened'));
    expect(today.result.conclusion).toBe('success');
    expect(today.misses).toBe(2);
    // Another installation, the same commits, policy and keys: nothing verified again.
    const sibling = await delta(memo, () => check(expiring, mirror(expiring, 'memo-sibling/expiring-key', 91)));
    expect(sibling.result).toEqual(today.result);
    expect(sibling.misses).toBe(0);

    // A third installation two days later (the app's clock), where alice's key has expired. The
    // memo holds alice's G, and no first verdict of this repository stands in for it.
    const deps = expiring.server.deps;
    const clock = deps.now;
    deps.now = () => new Date(Date.now() + 2 * 86_400_000);
    try {
      const later = await delta(memo, () => check(expiring, mirror(expiring, 'memo-later/expiring-key', 92)));
      expect(later.result.conclusion).toBe('failure');
      // alice's key expired (Y) after signing; bob's SSH verdict has no instant and is reused.
      expect(later.result.rows.map((row) => row[1]).sort()).toEqual(['G', 'Y']);
      expect(later.expired).toBe(1);
      expect(later.misses).toBe(1);
    } finally {
      deps.now = clock;
    }
    // Back at today's clock, a verdict judged two days ahead is not today's judgement either.
    const back = await delta(memo, () => check(expiring, mirror(expiring, 'memo-back/expiring-key', 93)));
    expect(back.result.conclusion).toBe('success');
    expect(back.expired).toBe(1);
  });
});

const git = (args: string[], cwd: string): string => gitIn(args, cwd, scratch);
const mirror = (harness: AppHarness, fullName: string, installationId: number): Target => mirrorIn(harness, fullName, installationId, scratch);
