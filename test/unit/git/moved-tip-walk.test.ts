/**
 * A moved tip (src/store/walk-memo.ts recallMoved, src/git/rev-walk.ts walkToEarlierTips): the
 * new commits are walked until the queue holds exactly an earlier walk's tips, and the earlier
 * walk's memo is replayed for the rest. On random clock-skewed histories with random new commits
 * (merges of old side branches, equal dates, dates older than the range, several tips), the
 * answer must be `git rev-list` of the new tips, commit for commit, whenever the shortcut is
 * taken, and the verdicts those of a run without any memo.
 */
import fc from 'fast-check';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommitResult } from '../../../src/core/verify-object.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { walkToEarlierTips } from '../../../src/git/rev-walk.ts';
import { verifyCommitBatches } from '../../../src/git/verify-range.ts';
import { buildRegistries } from '../../../src/keys/load-registries.ts';
import type { KeyRegistries } from '../../../src/core/verify-object.ts';
import { WalkMemo } from '../../../src/store/walk-memo.ts';
import { commitTree, git, tempDir } from '../../helpers/git.ts';
import { buildHistory } from '../../helpers/random-history.ts';

const SECRET = Buffer.from('moved-tip-test-secret-of-32-bytes-or-more');
const VERDICT_KEY = 'd'.repeat(64);
const NOW = new Date('2030-01-01T00:00:00Z');

/** How the new commits of one case are made, drawn by fast-check. */
interface Growth {
  /** Indices into the history: the earlier walk's tips. */
  tips: number[];
  /** The tips after the first are its neighbours (in a history of equal dates, often the same date). */
  nearby: boolean;
  /** Which of them moves (modulo their count). */
  moved: number;
  /** Keep the moved tip's old commit as a tip too (a new branch made on top of it). */
  keepOld: boolean;
  commits: Array<{
    /** Extra parents: an earlier tip, a commit made before in this case, or any commit of the history. */
    parents: Array<{ kind: 'tip' | 'new' | 'old'; index: number }>;
    /** Newer than everything, the date of an earlier tip, or older than some commit of the range (clock skew). */
    date: { kind: 'newer' | 'equal' | 'older'; index: number };
  }>;
}

const growth: fc.Arbitrary<Growth> = fc.record({
  tips: fc.array(fc.integer({ min: 0, max: 199 }), { minLength: 1, maxLength: 3 }),
  nearby: fc.boolean(),
  moved: fc.nat(),
  keepOld: fc.boolean(),
  commits: fc.array(
    fc.record({
      // Mostly none: a merge of an old side branch is the case that must fall back, not the usual one.
      parents: fc.oneof(
        { weight: 3, arbitrary: fc.constant<Growth['commits'][number]['parents']>([]) },
        {
          weight: 2,
          arbitrary: fc.array(fc.record({ kind: fc.constantFrom('tip' as const, 'new' as const, 'old' as const), index: fc.nat({ max: 199 }) }), {
            maxLength: 2,
          }),
        },
      ),
      date: fc.record({ kind: fc.constantFrom('newer' as const, 'newer' as const, 'equal' as const, 'older' as const), index: fc.nat({ max: 199 }) }),
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

describe.each([
  ['clock-skewed', { equalDates: false }, 7],
  ['clock-skewed, runs of equal dates', { equalDates: true }, 11],
])('a moved tip replays the earlier walk only where git would walk it the same (%s history)', (_name, shape, seed) => {
  const dir = tempDir('moved-tip');
  let path: string;
  let commits: string[];
  let tree: string;
  let registries: KeyRegistries;
  let made = 0;
  /** Committer times, read once for the history and noted for each commit made. */
  const times = new Map<string, number>();
  const time = (oid: string): number => times.get(oid)!;
  const revList = (tips: string[]): string[] =>
    git(path, ['rev-list', ...tips])
      .split('\n')
      .filter(Boolean);

  beforeAll(async () => {
    path = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', path]);
    commits = buildHistory(path, seed, 200, shape);
    tree = git(path, ['write-tree']);
    for (const line of git(path, ['log', '--no-walk=unsorted', '--format=%H %ct', ...commits]).split('\n'))
      times.set(line.slice(0, 40), Number(line.slice(41)));
    // The older part packed, the rest loose, as in the rev-walk property tests.
    git(path, ['pack-objects', '--revs', '-q', join(path, '.git', 'objects', 'pack', 'pack')], { input: `${commits[120]!}\n` });
    registries = await buildRegistries({ keyrings: [] });
  });
  afterAll(() => dir.remove());

  /** Makes the case's new commits; the earlier tips and the new ones, in the order given to git. */
  function grow(plan: Growth): { earlier: string[]; now: string[]; at: number } {
    const first = plan.tips[0]!;
    const earlier = plan.tips.map((index, at) => commits[plan.nearby && at > 0 ? Math.min(199, first + (index % 4)) : index]!);
    const moved = plan.moved % earlier.length;
    const made_: string[] = [];
    const newest = Math.max(...commits.slice(-20).map(time), ...earlier.map(time));
    for (const [index, commit] of plan.commits.entries()) {
      // The first parent: the moved tip, or the previous new commit (the new commits are on top of it).
      const parents = [made_.at(-1) ?? earlier[moved]!];
      for (const pick of commit.parents) {
        const parent =
          pick.kind === 'tip'
            ? earlier[pick.index % earlier.length]!
            : pick.kind === 'new'
              ? (made_[pick.index % Math.max(made_.length, 1)] ?? earlier[moved]!)
              : commits[pick.index]!;
        if (!parents.includes(parent)) parents.push(parent);
      }
      const date =
        commit.date.kind === 'newer'
          ? newest + 100 * (index + 1)
          : commit.date.kind === 'equal'
            ? time(earlier[commit.date.index % earlier.length]!)
            : time(commits[commit.date.index]!) - 50;
      made_.push(commitTree(path, tree, parents, `new ${made++}`, date));
      times.set(made_.at(-1)!, date);
    }
    const now = [...earlier];
    const at = plan.keepOld ? now.length : moved;
    now[at] = made_.at(-1)!;
    return { earlier, now, at };
  }

  it('walkToEarlierTips: the new commits, then the earlier walk, is git rev-list (property)', () => {
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(growth, (plan) => {
        runs++;
        const { earlier, now } = grow(plan);
        const repo = openRepository({ path, cwd: path, env: {} });
        try {
          const found = walkToEarlierTips(repo.objects, now, earlier, 1000);
          if (!found) return;
          const earlierRange = revList(earlier);
          // The memo's half of the condition: no new commit in the earlier range.
          if (found.some((oid) => earlierRange.includes(oid))) return;
          taken++;
          expect([...found, ...earlierRange]).toEqual(revList(now));
        } finally {
          repo.objects.close();
        }
      }),
      { numRuns: Number(process.env.REV_RUNS ?? 150) },
    );
    // Not vacuous: a good share of the cases take the shortcut (and the others fall back).
    expect(taken).toBeGreaterThan(runs / 5);
    expect(taken).toBeLessThan(runs);
  });

  /** One `verify` of `tips` through verify-range, with a memo in `cache` or none. */
  async function verify(tips: string[], cache: string | undefined, pieces: boolean): Promise<{ results: Array<Partial<CommitResult>>; memo?: WalkMemo }> {
    const repo = openRepository({ path, cwd: path, env: {} });
    const memo = cache
      ? new WalkMemo(
          cache,
          VERDICT_KEY,
          { include: tips, exclude: [], parsed: [], shallow: repo.objects.shallow, hashAlgorithm: repo.hashAlgorithm },
          true,
          SECRET,
          {
            ...(pieces ? { readBytes: 300, holdBytes: 0 } : {}),
          },
        )
      : undefined;
    const results: CommitResult[] = [];
    try {
      for await (const batch of verifyCommitBatches(repo, { include: tips, exclude: [], tags: [], parsed: [] }, registries, {
        now: NOW,
        inFlight: 4,
        ...(memo ? { memo } : {}),
      })) {
        results.push(...batch);
      }
    } finally {
      repo.objects.close();
    }
    expect(memo?.ignoredReason).toBeUndefined();
    expect(memo?.writeProblem).toBeUndefined();
    // What `signet verify` prints of a commit (a memo keeps no more: not the author or committer).
    const printed = results.map(({ commit, parents, subject, verdict, mergetags }) => ({ commit, parents, subject, verdict, mergetags }));
    return { results: printed, ...(memo ? { memo } : {}) };
  }

  it('verify: a moved tip answers as a run without memo, and its memo answers the next run and the next move (property)', async () => {
    let taken = 0;
    let chained = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(growth, fc.boolean(), async (plan, pieces) => {
        runs++;
        const cache = mkdtempSync(join(dir.path, 'cache-'));
        const { earlier, now, at } = grow(plan);
        await verify(earlier, cache, pieces);
        const moved = await verify(now, cache, pieces);
        const uncached = await verify(now, undefined, pieces);
        expect(moved.results.map((result) => result.commit)).toEqual(revList(now));
        expect(moved.results).toEqual(uncached.results);
        if (moved.memo!.reused?.from !== 'earlier') return;
        taken++;
        // The memo it wrote (the new commits' records, then the earlier memo's copied) answers the same range,
        const again = await verify(now, cache, pieces);
        expect(again.memo!.reused).toEqual({ from: 'range' });
        expect(again.results).toEqual(uncached.results);
        // and the next move on top of it, through two copied segments.
        const nextTime = Math.max(...now.map(time)) + 1000;
        const next = commitTree(path, tree, [now[at]!], `next ${made++}`, nextTime);
        times.set(next, nextTime);
        const after = now.map((tip, index) => (index === at ? next : tip));
        const twice = await verify(after, cache, pieces);
        expect(twice.results.map((result) => result.commit)).toEqual(revList(after));
        expect(twice.results).toEqual((await verify(after, undefined, pieces)).results);
        if (twice.memo!.reused?.from === 'earlier') chained++;
      }),
      { numRuns: Number(process.env.REV_RUNS ?? 80) },
    );
    // Not vacuous, and not flaky: at 40 runs and `runs / 5`, one run in eight took the shortcut
    // only 8 times and failed (session 25); the bounds leave room for chance, not for zero.
    expect(taken).toBeGreaterThan(runs / 10);
    expect(chained).toBeGreaterThan(0);
  });
});

/**
 * The attack cases one at a time, each built so that the shortcut, taken without its defence,
 * gives another answer than git: the run must fall back (or, where git walks the same, reuse),
 * and answer as `git rev-list` and as a run without any memo.
 */
describe('a moved tip: the cases that must not replay the earlier walk', () => {
  const dir = tempDir('moved-tip-cases');
  let path: string;
  let tree: string;
  let registries: KeyRegistries;
  const at = (seconds: number): number => 1_700_000_000 + seconds;
  const commit = (message: string, parents: string[], seconds: number): string => commitTree(path, tree, parents, message, at(seconds));
  const revList = (tips: string[]): string[] =>
    git(path, ['rev-list', ...tips])
      .split('\n')
      .filter(Boolean);
  let caseNumber = 0;

  beforeAll(async () => {
    path = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', path]);
    tree = git(path, ['write-tree']);
    registries = await buildRegistries({ keyrings: [] });
  });
  afterAll(() => dir.remove());

  async function verify(
    tips: string[],
    cache: string | undefined,
    verdictKey = VERDICT_KEY,
  ): Promise<{ commits: string[]; printed: unknown[]; memo?: WalkMemo }> {
    const repo = openRepository({ path, cwd: path, env: {} });
    const memo = cache
      ? new WalkMemo(
          cache,
          verdictKey,
          { include: tips, exclude: [], parsed: [], shallow: repo.objects.shallow, hashAlgorithm: repo.hashAlgorithm },
          true,
          SECRET,
        )
      : undefined;
    const results: CommitResult[] = [];
    try {
      for await (const batch of verifyCommitBatches(repo, { include: tips, exclude: [], tags: [], parsed: [] }, registries, {
        now: NOW,
        ...(memo ? { memo } : {}),
      })) {
        results.push(...batch);
      }
    } finally {
      repo.objects.close();
    }
    return {
      commits: results.map((result) => result.commit),
      printed: results.map(({ commit, parents, subject, verdict }) => ({ commit, parents, subject, verdict })),
      ...(memo ? { memo } : {}),
    };
  }

  /** The earlier tips verified with a memo, then the new ones: what the second run reused, checked against git and an uncached run. */
  async function moveFrom(
    earlier: string[],
    now: string[],
    options: { verdictKeys?: [string, string]; between?: (cache: string) => void } = {},
  ): Promise<WalkMemo> {
    const cache = join(dir.path, `cache-${caseNumber++}`);
    await verify(earlier, cache, options.verdictKeys?.[0]);
    options.between?.(cache);
    const moved = await verify(now, cache, options.verdictKeys?.[1]);
    expect(moved.commits).toEqual(revList(now));
    expect(moved.printed).toEqual((await verify(now, undefined)).printed);
    return moved.memo!;
  }

  it('replays after one new commit on top, and after a merge whose both sides reach the old tip', async () => {
    const base = commit('base', [], 10);
    const tip = commit('tip', [base], 20);
    const one = commit('one', [tip], 30);
    expect((await moveFrom([tip], [one])).reused).toEqual({ from: 'earlier', newCommits: 1, earlierCommits: 2 });
    // The old tip reachable two ways: through the merge's first parent and through `side`.
    const side = commit('side', [tip], 40);
    const merge = commit('merge', [tip, side], 50);
    expect((await moveFrom([tip], [merge])).reused).toEqual({ from: 'earlier', newCommits: 2, earlierCommits: 2 });
  });

  it('walks again when two earlier tips have the same date and the moved one came first (git now takes the other first)', async () => {
    const root = commit('root', [], 10);
    const a = commit('a', [root], 20);
    const b = commit('b', [root], 20);
    const x = commit('x', [a], 30);
    // git rev-list a b lists a first, git rev-list x b lists b before a: the earlier walk's order is not the new one's.
    expect(revList([a, b]).indexOf(a)).toBeLessThan(revList([a, b]).indexOf(b));
    expect(revList([x, b]).indexOf(b)).toBeLessThan(revList([x, b]).indexOf(a));
    expect((await moveFrom([a, b], [x, b])).reused).toBeUndefined();
  });

  it('walks again when a merge brings in an old side branch whose dates interleave with the earlier range', async () => {
    const m1 = commit('m1', [], 10);
    const s1 = commit('s1', [m1], 20);
    const m2 = commit('m2', [m1], 30);
    const s2 = commit('s2', [s1], 40);
    const m3 = commit('m3', [m2], 50);
    const merge = commit('merge side', [m3, s2], 60);
    expect(revList([merge])).toEqual([merge, m3, s2, m2, s1, m1]);
    expect((await moveFrom([m3], [merge])).reused).toBeUndefined();
  });

  it('walks again when a commit found before the earlier tips is itself in the earlier range (clock skew)', async () => {
    // c is an ancestor of the earlier tip a but dated after it: the walk from x meets c before
    // a and b, and then holds exactly {a, b}; replaying would list c twice.
    const root = commit('root', [], 10);
    const b = commit('b', [root], 20);
    const c = commit('c', [b], 100);
    const a = commit('a', [c], 50);
    const x = commit('x', [a, c], 200);
    const repo = openRepository({ path, cwd: path, env: {} });
    try {
      expect(walkToEarlierTips(repo.objects, [x, b], [a, b], 100)).toEqual([x, c]);
    } finally {
      repo.objects.close();
    }
    expect((await moveFrom([a, b], [x, b])).reused).toBeUndefined();
  });

  it('answers as git when the new commit is dated before the earlier range, or the history was rewritten (force-push)', async () => {
    const m1 = commit('f1', [], 10);
    const m2 = commit('f2', [m1], 20);
    const m3 = commit('f3', [m2], 30);
    const other = commit('other', [m1], 25);
    // Dated before the old tip and before a second earlier tip git then takes first.
    const early = commit('early', [m2], 15);
    await moveFrom([m3, other], [m3, early]);
    await moveFrom([m3], [commit('early alone', [m3], 5)]);
    // m3 rewritten: the new tip does not reach the old one.
    const rewritten = commit('f3 rewritten', [m2], 35);
    expect((await moveFrom([m3], [commit('on rewritten', [rewritten], 40)])).reused).toBeUndefined();
  });

  it("gives up after a few commits on another branch's memo or a rewritten history, not after the limit", () => {
    const line = [commit('l0', [], 10)];
    for (let index = 1; index < 200; index++) line.push(commit(`l${index}`, [line.at(-1)!], 10 + index));
    // Another branch's memo: its tip, made after the fork, is newer than most of the line.
    const branch = commit('branch tip', [line[150]!], 180);
    const mainMoved = commit('main moved', [line[199]!], 300);
    const repo = openRepository({ path, cwd: path, env: {} });
    try {
      let reads = 0;
      const counting = new Proxy(repo.objects, {
        get: (target, property, receiver) =>
          property === 'read'
            ? (oid: string) => {
                reads++;
                return target.read(oid);
              }
            : Reflect.get(target, property, receiver),
      });
      // Both memos' tips also name the root (a tag, as --all has): the oldest tip bounds nothing.
      expect(walkToEarlierTips(counting, [mainMoved, line[0]!], [branch, line[0]!], 10_000)).toBeUndefined();
      expect(reads).toBeLessThan(40);
      reads = 0;
      // Rewritten: l199 replaced, the old tip never reached.
      const rewritten = commit('l199 rewritten', [line[198]!], 250);
      expect(walkToEarlierTips(counting, [commit('on it', [rewritten], 310), line[0]!], [line[199]!, line[0]!], 10_000)).toBeUndefined();
      expect(reads).toBeLessThan(10);
    } finally {
      repo.objects.close();
    }
  });

  it('uses no earlier memo made under other keys, and never one whose MAC fails', async () => {
    const base = commit('k base', [], 10);
    const tip = commit('k tip', [base], 20);
    const one = commit('k one', [tip], 30);
    // Another registry, policy or --now: another verdict key.
    expect((await moveFrom([tip], [one], { verdictKeys: ['e'.repeat(64), VERDICT_KEY] })).reused).toBeUndefined();
    // The earlier memo tampered with (a verdict changed, the MAC not redone): said, and not used.
    const tampered = await moveFrom([tip], [one], {
      between: (cache) => {
        const name = readdirSync(cache).find((file) => file.endsWith('.memo'))!;
        const text = readFileSync(join(cache, name), 'utf8');
        writeFileSync(join(cache, name), text.replace('"status":"N"', '"status":"G"'));
      },
    });
    expect(tampered.reused).toBeUndefined();
    expect(tampered.ignoredReason).toMatch(/not written with this machine's cache key, or damaged; ignored, walking again/);
  });

  it('never trusts an earlier memo changed between its check and its replay: the replay stops there (verifyCommitBatches then walks)', async () => {
    const base = commit('w base', [], 10);
    const tip = commit('w tip', [base], 20);
    const one = commit('w one', [tip], 30);
    const cache = join(dir.path, `cache-${caseNumber++}`);
    await verify([tip], cache);
    const earlierName = readdirSync(cache).find((file) => file.endsWith('.memo'))!;
    const repo = openRepository({ path, cwd: path, env: {} });
    try {
      const walk = { include: [one], exclude: [], parsed: [], shallow: repo.objects.shallow, hashAlgorithm: repo.hashAlgorithm };
      const memo = new WalkMemo(cache, VERDICT_KEY, walk, true, SECRET, { readBytes: 64, holdBytes: 0 });
      const moved = memo.recallMoved((earlierTips) => walkToEarlierTips(repo.objects, [one], earlierTips, 100))!;
      expect(moved.found).toEqual([one]);
      // Rewritten after the check, same length and well-formed: a subject changed.
      const text = readFileSync(join(cache, earlierName), 'utf8');
      writeFileSync(join(cache, earlierName), text.replace('\tw base\n', '\tw BASE\n'));
      expect(() => [...moved.earlier]).toThrow(/changed while it was read/);
      memo.abandon();
      expect(readdirSync(cache).filter((file) => file.endsWith('.memo'))).toEqual([earlierName]);
    } finally {
      repo.objects.close();
    }
  });

  it("leaves ranges with exclusions (A..B, the hook's new ^old) to the whole walk", async () => {
    const base = commit('x base', [], 10);
    const tip = commit('x tip', [base], 20);
    const one = commit('x one', [tip], 30);
    const cache = join(dir.path, `cache-${caseNumber++}`);
    const range = async (include: string): Promise<WalkMemo> => {
      const repo = openRepository({ path, cwd: path, env: {} });
      const walk = { include: [include], exclude: [base], parsed: [], shallow: repo.objects.shallow, hashAlgorithm: repo.hashAlgorithm };
      const memo = new WalkMemo(cache, VERDICT_KEY, walk, true, SECRET);
      const seen: string[] = [];
      try {
        for await (const batch of verifyCommitBatches(repo, { ...walk, tags: [] }, registries, { now: NOW, memo }))
          seen.push(...batch.map((result) => result.commit));
      } finally {
        repo.objects.close();
      }
      expect(seen).toEqual(git(path, ['rev-list', include, `^${base}`]).split('\n'));
      return memo;
    };
    await range(tip);
    const moved = await range(one);
    expect(moved.reused).toBeUndefined();
    expect(moved.recallMoved(() => [one])).toBeUndefined();
  });

  it('answers as git for --all-like tip sets: a ref deleted, a ref added inside the earlier range, a tip given twice, a merge reaching the old tip by its second parent, every date equal', async () => {
    // The review of issue 20's moved tip (session 25): each shape either replays or walks again,
    // and moveFrom holds the answer to git rev-list and to a run without memo either way.
    const base = commit('a base', [], 10);
    const middle = commit('a middle', [base], 20);
    const main = commit('a main', [middle], 30);
    const feature = commit('a feature', [base], 25);
    const next = commit('a next', [main], 40);
    // `feature` deleted: its tip is never queued again, so no replay.
    expect((await moveFrom([main, feature], [next])).reused).toBeUndefined();
    // A ref added at a commit of the earlier range: found before the earlier tips are all queued.
    expect((await moveFrom([main], [next, middle])).reused).toBeUndefined();
    // The same tip twice (two refs at one commit), earlier and now.
    expect((await moveFrom([main, main], [next, next])).reused).toEqual({ from: 'earlier', newCommits: 1, earlierCommits: 3 });
    // An unrelated line merged in, the earlier tip its second parent, dated between the line's commits.
    const other = commit('a other', [], 35);
    const merge = commit('a merge', [other, main], 50);
    expect((await moveFrom([main], [merge])).reused).toEqual({ from: 'earlier', newCommits: 2, earlierCommits: 3 });
    // Every date equal: insertion order alone decides, and must be the earlier walk's.
    const flat = [commit('e root', [], 60)];
    for (const name of ['e1', 'e2', 'e3']) flat.push(commit(name, [flat.at(-1)!], 60));
    const sideline = commit('e side', [flat[1]!], 60);
    const flatMerge = commit('e merge', [flat.at(-1)!, sideline], 60);
    await moveFrom([flat.at(-1)!], [flatMerge]);
    await moveFrom([flat.at(-1)!, sideline], [flatMerge]);
    await moveFrom([sideline, flat.at(-1)!], [flatMerge]);
  });

  it('uses no earlier memo made before the shallow boundary changed', async () => {
    const base = commit('s base', [], 10);
    const middle = commit('s middle', [base], 20);
    const tip = commit('s tip', [middle], 30);
    const one = commit('s one', [tip], 40);
    const shallow = join(path, '.git', 'shallow');
    try {
      const memo = await moveFrom([tip], [one], { between: () => writeFileSync(shallow, `${middle}\n`) });
      expect(memo.reused).toBeUndefined();
      expect(revList([one])).toEqual([one, tip, middle]);
    } finally {
      rmSync(shallow, { force: true });
    }
  });
});
