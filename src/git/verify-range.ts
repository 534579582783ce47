import { SignetError } from '../core/errors.ts';
import { runOnThreadPool } from '../core/native-verify.ts';
import { verifyCommitObject, verifyTagObject, type CommitResult, type KeyRegistries, type TagResult, type VerifyObjectOptions } from '../core/verify-object.ts';
import type { Repository } from './repository.ts';
import { LimitedWalk } from './limited-walk.ts';
import { RevisionWalk, walkToEarlierTips } from './rev-walk.ts';
import type { RevisionSet, TagReference } from './revisions.ts';

export interface VerifyRangeOptions {
  now: Date;
  sshVerifyTime?: Date;
  /** Called every few hundred commits: (done, total), total undefined while the walk goes on. */
  onProgress?: (done: number, total: number | undefined) => void;
  /**
   * Commits in flight at once. Their signature checks run on libuv's thread pool while this
   * thread parses the next commits, so the range is verified on every core. 1: one commit at
   * a time, checked on this thread (no thread pool). Default 256.
   */
  inFlight?: number;
  /** Verdicts of earlier runs under the same keys (src/store/verdict-cache.ts): a hit is not verified again. */
  cache?: CommitVerdictCache;
  /** The whole range's results from an earlier run (src/store/walk-memo.ts): recalled instead of walked, or recorded. */
  memo?: RangeMemo;
}

/** A range's commits in git's order: a result that still holds, or the id of a commit to verify again. */
export interface RecalledRange extends Iterable<CommitResult | string> {
  length: number;
}

/** What the range asks of a memo of whole ranges: recall one, or record this one as it is yielded. */
export interface RangeMemo {
  recall(): RecalledRange | undefined;
  /**
   * For a range without exclusions that finds no memo of its own: an earlier range its walk
   * reaches (`walkNew` walks the new commits to the earlier range's tips), as the new commits
   * (to verify and record) and the earlier range (replayed; it records itself).
   */
  recallMoved?(walkNew: (earlierTips: string[]) => string[] | undefined): { found: string[]; earlier: RecalledRange } | undefined;
  record(result: CommitResult): void;
  /** Every result was recorded: the memo may be kept. */
  complete(): void;
  /** The range was not yielded whole (an error, or the caller stopped): nothing is kept. */
  abandon(): void;
}

/**
 * A recalled range that cannot go on (its file changed in place while it was replayed, or a
 * record no longer holds): what it gave so far was checked, the rest is walked again
 * (verifyCommitBatches). A cache problem, never a verdict, nor a reason to fail the run.
 */
export class RecalledRangeUnusable extends SignetError {
  constructor(readonly reason: string) {
    super('STORE_UNAVAILABLE', `walk memo: ${reason}`);
  }
}

/** What the walk asks of a verdict cache; the cache decides what it keeps. */
export interface CommitVerdictCache {
  get(oid: string): CommitResult | undefined;
  put(result: CommitResult): void;
}

const DEFAULT_IN_FLIGHT = 256;
/**
 * Refill the window a run of this many commits at a time: a run walked and parsed between
 * waits costs fewer trips through the event loop than one commit per result, and the rest of
 * the window keeps the thread pool busy meanwhile.
 */
const REFILL = 64;
const PROGRESS_EVERY = 256;
/**
 * With exclusions, commits found are verified while the walk decides, up to this many: ~70 ms of
 * checks on two cores, more than the walk of a few thousand commits takes. 4,096 held their
 * results through a long walk for nothing (4 MiB of a million-commit `main ^root`).
 */
const SPECULATION_LIMIT = 1024;
/**
 * The store's budget while streaming a range: the commits in flight (256 + a refill of 64, each
 * ~1.3 KiB with its overhead in the benchmarks), two to three times over. Whatever it holds
 * outlives the young generation's collections and is promoted, to be freed only by a full
 * collection, with the pool slabs its buffers share: at 4 MiB, 100,000 commits peaked at
 * 132–137 MiB from the single executable; at 1 MiB, 119 MiB, at the same CPU time (load 3.5).
 * A commit read again after it was evicted is inflated and hashed twice, nothing else.
 */
const STREAMING_RECENT_BYTES = 1024 * 1024;
/**
 * A moved tip's new commits walked before giving up on an earlier memo: beyond this the whole
 * range is walked (the cost of a failed attempt stays a small part of that walk).
 */
const MOVED_TIP_LIMIT = 16_384;
/**
 * Fewer new commits than this are verified without the per-commit verdict cache: loading its
 * file (up to 4 MiB) and writing it again with their verdicts cost more than verifying them, and
 * the new memo keeps their verdicts anyway.
 */
const MOVED_TIP_CACHE_FROM = 256;

export async function verifyTags(
  repo: Repository,
  tags: TagReference[],
  registries: KeyRegistries,
  options: VerifyRangeOptions,
): Promise<Array<TagResult & { ref?: string }>> {
  const results: Array<TagResult & { ref?: string }> = [];
  for (const tag of tags) {
    const object = repo.objects.read(tag.oid);
    const result = await verifyTagObject(tag.oid, object.data, registries, objectOptions(repo, options));
    results.push(tag.ref ? { ...result, ref: tag.ref } : result);
  }
  return results;
}

/**
 * Verifies every commit of a revision set, newest first, yielding results as it goes so a
 * 100,000-commit range never holds more than the walk's id list and the commits in flight.
 * Verification starts while the walk goes on: the walk reads each commit once (the store
 * keeps it for the verifier) and the signature checks run on the thread pool meanwhile.
 */
export async function* verifyCommits(
  repo: Repository,
  revisions: RevisionSet,
  registries: KeyRegistries,
  options: VerifyRangeOptions,
): AsyncGenerator<CommitResult> {
  for await (const batch of verifyCommitBatches(repo, revisions, registries, options)) yield* batch;
}

/**
 * verifyCommits, in runs of results ready at once: a range answered from a walk memo comes in
 * runs of up to BATCH, and a trip through an async generator per commit was a fifth of such a
 * replay's time. Results of a walk come one at a time, as they are verified.
 */
export async function* verifyCommitBatches(
  repo: Repository,
  revisions: RevisionSet,
  registries: KeyRegistries,
  options: VerifyRangeOptions,
): AsyncGenerator<CommitResult[]> {
  let given = 0;
  try {
    for await (const batch of recalledOrWalked(repo, revisions, registries, options)) {
      given += batch.length;
      yield batch;
    }
  } catch (error) {
    if (!(error instanceof RecalledRangeUnusable)) throw error;
    // A memo that cannot go on (a cache problem, never a verdict): the commits given so
    // far were checked and are git's first ones; the whole walk's answer after them follows.
    let skip = given;
    for await (const result of walkAndVerify(repo, revisions, registries, options)) {
      if (skip > 0) skip--;
      else yield [result];
    }
  }
}

async function* recalledOrWalked(
  repo: Repository,
  revisions: RevisionSet,
  registries: KeyRegistries,
  options: VerifyRangeOptions,
): AsyncGenerator<CommitResult[]> {
  const memo = options.memo;
  const recalled = memo?.recall();
  if (recalled) {
    yield* verifyRecalled(repo, recalled, registries, options);
    return;
  }
  // A moved tip: the new commits walked and verified, then an earlier range replayed.
  const moved =
    revisions.exclude.length === 0
      ? memo?.recallMoved?.((earlierTips) => walkToEarlierTips(repo.objects, revisions.include, earlierTips, MOVED_TIP_LIMIT))
      : undefined;
  let complete = false;
  try {
    if (moved) {
      const total = moved.found.length + moved.earlier.length;
      const { cache, ...withoutCache } = options;
      const listed = moved.found.length >= MOVED_TIP_CACHE_FROM && cache ? { ...withoutCache, cache } : withoutCache;
      for await (const result of verifyListed(repo, moved.found, registries, listed, total)) {
        memo!.record(result);
        yield [result];
      }
      yield* verifyRecalled(repo, moved.earlier, registries, options, moved.found.length);
    } else {
      for await (const result of walkAndVerify(repo, revisions, registries, options)) {
        memo?.record(result);
        yield [result];
      }
    }
    complete = true;
    memo?.complete();
  } finally {
    if (!complete) memo?.abandon();
  }
}

const BATCH = 1024;

/**
 * A memoised range: its order as recorded, each verdict reused where it still holds and the
 * others (judged at the clock) verified again, a window at a time as the walk would.
 */
async function* verifyRecalled(
  repo: Repository,
  recalled: RecalledRange,
  registries: KeyRegistries,
  options: VerifyRangeOptions,
  /** Commits of the range yielded before these (a moved tip's new ones): for progress. */
  before = 0,
): AsyncGenerator<CommitResult[]> {
  // Each commit verified again is read once: the store need remember only a window's worth, as in
  // a walk (its default budget, 64 MiB, was most of a 100,000-commit replay's 270 MiB peak at the clock).
  repo.objects.limitRecent(Math.max(STREAMING_RECENT_BYTES, Math.max(1, options.inFlight ?? DEFAULT_IN_FLIGHT) * 8192));
  try {
    yield* replayRecalled(repo, recalled, registries, options, before);
  } finally {
    repo.objects.limitRecent(undefined);
  }
}

async function* replayRecalled(
  repo: Repository,
  recalled: RecalledRange,
  registries: KeyRegistries,
  options: VerifyRangeOptions,
  before: number,
): AsyncGenerator<CommitResult[]> {
  const inFlight = Math.max(1, options.inFlight ?? DEFAULT_IN_FLIGHT);
  const verifyOptions: VerifyObjectOptions = { ...objectOptions(repo, options), ...(inFlight > 1 ? { runner: runOnThreadPool } : {}) };
  const total = before + recalled.length;
  const entries = recalled[Symbol.iterator]();
  let exhausted = false;
  let done = before;
  const started: Array<CommitResult | Promise<CommitResult>> = [];
  let batch: CommitResult[] = [];
  while (!exhausted || started.length > 0) {
    while (!exhausted && started.length < inFlight) {
      const entry = entries.next();
      if (entry.done) {
        exhausted = true;
        break;
      }
      if (typeof entry.value !== 'string') {
        started.push(entry.value);
        continue;
      }
      const oid = entry.value;
      const object = repo.objects.read(oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
      let result = verifyCommitObject(oid, object.data, registries, verifyOptions);
      if (repo.objects.shallow.has(oid)) result = result.then((verified) => ({ ...verified, parents: [] }));
      result.catch(() => undefined);
      started.push(result);
    }
    if (started.length === 0) break;
    const head = started.shift()!;
    if (head instanceof Promise) {
      // What is ready goes out before waiting on a check.
      if (batch.length > 0) yield batch;
      batch = [await head];
    } else {
      batch.push(head);
    }
    done++;
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
    if (done % PROGRESS_EVERY === 0 || done === total) options.onProgress?.(done, total);
  }
  if (batch.length > 0) yield batch;
}

/** Commits already in git's order (a moved tip's new ones), verified a window at a time. */
async function* verifyListed(
  repo: Repository,
  oids: string[],
  registries: KeyRegistries,
  options: VerifyRangeOptions,
  total: number,
): AsyncGenerator<CommitResult> {
  const inFlight = Math.max(1, options.inFlight ?? DEFAULT_IN_FLIGHT);
  const start = commitStarter(repo, registries, options, inFlight);
  const started: Array<Promise<CommitResult>> = [];
  let next = 0;
  for (let done = 1; done <= oids.length; done++) {
    while (next < oids.length && started.length < inFlight) started.push(start(oids[next++]!));
    yield await started.shift()!;
    if (done % PROGRESS_EVERY === 0) options.onProgress?.(done, total);
  }
}

/** Starts one commit's verification: from the verdict cache when it holds it, kept there once verified. */
function commitStarter(repo: Repository, registries: KeyRegistries, options: VerifyRangeOptions, inFlight: number): (oid: string) => Promise<CommitResult> {
  const verifyOptions: VerifyObjectOptions = { ...objectOptions(repo, options), ...(inFlight > 1 ? { runner: runOnThreadPool } : {}) };
  const cache = options.cache;
  return (oid: string): Promise<CommitResult> => {
    const cached = cache?.get(oid);
    if (cached) return Promise.resolve(repo.objects.shallow.has(oid) ? { ...cached, parents: [] } : cached);
    const object = repo.objects.read(oid);
    if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
    let result = verifyCommitObject(oid, object.data, registries, verifyOptions);
    // Kept as verified, before the shallow cut below: whether a commit is a boundary is the clone's, not the commit's.
    if (cache) result = result.then((verified) => (cache.put(verified), verified));
    // A shallow boundary commit is listed as git lists it: without parents.
    if (repo.objects.shallow.has(oid)) result = result.then((verified) => ({ ...verified, parents: [] }));
    // Awaited in order later; until then a failure must not count as unhandled.
    result.catch(() => undefined);
    return result;
  };
}

async function* walkAndVerify(repo: Repository, revisions: RevisionSet, registries: KeyRegistries, options: VerifyRangeOptions): AsyncGenerator<CommitResult> {
  const inFlight = Math.max(1, options.inFlight ?? DEFAULT_IN_FLIGHT);
  const start = commitStarter(repo, registries, options, inFlight);
  let done = 0;
  const progress = (total: number | undefined): void => {
    if (done % PROGRESS_EVERY === 0 || done === total) options.onProgress?.(done, total);
  };

  if (revisions.exclude.length === 0) {
    // Without exclusions the ids are taken as found: the walk keeps neither them nor passed links.
    const walk = new RevisionWalk(repo.objects, revisions.include, { parsed: revisions.parsed });
    // Every commit found is in the range: verify them in the order found. Each is read again
    // a window after the walk read it, so the store need remember only a window's worth.
    repo.objects.limitRecent(Math.max(STREAMING_RECENT_BYTES, inFlight * 4096));
    try {
      const started: Array<Promise<CommitResult>> = [];
      const refillAt = inFlight - Math.min(REFILL, Math.ceil(inFlight / 2));
      while (!walk.finished || started.length > 0) {
        if (!walk.finished && started.length <= refillAt) {
          const found = walk.next(inFlight - started.length);
          for (let index = 0; index < found.length; index++) started.push(start(found[index]!));
          continue;
        }
        yield await started.shift()!;
        done++;
        progress(walk.finished ? done + started.length : undefined);
      }
    } finally {
      repo.objects.limitRecent(undefined);
    }
    return;
  }

  // With exclusions, a commit found may still turn out excluded: start the first ones anyway
  // and keep what the finished walk confirms. The walk reads every commit of the range before
  // the first is verified, and most are read again after: remembering them saves nothing past
  // a window, and the store's default budget (64 MiB) was most of a 100,000-commit `A..B`.
  repo.objects.limitRecent(Math.max(STREAMING_RECENT_BYTES, inFlight * 4096));
  try {
    const walk = new LimitedWalk(repo.objects, revisions.include, revisions.exclude, { parsed: revisions.parsed });
    const speculative = new Map<string, Promise<CommitResult>>();
    while (!walk.finished) {
      const submitted = speculative.size;
      for (const oid of walk.next(inFlight)) if (speculative.size < SPECULATION_LIMIT) speculative.set(oid, start(oid));
      // Let finished checks settle: a pending one holds its commit's buffers, and the walk
      // alone never lets the event loop turn.
      if (speculative.size > submitted) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    // The answer is read from the walk a window at a time: a million ids as strings would be
    // more than the walk itself.
    const total = walk.finalCount;
    const oids = walk.finalIds();
    const started: Array<Promise<CommitResult>> = [];
    while (done < total) {
      while (started.length < inFlight) {
        const next = oids.next();
        if (next.done) break;
        const early = speculative.get(next.value);
        speculative.delete(next.value);
        started.push(early ?? start(next.value));
      }
      yield await started.shift()!;
      done++;
      progress(total);
    }
  } finally {
    repo.objects.limitRecent(undefined);
  }
}

function objectOptions(repo: Repository, options: VerifyRangeOptions): VerifyObjectOptions {
  return { hash: repo.hashAlgorithm, now: options.now, ...(options.sshVerifyTime ? { sshVerifyTime: options.sshVerifyTime } : {}) };
}
