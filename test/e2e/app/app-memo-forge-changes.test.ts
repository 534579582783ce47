/**
 * What the forge says changes between two checks of the same commits while the verdict memo
 * holds their G: a forge key deleted, a committer e-mail no longer linked to the key's account.
 * Probot's real Server against the fake GitHub, real git and ssh-keygen; forge answers are not
 * cached (SIGNET_KEY_CACHE_TTL_MS=0), so each check sees the forge as it is now. Each later check
 * is another installation's copy of the commits: a repository's own first verdicts (the store)
 * stand in for later ones by design (docs/app.md), and would hide what the memo answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, delta, memoOf, mirror, type Target } from '../../helpers/app-memo-checks.ts';
import { startAppHarness, type AppHarness } from '../../helpers/fake-github-app.ts';
import { carol } from '../../helpers/http-backend-repo.ts';

let app: AppHarness;
const scratch = mkdtempSync(join(tmpdir(), 'signet-memo-forge-'));
let installations = 90;
/** Another installation's copy of the commits. */
const copy = (): Target => (installations++, mirror(app, `memo-copy-${installations}/changes`, installations, scratch));

beforeAll(async () => {
  app = await startAppHarness('memo-forge/changes', { SIGNET_KEY_CACHE_TTL_MS: '0' });
  // Keys made in the current second are an instant the memo cannot yet prove passed: start later.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
});

afterAll(async () => {
  await app?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const letters = (rows: string[][]): string[] => rows.map((row) => row[1]!).sort();

describe('the verdict memo when the forge changes', () => {
  it("stops answering G once the forge key that made it is deleted from the signer's account", async () => {
    const memo = memoOf(app);
    const before = await delta(memo, () => check(app, app.info(), 'opened'));
    expect(letters(before.result.rows)).toEqual(['G', 'G']);
    // bob removes his SSH signing key from GitHub (lost laptop): his commit is no longer his.
    const bob = app.github.users.get('bob')!;
    app.github.users.set('bob', { ...bob, sshSigningKeys: [] });
    try {
      const after = await delta(memo, () => check(app, copy(), 'opened'));
      expect(after.result.conclusion).toBe('failure');
      expect(letters(after.result.rows)).toEqual(['G', 'U']);
      // Another trust set: both commits verified again.
      expect(after.misses).toBe(2);
    } finally {
      app.github.users.set('bob', bob);
    }
    // With the key back, the first trust set's verdicts answer again.
    const restored = await delta(memo, () => check(app, copy(), 'opened'));
    expect(letters(restored.result.rows)).toEqual(['G', 'G']);
    expect(restored.misses).toBe(0);
  });

  it('never answers G for a commit whose committer e-mail was unlinked from the signing account since', async () => {
    const memo = memoOf(app);
    // carol@example.com is linked to bob's account: the commit bob signed as carol is G.
    app.github.emailLogins.set(carol.email, 'bob');
    const linked = await delta(memo, () => check(app, copy(), 'opened', 'feature-email'));
    expect(linked.result.conclusion).toBe('success');
    expect(letters(linked.result.rows)).toEqual(['G', 'G']);
    // The e-mail leaves bob's account: his verified e-mails (his SSH key's principals) change, so
    // the trust set is another and nothing memoised under the first answers.
    app.github.emailLogins.delete(carol.email);
    const unlinked = await delta(memo, () => check(app, copy(), 'opened', 'feature-email'));
    expect(unlinked.result.conclusion).toBe('failure');
    expect(letters(unlinked.result.rows)).toEqual(['G', 'U']);
    expect(unlinked.result.rows.find((row) => row[1] === 'U')![3]).toMatch(/^unverified_email: /);
    expect(unlinked.misses).toBe(2);
  });
});
