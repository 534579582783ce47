import { SignetError } from '../core/errors.ts';
import type { ObjectStore } from './object-store.ts';
import { OidSet } from './oid-set.ts';

/** Ids held whole (20 bytes each and the table's slack) before packed ones become bits. */
const WHOLE_IDS = 1 << 16;

/**
 * The commits a streaming walk has passed, exactly, in memory that does not grow with their ids:
 * the first few tens of thousands as whole ids (OidSet), then one bit per pack entry (the id's
 * place in its pack's index, src/git/object-store.ts packOrdinal), whole ids only for loose
 * commits. A million passed commits cost the pack's entry count in bits (125 KiB for a million
 * objects) instead of 40 MiB of ids. Exact either way: a false "seen" would drop a commit from
 * the range unverified.
 */
export class SeenCommits {
  private readonly ids: OidSet;
  private bits: Uint8Array | undefined;
  private generation = 0;

  constructor(
    private readonly store: ObjectStore,
    /** Ids held whole before packed ones become bits (settable for tests). */
    private readonly wholeIds = WHOLE_IDS,
  ) {
    this.ids = new OidSet(store.idLength);
  }

  has(oid: string): boolean {
    if (this.ids.has(oid)) return true;
    if (!this.bits) return false;
    const ordinal = this.ordinal(oid);
    return ordinal >= 0 && (this.bits[ordinal >> 3]! & (1 << (ordinal & 7))) !== 0;
  }

  add(oid: string): void {
    if (this.ids.size < this.wholeIds) {
      this.ids.add(oid);
      return;
    }
    if (!this.bits) {
      this.generation = this.store.packGeneration;
      this.bits = new Uint8Array((this.store.packEntries + 7) >> 3);
    }
    const ordinal = this.ordinal(oid);
    if (ordinal < 0) this.ids.add(oid);
    else this.bits[ordinal >> 3]! |= 1 << (ordinal & 7);
  }

  private ordinal(oid: string): number {
    const ordinal = this.store.packOrdinal(oid);
    // The store read its packs again (a repack while the walk ran): the bits name other objects now.
    if (this.store.packGeneration !== this.generation) {
      throw new SignetError('REPOSITORY_INVALID', "the repository's packs changed during the walk (a repack?); run again");
    }
    return ordinal;
  }
}
