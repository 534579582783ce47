import { SignetError } from '../core/errors.ts';
import { readCommitLinks } from '../core/git/signed-object.ts';
import type { ObjectStore } from './object-store.ts';
import { LimitedWalk } from './limited-walk.ts';
import { SeenCommits } from './seen-commits.ts';

const SEEN = 1;
/** One of an earlier walk's tips (walkToEarlierTips). */
const EARLIER_TIP = 8;

/** The parent links of a commit the walk has passed and no longer needs. */
const PASSED: WalkNode[] = [];
/**
 * What the streaming walk knows of a commit it has passed: only that it was
 * seen. One shared node: nothing changes a seen commit's flags or links in such a walk.
 */
const PASSED_NODE: WalkNode = { oid: '', time: 0, parents: PASSED, flags: SEEN, sequence: 0 };

interface WalkNode {
  oid: string;
  time: number;
  parents: WalkNode[] | undefined;
  flags: number;
  sequence: number;
}

/**
 * The commits reachable from `include` and not from `exclude`, newest first, the way
 * `git rev-list` finds them (src/git/limited-walk.ts), as one array: for ranges known to be small
 * (a push's new commits, a report). A long range is walked a step at a time instead.
 */
export function listCommits(store: ObjectStore, include: string[], exclude: string[], parsed: string[] = []): string[] {
  const walk = new LimitedWalk(store, include, exclude, { parsed });
  while (!walk.finished) walk.next(Number.POSITIVE_INFINITY);
  return walk.result();
}

/**
 * The commits reachable from `include` (no exclusions: those take LimitedWalk), newest first, as
 * `git rev-list` lists them, a step at a time, so that a caller can start work on the commits
 * found while the walk goes on. Every commit it hands out is final, and once passed it is kept
 * only as "seen" (SeenCommits: a bit or a few bytes): nothing walks back through it again.
 */
export class RevisionWalk {
  /** The commits not yet passed. */
  private readonly nodes = new Map<string, WalkNode>();
  /** The commits passed (dropped from `nodes`). */
  private readonly passed: SeenCommits;
  private readonly queue = new CommitQueue();
  private sequence = 0;

  constructor(
    private readonly store: ObjectStore,
    include: string[],
    options: { parsed?: string[]; seenWholeIds?: number } = {},
  ) {
    this.passed = new SeenCommits(store, options.seenWholeIds);
    // git has read every tip (and the commits its revision syntax stepped through) before the walk starts.
    for (const oid of options.parsed ?? []) this.parse(this.node(oid));
    for (const oid of include) this.parse(this.node(oid));
    for (const oid of include) {
      const commit = this.node(oid);
      if (!(commit.flags & SEEN)) {
        commit.flags |= SEEN;
        this.enqueue(commit);
      }
    }
  }

  get finished(): boolean {
    return this.queue.size === 0;
  }

  /** Walks until `limit` more commits are found (or the walk ends); returns their ids. */
  next(limit: number): string[] {
    const found: string[] = [];
    const queue = this.queue;
    while (found.length < limit && !this.finished) {
      const commit = queue.pop()!;
      const parents = this.parse(commit);
      for (let index = 0; index < parents.length; index++) {
        const parent = parents[index]!;
        if (!(parent.flags & SEEN)) {
          parent.flags |= SEEN;
          this.enqueue(parent);
        }
      }
      // Its parents are queued or seen: nothing walks back through it again, and all a later
      // child needs to know is that it was seen.
      commit.parents = PASSED;
      this.nodes.delete(commit.oid);
      this.passed.add(commit.oid);
      found.push(commit.oid);
    }
    return found;
  }

  private node(oid: string): WalkNode {
    let found = this.nodes.get(oid);
    if (!found) {
      if (this.passed.has(oid)) return PASSED_NODE;
      found = { oid, time: 0, parents: undefined, flags: 0, sequence: 0 };
      this.nodes.set(oid, found);
    }
    return found;
  }

  private parse(commit: WalkNode): WalkNode[] {
    if (!commit.parents) {
      const object = this.store.read(commit.oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${commit.oid} is a ${object.type}, not a commit`);
      const links = readCommitLinks(object.data, `commit ${commit.oid}`);
      commit.time = links.time;
      // A shallow boundary commit has no parents for git, whether or not they are present.
      commit.parents = this.store.shallow.size > 0 && this.store.shallow.has(commit.oid) ? [] : links.parents.map((oid) => this.node(oid));
    }
    return commit.parents;
  }

  private enqueue(commit: WalkNode): void {
    this.parse(commit);
    commit.sequence = this.sequence++;
    this.queue.push(commit);
  }
}

/**
 * The start of a walk from `include` (no exclusions) up to the first moment its queue holds
 * exactly `earlier`'s commits, in an order that ties break as a walk from `earlier` would begin:
 * the commits found before that moment, or undefined when there is no such moment within `limit`
 * commits (or it is doubtful).
 *
 * Why (a moved tip, src/store/walk-memo.ts): git's walk without exclusions is a queue in
 * committer-date order, equal dates in insertion order, and a commit is queued once. If, at some
 * moment, the queue is exactly the earlier walk's tips, equal dates in the earlier walk's order,
 * and no commit found so far belongs to the earlier range, then every commit the rest of the walk
 * meets is in the earlier range, seen here exactly when it was seen there, and queued in the same
 * order: the rest of the walk is the earlier walk, commit for commit. This function checks all of
 * that but the last condition, which needs the earlier range (the memo's records: its caller).
 *
 * Giving up is always safe (the caller walks the whole range): it does so at `limit`, when an
 * earlier tip is found (it is in the earlier range), and, to bound the cost of a rewritten
 * history or of another branch's memo, when a commit older than an earlier tip not yet queued is found.
 */
export function walkToEarlierTips(store: ObjectStore, include: string[], earlier: string[], limit: number): string[] | undefined {
  try {
    return walkToTips(store, include, earlier, limit);
  } catch (error) {
    // An earlier tip gone (a deleted branch, collected) or any object that does not read: no
    // shortcut. The whole walk that follows meets whatever of it is in the range, and says so.
    if (error instanceof SignetError && OBJECT_ERRORS.has(error.code)) return undefined;
    throw error;
  }
}

const OBJECT_ERRORS = new Set<string>(['OBJECT_MISSING', 'OBJECT_CORRUPT', 'OBJECT_MALFORMED']);

function walkToTips(store: ObjectStore, include: string[], earlier: string[], limit: number): string[] | undefined {
  const nodes = new Map<string, WalkNode>();
  const node = (oid: string): WalkNode => {
    let found = nodes.get(oid);
    if (!found) {
      found = { oid, time: 0, parents: undefined, flags: 0, sequence: 0 };
      nodes.set(oid, found);
    }
    return found;
  };
  const parse = (commit: WalkNode): WalkNode[] => {
    if (!commit.parents) {
      const object = store.read(commit.oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${commit.oid} is a ${object.type}, not a commit`);
      const links = readCommitLinks(object.data, `commit ${commit.oid}`);
      commit.time = links.time;
      commit.parents = store.shallow.size > 0 && store.shallow.has(commit.oid) ? [] : links.parents.map(node);
    }
    return commit.parents;
  };
  // The earlier walk's queue at its start: its tips, each once, in the order given.
  const tips: WalkNode[] = [];
  for (const oid of earlier) {
    const tip = node(oid);
    if (tip.flags & EARLIER_TIP) continue;
    tip.flags |= EARLIER_TIP;
    parse(tip);
    tips.push(tip);
  }
  if (tips.length === 0) return undefined;
  // The earlier tips newest first: the newest one not yet queued is the first not SEEN.
  const byDate = [...tips].sort((a, b) => b.time - a.time);
  let unqueued = 0;
  const queue = new CommitQueue();
  let sequence = 0;
  let tipsQueued = 0;
  const enqueue = (commit: WalkNode): void => {
    if (commit.flags & SEEN) return;
    commit.flags |= SEEN;
    parse(commit);
    commit.sequence = sequence++;
    queue.push(commit);
    if (commit.flags & EARLIER_TIP) tipsQueued++;
  };
  for (const oid of include) enqueue(node(oid));
  const found: string[] = [];
  for (;;) {
    if (tipsQueued === tips.length && queue.size === tips.length) return sameTieOrder(queue.contents(), tips) ? found : undefined;
    if (found.length >= limit) return undefined;
    const commit = queue.pop();
    if (!commit || commit.flags & EARLIER_TIP) return undefined;
    // Older than an earlier tip not yet reached: only a commit dated before its parent (clock
    // skew) could still reach it. Given up on, that bounds the walk of a rewritten history or of
    // another branch's memo to a few commits instead of `limit`.
    while (unqueued < byDate.length && byDate[unqueued]!.flags & SEEN) unqueued++;
    if (unqueued < byDate.length && commit.time < byDate[unqueued]!.time) return undefined;
    found.push(commit.oid);
    for (const parent of parse(commit)) enqueue(parent);
  }
}

/**
 * Whether the queued commits come out in the order the earlier tips would: by date, and equal
 * dates as the earlier walk queued them (later commits are queued after all of them in both walks).
 */
function sameTieOrder(queued: readonly WalkNode[], tips: WalkNode[]): boolean {
  const ours = [...queued].sort((a, b) => (before(a, b) ? -1 : 1));
  const theirs = tips.map((tip, index) => ({ tip, index })).sort((a, b) => b.tip.time - a.tip.time || a.index - b.index);
  return ours.every((commit, index) => commit === theirs[index]!.tip);
}

/** A binary max-heap on committer time; equal times come out in insertion order, as in git. */
class CommitQueue {
  private readonly heap: WalkNode[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): WalkNode | undefined {
    return this.heap[0];
  }

  /** The commits queued, in no particular order. */
  contents(): readonly WalkNode[] {
    return this.heap;
  }

  push(commit: WalkNode): void {
    const heap = this.heap;
    heap.push(commit);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  pop(): WalkNode | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let best = index;
        if (left < heap.length && before(heap[left]!, heap[best]!)) best = left;
        if (right < heap.length && before(heap[right]!, heap[best]!)) best = right;
        if (best === index) break;
        [heap[index], heap[best]] = [heap[best]!, heap[index]!];
        index = best;
      }
    }
    return top;
  }
}

function before(a: WalkNode, b: WalkNode): boolean {
  return a.time !== b.time ? a.time > b.time : a.sequence < b.sequence;
}
