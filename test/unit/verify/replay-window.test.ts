/**
 * A walk memo's replay verifies again, commit by commit, what was judged at the clock (OpenPGP,
 * X.509 without --now). Each is read once, so the object store must keep only a window of recent
 * objects, as a walk does: with the store's default (64 MiB) a 100,000-commit replay at the clock
 * peaked at 273 MiB (issue 20, memory with the cache on).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitResult } from '../../../src/core/verify-object.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { parseRevisions } from '../../../src/git/revisions.ts';
import { verifyCommitBatches, type RangeMemo } from '../../../src/git/verify-range.ts';
import { buildRegistries } from '../../../src/keys/load-registries.ts';
import { linearHistory, tempDir } from '../../helpers/git.ts';

const COMMITS = 120;
/** Each commit's message: 120 of them are 7.7 MB, past the 4 MiB window. */
const MESSAGE_BYTES = 64 * 1024;

describe('a replayed range verified again', () => {
  const dir = tempDir('replay-window');
  let oids: string[] = [];
  beforeAll(() => {
    oids = linearHistory(dir.path, COMMITS, MESSAGE_BYTES);
  }, 60_000);
  afterAll(() => dir.remove());

  it('keeps a window of recent objects, not the store default, and gives every result in order', async () => {
    const repo = openRepository({ path: dir.path, cwd: dir.path, env: {} });
    // A memo whose every entry is "verify again": the order is reused, each commit read and judged.
    const memo: RangeMemo = {
      recall: () => ({ length: oids.length, [Symbol.iterator]: () => oids[Symbol.iterator]() }),
      record: () => undefined,
      complete: () => undefined,
      abandon: () => undefined,
    };
    const registries = await buildRegistries({ keyrings: [] });
    const results: CommitResult[] = [];
    let held = 0;
    for await (const batch of verifyCommitBatches(repo, parseRevisions(repo, ['main']), registries, { now: new Date(), memo, inFlight: 4 })) {
      results.push(...batch);
      held = Math.max(held, repo.objects.recentHeldBytes);
    }
    repo.objects.close();
    expect(results.map((result) => result.commit)).toEqual(oids);
    expect(results.every((result) => result.verdict.status === 'N')).toBe(true);
    expect(held).toBeGreaterThan(0);
    expect(held, 'bytes of recent objects held during the replay').toBeLessThanOrEqual(4 * 1024 * 1024 + MESSAGE_BYTES + 1024);
  });
});
