import { SignetError } from '../core/errors.ts';
import { readCommitLinks } from '../core/git/signed-object.ts';
import type { ObjectStore } from './object-store.ts';
import { PARSED, WalkMarks } from './walk-marks.ts';

const SEEN = 1;
const UNINTERESTING = 2;
const QUEUED = 4;
/** git's SLOP: keep walking this many extra commits once everything left looks uninteresting. */
const SLOP = 5;
const FOUND_BITS = 16;

interface CommitLinks {
  time: number;
  parents: string[];
}

/**
 * The commits reachable from `include` and not from `exclude`, newest first, the way
 * `git rev-list` finds them (revision.c limit_list): a walk in committer-date order that marks
 * what the exclusions reach and stops once only uninteresting commits are left (with git's slop
 * against clock skew). A commit found may still turn out reachable from an exclusion, so only
 * `finalIds()` at the end is the answer.
 *
 * Everything the walk meets is kept to its end, as git keeps it, but only as marks
 * (src/git/walk-marks.ts: a byte a pack entry) and the commits found as pack ordinals (4 bytes
 * each): a queued commit's time and parents live in the queue, and when an uninteresting mark
 * travels back through a commit read earlier (git: mark_parents_uninteresting through parsed
 * commits), that commit is read again. Each commit is marked once, so this at most doubles the
 * reads, in the few places where histories meet; `main ^root` over a million commits keeps about
 * 5 MiB. Without exclusions, RevisionWalk (src/git/rev-walk.ts) streams instead.
 */
export class LimitedWalk {
  private readonly marks: WalkMarks;
  private readonly queue: CommitQueue;
  /** Handles of the commits found interesting, in the order found (in chunks: never copied to grow). */
  private readonly found: Int32Array[] = [];
  private readonly foundBits: number;
  private foundCount = 0;
  private sequence = 0;
  private slop = SLOP;
  private lastAddedTime = Number.POSITIVE_INFINITY;
  private stopped = false;
  private readonly read: (oid: string) => CommitLinks;

  constructor(
    store: ObjectStore,
    include: string[],
    exclude: string[],
    options: { parsed?: string[]; /** log2 of the found list's chunk and of the marks' page (small in tests, to cross them often). */ chunkBits?: number } = {},
  ) {
    const marks = (this.marks = new WalkMarks(store, options.chunkBits));
    this.queue = new CommitQueue(marks);
    this.foundBits = options.chunkBits ?? FOUND_BITS;
    this.read = (oid) => {
      const object = store.read(oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
      const links = readCommitLinks(object.data, `commit ${oid}`);
      // A shallow clone's boundary: git walks it as a root.
      if (store.shallow.size > 0 && store.shallow.has(oid)) links.parents = [];
      return links;
    };
    // git has read every tip (and the commits its revision syntax stepped through) before the
    // walk starts, so an exclusion's mark already passes through them (revision.c
    // mark_parents_uninteresting only recurses into parsed commits).
    const tips = new Map<string, CommitLinks>();
    const parseTip = (oid: string): void => {
      const links = this.parse(marks.handleOf(oid), oid);
      if (links) tips.set(oid, links);
    };
    for (const oid of options.parsed ?? []) parseTip(oid);
    for (const oid of include) parseTip(oid);
    for (const oid of exclude) parseTip(oid);
    const linksOf = (oid: string): CommitLinks => tips.get(oid) ?? this.read(oid);
    for (const oid of exclude) {
      const commit = marks.handleOf(oid);
      this.queue.markUninteresting(commit);
      const links = linksOf(oid);
      if (!(marks.flag(commit) & SEEN)) {
        marks.addFlags(commit, SEEN);
        this.queue.push(commit, oid, links, this.sequence++);
      }
      // As revision.c handle_commit does for a negative revision, before the walk starts: its
      // parents are uninteresting from the outset. With clock skew a parent can be newer than
      // the excluded tip and be reached first; found interesting then, it would move the walk's
      // stopping point (a commit git lists went missing; found by the rev-list property test).
      this.markParentsUninteresting(links.parents);
    }
    for (const oid of include) {
      const commit = marks.handleOf(oid);
      if (!(marks.flag(commit) & SEEN)) {
        marks.addFlags(commit, SEEN);
        this.queue.push(commit, oid, linksOf(oid), this.sequence++);
      }
    }
  }

  get finished(): boolean {
    return this.stopped || this.queue.size === 0;
  }

  /** Walks until `limit` more commits are found (or the walk ends); returns their ids. */
  next(limit: number): string[] {
    const found: string[] = [];
    const marks = this.marks;
    const queue = this.queue;
    while (found.length < limit && !this.finished) {
      const { handle: commit, oid, links } = queue.pop();
      const parents = links.parents;
      if (marks.flag(commit) & UNINTERESTING) {
        // As revision.c process_parents: each parent is marked and parsed at once, and the mark
        // reaches its own parents now, not when it is popped (which may never happen).
        for (const parentId of parents) {
          const parent = marks.handleOf(parentId);
          queue.markUninteresting(parent);
          // Read just now, or read before (and possibly passed through already): read again.
          const parentLinks = this.parse(parent, parentId) ?? this.read(parentId);
          this.markParentsUninteresting(parentLinks.parents);
          if (!(marks.flag(parent) & SEEN)) {
            marks.addFlags(parent, SEEN);
            queue.push(parent, parentId, parentLinks, this.sequence++);
          }
        }
        this.markParentsUninteresting(parents);
        this.slop = this.stillInteresting();
        if (this.slop <= 0) this.stopped = true;
        continue;
      }
      for (const parentId of parents) {
        const parent = marks.handleOf(parentId);
        if (!(marks.flag(parent) & SEEN)) {
          marks.addFlags(parent, SEEN);
          queue.push(parent, parentId, this.parse(parent, parentId) ?? this.read(parentId), this.sequence++);
        }
      }
      this.lastAddedTime = links.time;
      const mask = (1 << this.foundBits) - 1;
      if ((this.foundCount & mask) === 0) this.found.push(new Int32Array(mask + 1));
      this.found[this.foundCount >>> this.foundBits]![this.foundCount & mask] = commit;
      this.foundCount++;
      found.push(oid);
    }
    return found;
  }

  /** The answer, once `finished`: the commits found and not excluded, newest first. */
  *finalIds(): Generator<string> {
    if (!this.finished) throw new Error('the walk has not finished');
    const marks = this.marks;
    for (let index = 0; index < this.foundCount; index++) {
      const commit = this.foundAt(index);
      if (!(marks.flag(commit) & UNINTERESTING)) yield marks.idOf(commit);
    }
  }

  /** How many ids finalIds() gives, once `finished`. */
  get finalCount(): number {
    if (!this.finished) throw new Error('the walk has not finished');
    const marks = this.marks;
    let count = 0;
    for (let index = 0; index < this.foundCount; index++) if (!(marks.flag(this.foundAt(index)) & UNINTERESTING)) count++;
    return count;
  }

  /** finalIds() as an array (for ranges known to be small). */
  result(): string[] {
    return [...this.finalIds()];
  }

  private foundAt(index: number): number {
    return this.found[index >>> this.foundBits]![index & ((1 << this.foundBits) - 1)]!;
  }

  /** Reads the commit if the walk has not yet (git's parse_commit): its links, or undefined if read before. */
  private parse(commit: number, oid: string): CommitLinks | undefined {
    if (this.marks.flag(commit) & PARSED) return undefined;
    const links = this.read(oid);
    this.marks.addFlags(commit, PARSED);
    return links;
  }

  /**
   * Marks every already-parsed ancestor reached through `parents` uninteresting (revision.c
   * mark_parents_uninteresting). A parsed commit's parents are read again: the walk keeps only
   * marks, and each commit is marked once, so each is read again at most once.
   */
  private markParentsUninteresting(parents: string[]): void {
    const marks = this.marks;
    const stack: string[] = [];
    for (let index = parents.length - 1; index >= 0; index--) stack.push(parents[index]!);
    while (stack.length > 0) {
      const oid = stack.pop()!;
      const current = marks.handleOf(oid);
      if (marks.flag(current) & UNINTERESTING) continue;
      this.queue.markUninteresting(current);
      if (!(marks.flag(current) & PARSED)) continue;
      const again = this.read(oid).parents;
      for (let index = again.length - 1; index >= 0; index--) stack.push(again[index]!);
    }
  }

  private stillInteresting(): number {
    const queue = this.queue;
    if (queue.size === 0) return 0;
    if (this.lastAddedTime <= queue.peekTime()) return SLOP;
    if (!queue.everyUninteresting()) return SLOP;
    return this.slop - 1;
  }
}

interface QueuedCommit {
  handle: number;
  oid: string;
  links: CommitLinks;
  sequence: number;
}

/**
 * A binary max-heap of queued commits on committer time; equal times come out in the order
 * queued, as in git. It counts the interesting commits it holds, so "is everything left
 * uninteresting?" is O(1) even when a push is checked against thousands of existing refs. Only
 * queued commits keep their id, time and parents: the walk's frontier.
 */
class CommitQueue {
  private readonly heap: QueuedCommit[] = [];
  private interesting = 0;

  constructor(private readonly marks: WalkMarks) {}

  markUninteresting(commit: number): void {
    const marks = this.marks;
    if (marks.flag(commit) & UNINTERESTING) return;
    marks.addFlags(commit, UNINTERESTING);
    if (marks.flag(commit) & QUEUED) this.interesting--;
  }

  get size(): number {
    return this.heap.length;
  }

  peekTime(): number {
    return this.heap[0]!.links.time;
  }

  everyUninteresting(): boolean {
    return this.interesting === 0;
  }

  push(handle: number, oid: string, links: CommitLinks, sequence: number): void {
    const marks = this.marks;
    marks.addFlags(handle, QUEUED);
    if (!(marks.flag(handle) & UNINTERESTING)) this.interesting++;
    const heap = this.heap;
    heap.push({ handle, oid, links, sequence });
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  pop(): QueuedCommit {
    const heap = this.heap;
    const top = heap[0]!;
    const marks = this.marks;
    marks.removeFlags(top.handle, QUEUED);
    if (!(marks.flag(top.handle) & UNINTERESTING)) this.interesting--;
    const last = heap.pop()!;
    if (heap.length > 0) {
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

/** Whether queued commit `a` comes out before `b`: newer first, then first queued. */
function before(a: QueuedCommit, b: QueuedCommit): boolean {
  const timeA = a.links.time;
  const timeB = b.links.time;
  return timeA !== timeB ? timeA > timeB : a.sequence < b.sequence;
}

/**
 * The commits of `include` ^`exclude` (as listCommits), or undefined as soon as the walk has
 * found more than `foundLimit`: whoever pushes or opens a pull request chooses how many commits
 * a range brings, and a check should refuse a million of them before it has walked them all.
 * Commits found can exceed the final answer (one found before an exclusion's mark reaches it),
 * so callers pass a limit above the one they enforce on the answer.
 */
export function listCommitsWithin(store: ObjectStore, include: string[], exclude: string[], foundLimit: number): string[] | undefined {
  const walk = new LimitedWalk(store, include, exclude);
  let found = 0;
  while (!walk.finished) {
    found += walk.next(WALK_STEP).length;
    if (found > foundLimit) return undefined;
  }
  return walk.result();
}

/** Commits a bounded walk finds between two looks at its bound. */
const WALK_STEP = 1024;
