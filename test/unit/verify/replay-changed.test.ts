/**
 * A walk memo over 4 MiB is read twice, and the replay uses a piece only if it matches the
 * digest its check took. Bytes changed in place between the two (whoever can write the cache
 * directory, a disk going bad) are a cache problem, not a verdict: the run must still answer as a
 * run without memo — the commits the replay gave were checked, the rest is walked again — where
 * it used to fail half-way (STORE_UNAVAILABLE, "run again").
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommitResult } from '../../../src/core/verify-object.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { parseRevisions } from '../../../src/git/revisions.ts';
import { verifyCommitBatches, type RangeMemo } from '../../../src/git/verify-range.ts';
import { buildRegistries } from '../../../src/keys/load-registries.ts';
import { WalkMemo } from '../../../src/store/walk-memo.ts';
import { commitTree, git, linearHistory, tempDir } from '../../helpers/git.ts';

const SECRET = Buffer.from('a-secret-of-thirty-two-bytes-or-more!!');
const KEY = 'd'.repeat(64);
const COMMITS = 300;
/** Pieces this small, and nothing held, so that the replay reads the file again. */
const LIMITS = { readBytes: 512, holdBytes: 0 };

describe('a walk memo changed in place during its replay', () => {
  const dir = tempDir('replay-changed');
  let cache: string;
  beforeAll(() => {
    linearHistory(dir.path, COMMITS, 16);
    cache = mkdtempSync(join(tmpdir(), 'signet-replay-changed-'));
  }, 60_000);
  afterAll(() => {
    dir.remove();
    rmSync(cache, { recursive: true, force: true });
  });

  async function run(memo: (repo: ReturnType<typeof openRepository>) => RangeMemo | undefined): Promise<string[]> {
    const repo = openRepository({ path: dir.path, cwd: dir.path, env: {} });
    const registries = await buildRegistries({ keyrings: [] });
    const revisions = parseRevisions(repo, ['main']);
    const given = memo(repo);
    const lines: string[] = [];
    try {
      for await (const batch of verifyCommitBatches(repo, revisions, registries, { now: new Date(0), inFlight: 4, ...(given ? { memo: given } : {}) })) {
        for (const result of batch as CommitResult[]) lines.push(JSON.stringify(result));
      }
    } finally {
      repo.objects.close();
    }
    return lines;
  }

  /** Each case starts from no memo: what an earlier case left (forged, changed) is not its input. */
  beforeEach(() => {
    for (const file of readdirSync(cache)) rmSync(join(cache, file), { recursive: true, force: true });
  });

  const walkMemo = (repo: ReturnType<typeof openRepository>): WalkMemo =>
    new WalkMemo(cache, KEY, { ...parseRevisions(repo, ['main']), shallow: repo.objects.shallow, hashAlgorithm: repo.hashAlgorithm }, true, SECRET, LIMITS);

  it('answers as a run without memo, says why, and gives no byte it did not check', async () => {
    const cold = await run(() => undefined);
    expect(cold).toHaveLength(COMMITS);
    await run(walkMemo);
    const [name] = readdirSync(cache).filter((file) => file.endsWith('.memo'));
    let reader: WalkMemo | undefined;
    const changed = await run((repo) => {
      reader = walkMemo(repo);
      return {
        recall() {
          const range = reader!.recall();
          // Checked; now rewritten in place, same length and well-formed: a subject half-way in.
          const text = readFileSync(join(cache, name!), 'latin1');
          const at = text.indexOf('\tcommit 150\n');
          expect(at).toBeGreaterThan(text.length / 3);
          writeFileSync(join(cache, name!), `${text.slice(0, at)}\tforged 150\n${text.slice(at + 12)}`, 'latin1');
          return range;
        },
        record: (result) => reader!.record(result),
        complete: () => reader!.complete(),
        abandon: () => reader!.abandon(),
      };
    });
    expect(reader!.reused).toEqual({ from: 'range' });
    expect(reader!.ignoredReason).toMatch(/changed while it was read; ignored, walking again$/);
    expect(changed.join('\n')).not.toContain('forged');
    expect(changed).toEqual(cold);
  });

  it('an authentic memo whose record names a verdict its table lacks: answers as a run without memo', async () => {
    // Written with the secret (a writer bug, or whoever holds it): `r` restarts the numbering, so
    // the records after it name verdict 0 of an empty table. Before, the run failed half-way.
    const cold = await run(() => undefined);
    await run(walkMemo);
    const [name] = readdirSync(cache).filter((file) => file.endsWith('.memo'));
    const text = readFileSync(join(cache, name!), 'utf8');
    const headerEnd = text.indexOf('\n') + 1;
    const body = text.slice(headerEnd).replace(/\n(c\t[0-9a-f]{40}\t0\t[^\n]*\tcommit 150\n)/, '\nr\n$1');
    expect(body.length).toBe(text.length - headerEnd + 2);
    const key = text.split(' ')[2]!;
    const tag = createHmac('sha256', SECRET).update('signet-walk-memo').update('\0').update(key).update('\0').update(body).digest('hex');
    writeFileSync(join(cache, name!), `signet-walk-memo 2 ${key} ${tag}\n${body}`);
    let reader: WalkMemo | undefined;
    const answered = await run((repo) => (reader = walkMemo(repo)));
    expect(reader!.reused).toEqual({ from: 'range' });
    expect(reader!.ignoredReason).toMatch(/names a verdict the memo does not hold; ignored, walking again$/);
    expect(answered).toEqual(cold);
  });

  it("a moved tip: the new commits, the earlier memo's replay up to the change, then the walk, answer as a run without memo", async () => {
    await run(walkMemo);
    const earlier = readdirSync(cache).filter((file) => file.endsWith('.memo'));
    const tree = git(dir.path, ['write-tree']).trim();
    const tip = git(dir.path, ['rev-parse', 'main']).trim();
    git(dir.path, ['update-ref', 'refs/heads/main', commitTree(dir.path, tree, [tip], 'one more', 1_800_000_000).trim()]);
    const cold = await run(() => undefined);
    let reader: WalkMemo | undefined;
    const changed = await run((repo) => {
      reader = walkMemo(repo);
      return {
        recall: () => reader!.recall(),
        recallMoved(walkNew) {
          const moved = reader!.recallMoved(walkNew);
          for (const name of earlier) {
            const text = readFileSync(join(cache, name), 'latin1');
            const at = text.indexOf('\tcommit 150\n');
            writeFileSync(join(cache, name), `${text.slice(0, at)}\tforged 150\n${text.slice(at + 12)}`, 'latin1');
          }
          return moved;
        },
        record: (result) => reader!.record(result),
        complete: () => reader!.complete(),
        abandon: () => reader!.abandon(),
      };
    });
    expect(reader!.reused).toEqual({ from: 'earlier', newCommits: 1, earlierCommits: COMMITS });
    expect(reader!.ignoredReason).toMatch(/changed while it was read; ignored, walking again$/);
    expect(changed.join('\n')).not.toContain('forged');
    expect(changed).toEqual(cold);
    // The new memo, which would have copied the earlier one, is not kept.
    expect(readdirSync(cache).filter((file) => file.endsWith('.memo'))).toEqual(earlier);
  });
});
