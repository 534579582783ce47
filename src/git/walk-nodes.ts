import { SignetError } from '../core/errors.ts';
import type { ObjectStore } from './object-store.ts';

/** The walk has read this commit (its time and parents are known). */
export const PARSED = 16;
const NO_PARENT = -1;
/** A time that does not fit the 32-bit column (after 2106, or not a whole number): kept aside. */
const TIME_ASIDE = 0xffffffff;
/** Commits a column chunk holds: 2^16. */
const CHUNK_BITS = 16;
const TABLES = 256;
const FIRST_TABLE_SLOTS = 16;

/**
 * What a limited walk (src/git/limited-walk.ts) knows of each commit it meets, in columns of
 * typed arrays indexed by a small integer (the commit's handle, in the order met): its id as its
 * place among the pack entries (ObjectStore.packOrdinal; loose commits apart, by id), its
 * committer time, its walk flags and its parents. 13 bytes a commit in the columns, 4-8 in the
 * ordinal table (about 26 in all at a million commits, up to ~40 where the power-of-two columns are
 * part empty) where an object, an id string and a parents array cost about 230: a walk with exclusions keeps every commit it meets
 * until it ends (git's limit_list does too), and a million of them must fit in a few tens of MiB.
 *
 * Exact, as the walk's answer depends on it: a handle stands for one id, found again by its whole
 * ordinal (never a hash alone), and the ordinals are checked to still name the same objects (a
 * repack during the walk is an error, as in SeenCommits).
 */
export class WalkNodes {
  // Columns in fixed chunks, never copied to grow: doubling arrays had the old and the new copy
  // alive at once (a million-commit walk's peak: +19 MiB at 524,288 commits).
  private readonly flagChunks: Uint8Array[] = [];
  private readonly ordinalChunks: Int32Array[] = [];
  private timeChunks: Uint32Array[] = [];
  private parentChunks: Int32Array[] = [];
  private readonly chunkBits: number;
  private readonly chunkMask: number;
  private readonly timesAside = new Map<number, number>();
  /** The second and later parents of merges. */
  private readonly moreParents = new Map<number, Int32Array>();
  /** Ids of handles met but not yet read: read once, then only the ordinal is kept. */
  private readonly pendingIds = new Map<number, string>();
  /** Commits no pack holds (loose): their ids, by handle and by id. */
  private readonly looseIds: string[] = [];
  private readonly looseHandles = new Map<string, number>();
  /**
   * Ordinal → handle + 1 (0 = free), open addressing with linear probing, in 256 tables picked by
   * the hash's top byte: each grows on its own, so growing never holds two whole tables at once.
   */
  private tables: Int32Array[] = [];
  private readonly tableCounts = new Int32Array(TABLES);
  private count = 0;
  private released = false;
  private readonly generation: number;

  constructor(
    private readonly store: ObjectStore,
    /** log2 of the commits a chunk holds (small in tests, to cross chunks often). */
    chunkBits = CHUNK_BITS,
  ) {
    this.generation = store.packGeneration;
    this.chunkBits = chunkBits;
    this.chunkMask = (1 << chunkBits) - 1;
    for (let table = 0; table < TABLES; table++) this.tables.push(new Int32Array(FIRST_TABLE_SLOTS));
  }

  get size(): number {
    return this.count;
  }

  flag(handle: number): number {
    return this.flagChunks[handle >>> this.chunkBits]![handle & this.chunkMask]!;
  }

  addFlags(handle: number, flags: number): void {
    this.flagChunks[handle >>> this.chunkBits]![handle & this.chunkMask]! |= flags;
  }

  removeFlags(handle: number, flags: number): void {
    this.flagChunks[handle >>> this.chunkBits]![handle & this.chunkMask]! &= ~flags;
  }

  /** The handle of the commit `oid`, made on first sight. */
  handleOf(oid: string): number {
    if (this.released) throw new Error('the walk has let go of its links');
    const ordinal = this.ordinalOf(oid);
    if (ordinal < 0) {
      const known = this.looseHandles.get(oid);
      if (known !== undefined) return known;
      const handle = this.add(-1 - this.looseIds.length);
      this.looseIds.push(oid);
      this.looseHandles.set(oid, handle);
      return handle;
    }
    const hash = spread(ordinal);
    const which = hash >>> 24;
    const slots = this.tables[which]!;
    const mask = slots.length - 1;
    let slot = hash & mask;
    for (let taken = slots[slot]!; taken !== 0; taken = slots[slot]!) {
      if (this.ordinalAt(taken - 1) === ordinal) return taken - 1;
      slot = (slot + 1) & mask;
    }
    const handle = this.add(ordinal);
    this.pendingIds.set(handle, oid);
    slots[slot] = handle + 1;
    // At most half full: a probe stays short, and growing rehashes in one pass.
    if (++this.tableCounts[which]! * 2 > slots.length) this.growTable(which);
    return handle;
  }

  /** The commit's id (hex). */
  idOf(handle: number): string {
    const ordinal = this.ordinalAt(handle);
    if (ordinal < 0) return this.looseIds[-1 - ordinal]!;
    const pending = this.pendingIds.get(handle);
    if (pending !== undefined) return pending;
    this.checkGeneration();
    return this.store.idAtOrdinal(ordinal);
  }

  /** Reads the commit once: its time and parents (none at a shallow boundary). */
  parse(handle: number, read: (oid: string) => { time: number; parents: string[] }): void {
    if (this.flag(handle) & PARSED) return;
    if (this.released) throw new Error('the walk has let go of its links');
    const oid = this.idOf(handle);
    const links = read(oid);
    this.pendingIds.delete(handle);
    const chunk = handle >>> this.chunkBits;
    const at = handle & this.chunkMask;
    const time = links.time;
    if (Number.isInteger(time) && time >= 0 && time < TIME_ASIDE) this.timeChunks[chunk]![at] = time;
    else {
      this.timeChunks[chunk]![at] = TIME_ASIDE;
      this.timesAside.set(handle, time);
    }
    const parents = this.store.shallow.size > 0 && this.store.shallow.has(oid) ? [] : links.parents;
    const first = parents.length > 0 ? this.handleOf(parents[0]!) : NO_PARENT;
    if (parents.length > 1) {
      const more = new Int32Array(parents.length - 1);
      for (let index = 1; index < parents.length; index++) more[index - 1] = this.handleOf(parents[index]!);
      this.moreParents.set(handle, more);
    }
    this.parentChunks[chunk]![at] = first;
    this.addFlags(handle, PARSED);
  }

  time(handle: number): number {
    const time = this.timeChunks[handle >>> this.chunkBits]![handle & this.chunkMask]!;
    return time === TIME_ASIDE ? this.timesAside.get(handle)! : time;
  }

  /** How many parents a parsed commit has. */
  parentCount(handle: number): number {
    if (this.parentChunks[handle >>> this.chunkBits]![handle & this.chunkMask] === NO_PARENT) return 0;
    const more = this.moreParents.get(handle);
    return more ? more.length + 1 : 1;
  }

  /** Parent `index` (0 = first) of a parsed commit. */
  parentAt(handle: number, index: number): number {
    return index === 0 ? this.parentChunks[handle >>> this.chunkBits]![handle & this.chunkMask]! : this.moreParents.get(handle)![index - 1]!;
  }

  /**
   * Lets go of what only the walk needed (times, parents, the id tables: about two thirds of the
   * bytes), keeping what names the commits found and their flags, for the verification that
   * follows.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.timeChunks = [];
    this.parentChunks = [];
    this.tables = [];
    this.timesAside.clear();
    this.moreParents.clear();
    this.pendingIds.clear();
  }

  private ordinalAt(handle: number): number {
    return this.ordinalChunks[handle >>> this.chunkBits]![handle & this.chunkMask]!;
  }

  private add(ordinal: number): number {
    const handle = this.count++;
    if ((handle & this.chunkMask) === 0) {
      const size = this.chunkMask + 1;
      this.flagChunks.push(new Uint8Array(size));
      this.ordinalChunks.push(new Int32Array(size));
      this.timeChunks.push(new Uint32Array(size));
      this.parentChunks.push(new Int32Array(size));
    }
    const chunk = handle >>> this.chunkBits;
    const at = handle & this.chunkMask;
    this.ordinalChunks[chunk]![at] = ordinal;
    this.parentChunks[chunk]![at] = NO_PARENT;
    return handle;
  }

  private ordinalOf(oid: string): number {
    const ordinal = this.store.packOrdinal(oid);
    this.checkGeneration();
    return ordinal;
  }

  private checkGeneration(): void {
    // The store read its packs again (a repack while the walk ran): the ordinals name other objects now.
    if (this.store.packGeneration !== this.generation) {
      throw new SignetError('REPOSITORY_INVALID', "the repository's packs changed during the walk (a repack?); run again");
    }
  }

  private growTable(which: number): void {
    const old = this.tables[which]!;
    const slots = new Int32Array(old.length * 2);
    const mask = slots.length - 1;
    for (let index = 0; index < old.length; index++) {
      const taken = old[index]!;
      if (taken === 0) continue;
      let slot = spread(this.ordinalAt(taken - 1)) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = taken;
    }
    this.tables[which] = slots;
  }
}

/** Ordinals are dense and often consecutive: a multiplicative hash spreads them over the table. */
function spread(ordinal: number): number {
  return Math.imul(ordinal, 0x9e3779b1) >>> 0;
}
