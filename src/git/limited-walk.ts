import { SignetError } from '../core/errors.ts';
import { readCommitLinks } from '../core/git/signed-object.ts';
import type { ObjectStore } from './object-store.ts';
import { PARSED, WalkNodes } from './walk-nodes.ts';

const SEEN = 1;
const UNINTERESTING = 2;
const QUEUED = 4;
/** git's SLOP: keep walking this many extra commits once everything left looks uninteresting. */
const SLOP = 5;
const FOUND_BITS = 16;
const FOUND_MASK = (1 << FOUND_BITS) - 1;

/**
 * The commits reachable from `include` and not from `exclude`, newest first, the way
 * `git rev-list` finds them (revision.c limit_list): a walk in committer-date order that marks
 * what the exclusions reach and stops once only uninteresting commits are left (with git's slop
 * against clock skew). A commit found may still turn out reachable from an exclusion, so only
 * `finalIds()` at the end is the answer.
 *
 * Everything the walk meets is kept to its end, as git keeps it: marks travel back through any
 * commit already read. It is kept compact (src/git/walk-nodes.ts, ~26 bytes a commit with the found
 * commits' handles), so `main ^root` over a million commits fits the memory a
 * verification may use. Without exclusions, RevisionWalk (src/git/rev-walk.ts) streams instead.
 */
export class LimitedWalk {
  private readonly nodes: WalkNodes;
  private readonly queue: HandleQueue;
  /** Handles of the commits found interesting, in the order found (in chunks, like the nodes). */
  private readonly found: Int32Array[] = [];
  private foundCount = 0;
  private sequence = 0;
  private slop = SLOP;
  private lastAddedTime = Number.POSITIVE_INFINITY;
  private stopped = false;
  private readonly read: (oid: string) => { time: number; parents: string[] };

  constructor(store: ObjectStore, include: string[], exclude: string[], options: { parsed?: string[]; chunkBits?: number } = {}) {
    const nodes = (this.nodes = new WalkNodes(store, options.chunkBits));
    this.queue = new HandleQueue(nodes);
    this.read = (oid) => {
      const object = store.read(oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
      return readCommitLinks(object.data, `commit ${oid}`);
    };
    // git has read every tip (and the commits its revision syntax stepped through) before the
    // walk starts, so an exclusion's mark already passes through them (revision.c
    // mark_parents_uninteresting only recurses into parsed commits).
    for (const oid of options.parsed ?? []) this.parse(nodes.handleOf(oid));
    for (const oid of include) this.parse(nodes.handleOf(oid));
    for (const oid of exclude) this.parse(nodes.handleOf(oid));
    for (const oid of exclude) {
      const commit = nodes.handleOf(oid);
      this.queue.markUninteresting(commit);
      if (!(nodes.flag(commit) & SEEN)) {
        nodes.addFlags(commit, SEEN);
        this.enqueue(commit);
      }
      // As revision.c handle_commit does for a negative revision, before the walk starts: its
      // parents are uninteresting from the outset. With clock skew a parent can be newer than
      // the excluded tip and be reached first; found interesting then, it would move the walk's
      // stopping point (a commit git lists went missing; found by the rev-list property test).
      this.markParentsUninteresting(commit);
    }
    for (const oid of include) {
      const commit = nodes.handleOf(oid);
      if (!(nodes.flag(commit) & SEEN)) {
        nodes.addFlags(commit, SEEN);
        this.enqueue(commit);
      }
    }
  }

  get finished(): boolean {
    return this.stopped || this.queue.size === 0;
  }

  /** Walks until `limit` more commits are found (or the walk ends); returns their ids. */
  next(limit: number): string[] {
    const found: string[] = [];
    const nodes = this.nodes;
    const queue = this.queue;
    while (found.length < limit && !this.finished) {
      const commit = queue.pop();
      this.parse(commit);
      const parents = nodes.parentCount(commit);
      if (nodes.flag(commit) & UNINTERESTING) {
        // As revision.c process_parents: each parent is marked and parsed at once, and the mark
        // reaches its own parents now, not when it is popped (which may never happen).
        for (let index = 0; index < parents; index++) {
          const parent = nodes.parentAt(commit, index);
          queue.markUninteresting(parent);
          this.parse(parent);
          this.markParentsUninteresting(parent);
          if (!(nodes.flag(parent) & SEEN)) {
            nodes.addFlags(parent, SEEN);
            this.enqueue(parent);
          }
        }
        this.markParentsUninteresting(commit);
        this.slop = this.stillInteresting();
        if (this.slop <= 0) this.stopped = true;
        continue;
      }
      for (let index = 0; index < parents; index++) {
        const parent = nodes.parentAt(commit, index);
        if (!(nodes.flag(parent) & SEEN)) {
          nodes.addFlags(parent, SEEN);
          this.enqueue(parent);
        }
      }
      this.lastAddedTime = nodes.time(commit);
      if ((this.foundCount & FOUND_MASK) === 0) this.found.push(new Int32Array(FOUND_MASK + 1));
      this.found[this.foundCount >>> FOUND_BITS]![this.foundCount & FOUND_MASK] = commit;
      this.foundCount++;
      found.push(nodes.idOf(commit));
    }
    if (this.finished) nodes.release();
    return found;
  }

  /** The answer, once `finished`: the commits found and not excluded, newest first. */
  *finalIds(): Generator<string> {
    if (!this.finished) throw new Error('the walk has not finished');
    this.nodes.release();
    const nodes = this.nodes;
    for (let index = 0; index < this.foundCount; index++) {
      const commit = this.foundAt(index);
      if (!(nodes.flag(commit) & UNINTERESTING)) yield this.nodes.idOf(commit);
    }
  }

  /** How many ids finalIds() gives, once `finished`. */
  get finalCount(): number {
    if (!this.finished) throw new Error('the walk has not finished');
    this.nodes.release();
    const nodes = this.nodes;
    let count = 0;
    for (let index = 0; index < this.foundCount; index++) if (!(nodes.flag(this.foundAt(index)) & UNINTERESTING)) count++;
    return count;
  }

  /** finalIds() as an array (for ranges known to be small). */
  result(): string[] {
    return [...this.finalIds()];
  }

  private foundAt(index: number): number {
    return this.found[index >>> FOUND_BITS]![index & FOUND_MASK]!;
  }

  private parse(commit: number): void {
    if (!(this.nodes.flag(commit) & PARSED)) this.nodes.parse(commit, this.read);
  }

  private enqueue(commit: number): void {
    this.parse(commit);
    this.queue.push(commit, this.sequence++);
  }

  /** Marks every already-parsed ancestor uninteresting (revision.c mark_parents_uninteresting). */
  private markParentsUninteresting(commit: number): void {
    const nodes = this.nodes;
    if (!(nodes.flag(commit) & PARSED)) return;
    const stack: number[] = [];
    for (let index = nodes.parentCount(commit) - 1; index >= 0; index--) stack.push(nodes.parentAt(commit, index));
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (nodes.flag(current) & UNINTERESTING) continue;
      this.queue.markUninteresting(current);
      if (!(nodes.flag(current) & PARSED)) continue;
      for (let index = nodes.parentCount(current) - 1; index >= 0; index--) stack.push(nodes.parentAt(current, index));
    }
  }

  private stillInteresting(): number {
    const queue = this.queue;
    if (queue.size === 0) return 0;
    if (this.lastAddedTime <= this.nodes.time(queue.peek())) return SLOP;
    if (!queue.everyUninteresting()) return SLOP;
    return this.slop - 1;
  }
}

/**
 * A binary max-heap of handles on committer time; equal times come out in the order queued, as
 * in git. It counts the interesting commits it holds, so "is everything left uninteresting?" is
 * O(1) even when a push is checked against thousands of existing refs.
 */
class HandleQueue {
  private readonly heap: number[] = [];
  /** The order each heap entry was queued in, moved with it. */
  private readonly order: number[] = [];
  private interesting = 0;

  constructor(private readonly nodes: WalkNodes) {}

  markUninteresting(commit: number): void {
    const nodes = this.nodes;
    if (nodes.flag(commit) & UNINTERESTING) return;
    nodes.addFlags(commit, UNINTERESTING);
    if (nodes.flag(commit) & QUEUED) this.interesting--;
  }

  get size(): number {
    return this.heap.length;
  }

  peek(): number {
    return this.heap[0]!;
  }

  everyUninteresting(): boolean {
    return this.interesting === 0;
  }

  push(commit: number, sequence: number): void {
    const nodes = this.nodes;
    nodes.addFlags(commit, QUEUED);
    if (!(nodes.flag(commit) & UNINTERESTING)) this.interesting++;
    const heap = this.heap;
    const order = this.order;
    heap.push(commit);
    order.push(sequence);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(index, parent)) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  pop(): number {
    const heap = this.heap;
    const order = this.order;
    const top = heap[0]!;
    const nodes = this.nodes;
    nodes.removeFlags(top, QUEUED);
    if (!(nodes.flag(top) & UNINTERESTING)) this.interesting--;
    const last = heap.pop()!;
    const lastOrder = order.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      order[0] = lastOrder;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let best = index;
        if (left < heap.length && this.before(left, best)) best = left;
        if (right < heap.length && this.before(right, best)) best = right;
        if (best === index) break;
        this.swap(index, best);
        index = best;
      }
    }
    return top;
  }

  /** Whether heap entry `a` comes out before entry `b`: newer first, then first queued. */
  private before(a: number, b: number): boolean {
    const timeA = this.nodes.time(this.heap[a]!);
    const timeB = this.nodes.time(this.heap[b]!);
    return timeA !== timeB ? timeA > timeB : this.order[a]! < this.order[b]!;
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const order = this.order;
    const commit = heap[a]!;
    heap[a] = heap[b]!;
    heap[b] = commit;
    const sequence = order[a]!;
    order[a] = order[b]!;
    order[b] = sequence;
  }
}
