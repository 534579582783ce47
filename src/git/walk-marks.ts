import { SignetError } from '../core/errors.ts';
import type { ObjectStore } from './object-store.ts';

/** The walk has read this commit (git's PARSED: a mark then travels on through it). */
export const PARSED = 16;
/** Marks are held in pages of 2^12 pack entries, made on first touch. */
const PAGE_BITS = 12;

/**
 * The walk flags of every commit a limited walk (src/git/limited-walk.ts) meets, and nothing
 * else: one byte per pack entry, indexed by the commit's place among them
 * (ObjectStore.packOrdinal), which is also the commit's handle; loose commits, which no pack
 * holds, are handles below zero with their ids kept aside.
 *
 * A walk with exclusions must keep every commit it meets until it ends (git's limit_list does
 * too), but only their marks: a commit's time matters while it is queued (the queue keeps it),
 * and its parents only when an uninteresting mark travels through it again, which reads the
 * commit again (src/git/limited-walk.ts). So a million-commit `main ^root` keeps about a byte a pack
 * entry here where columns of times, parents, ordinals and an ordinal-to-handle table kept ~30.
 *
 * The byte array is paged (4 KiB pages made on first touch): a push or a pull request's scope
 * walks a few commits of a repository that may hold ten million objects, and should not hold a
 * byte for each of them.
 *
 * Exact, as the walk's answer depends on it: a handle is the whole ordinal (never a hash), and the
 * ordinals are checked to still name the same objects (a repack during the walk is an error, as
 * in SeenCommits).
 */
export class WalkMarks {
  /** Flags by pack ordinal, in pages made on first touch (an untouched page: no flags). */
  private readonly pages: Array<Uint8Array | undefined> = [];
  private readonly pageBits: number;
  private readonly pageMask: number;
  private readonly looseFlags: number[] = [];
  private readonly looseIds: string[] = [];
  private readonly looseHandles = new Map<string, number>();
  private readonly generation: number;

  constructor(
    private readonly store: ObjectStore,
    /** log2 of the pack entries a page holds (small in tests, to cross pages often). */
    pageBits = PAGE_BITS,
  ) {
    this.generation = store.packGeneration;
    this.pageBits = pageBits;
    this.pageMask = (1 << pageBits) - 1;
  }

  /** The handle of the commit `oid`: its pack ordinal, or below zero for a loose commit. */
  handleOf(oid: string): number {
    const ordinal = this.store.packOrdinal(oid);
    this.checkGeneration();
    if (ordinal >= 0) return ordinal;
    const known = this.looseHandles.get(oid);
    if (known !== undefined) return known;
    const handle = -1 - this.looseIds.length;
    this.looseIds.push(oid);
    this.looseFlags.push(0);
    this.looseHandles.set(oid, handle);
    return handle;
  }

  /** The commit's id (hex). */
  idOf(handle: number): string {
    if (handle < 0) return this.looseIds[-1 - handle]!;
    this.checkGeneration();
    return this.store.idAtOrdinal(handle);
  }

  flag(handle: number): number {
    if (handle < 0) return this.looseFlags[-1 - handle]!;
    return this.pages[handle >>> this.pageBits]?.[handle & this.pageMask] ?? 0;
  }

  addFlags(handle: number, flags: number): void {
    if (handle >= 0) this.page(handle)[handle & this.pageMask]! |= flags;
    else this.looseFlags[-1 - handle]! |= flags;
  }

  removeFlags(handle: number, flags: number): void {
    if (handle >= 0) this.page(handle)[handle & this.pageMask]! &= ~flags;
    else this.looseFlags[-1 - handle]! &= ~flags;
  }

  private page(handle: number): Uint8Array {
    return (this.pages[handle >>> this.pageBits] ??= new Uint8Array(1 << this.pageBits));
  }

  private checkGeneration(): void {
    // The store read its packs again (a repack while the walk ran): the ordinals name other objects now.
    if (this.store.packGeneration !== this.generation) {
      throw new SignetError('REPOSITORY_INVALID', "the repository's packs changed during the walk (a repack?); run again");
    }
  }
}
