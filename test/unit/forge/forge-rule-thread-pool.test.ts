/**
 * The forge e-mail rule's verification pass (src/forge/decide.ts) runs on libuv's thread pool,
 * several commits ahead, as evaluatePush does: verified one after another on the main thread it
 * held the event loop for a whole pull request's signatures, and every other installation's
 * webhooks, check runs and timers waited (a check of 20,000 forge-key-signed commits: seconds).
 * Proved by order, not timing: a callback queued when the check starts runs before the pass has
 * verified every commit. Every pool thread is first given a long job (pbkdf2), so no check can
 * finish before the main thread has queued them all and gone back to the event loop: without
 * the blockers, a loaded machine let the pool finish all 40 checks while the main thread was
 * still queuing, their callbacks then ran in one poll phase and the pass ended before the
 * callback (CI, 2026-12-05: a false failure).
 */
import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../src/core/policy/index.ts';
import type { CommitResult } from '../../../src/core/verify-object.ts';
import { decideSignatures } from '../../../src/forge/decide.ts';
import { buildCheckRegistries } from '../../../src/forge/forge-keys.ts';
import { scopeOf } from '../../../src/forge/scope.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { DEFAULT_POLICY, bob, makeSignedRepo, type SignedRepo } from '../../helpers/http-backend-repo.ts';

const COMMITS = 40;
let repo: SignedRepo;
let tip: string;

beforeAll(() => {
  repo = makeSignedRepo('o/thread-pool');
  tip = repo.commit('many', COMMITS, bob, 'bob-ssh').at(-1)!;
});

afterAll(() => repo?.cleanup());

describe("the forge e-mail rule's verification pass", () => {
  it('leaves the event loop free while it verifies, and still judges every commit', async () => {
    const git = openRepository({ path: repo.bare, cwd: repo.bare, env: {} });
    const policy = parsePolicy(DEFAULT_POLICY, '.github/signet.yml');
    const account = { account: 'bob', gpgKeys: [], sshSigningKeys: [repo.bobSshPublicKey], verifiedEmails: [bob.email] };
    const checkRegistries = await buildCheckRegistries({ keyrings: [] }, [account]);
    const scope = scopeOf([{ ref: 'refs/heads/main', oldOid: repo.heads.main, newOid: tip, baseOid: repo.heads.main }], git, 'main');
    const verified = new Map<string, CommitResult>();
    const cache = { get: (oid: string) => verified.get(oid), put: (result: CommitResult) => void verified.set(result.commit, result) };
    // libuv's pool: UV_THREADPOOL_SIZE threads, 4 when unset.
    const poolThreads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
    const blockers = Array.from({ length: poolThreads }, () => promisify(pbkdf2)('blocker', 'salt', 1_500_000, 32, 'sha256'));
    let verifiedWhenTheLoopRan = -1;
    setImmediate(() => (verifiedWhenTheLoopRan = verified.size));
    const { report } = await decideSignatures({ repo: git, policy, checkRegistries, scope, now: new Date(), accountOfEmail: () => 'bob', cache });
    await Promise.all(blockers);
    expect(verified.size).toBe(COMMITS);
    expect(verifiedWhenTheLoopRan).toBeGreaterThanOrEqual(0);
    expect(verifiedWhenTheLoopRan).toBeLessThan(COMMITS);
    expect(report.conclusion).toBe('success');
    expect(report.rows.filter((row) => row.letter === 'G')).toHaveLength(COMMITS);
  });
});
