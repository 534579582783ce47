import { randomBytes } from 'node:crypto';

/** A lookup gives up (a miss: the commit is verified again) after this many slots. */
const MAX_PROBE = 128;
const FIRST_SLOTS = 1024;
const NEWLINE = 0x0a;
const TAB = 0x09;

/**
 * Lines of bytes, each `<hex object id><TAB>…\n`, held in one buffer and found by their id
 * through an open-addressing table of offsets. A record costs its bytes and a slot or two of an
 * Int32Array: no string, array or map entry per record, so tens of thousands of records are two
 * allocations the garbage collector never walks, and the file is written from the buffer as it is.
 *
 * Lines are kept in the order added; the oldest lines before a boundary (records of earlier runs)
 * can be dropped to make room. Ids are hashed with a per-process random seed and a lookup stops
 * after MAX_PROBE slots: commits whose ids were ground to collide cost a miss, never a slow scan.
 */
export class RecordArena {
  private start: number;
  private end: number;
  /** Lines before this offset were there before this run (loaded): they may be dropped for room. */
  private boundary: number;
  /** Offset + 1 of a line's first byte; 0 for an empty slot. */
  private slots = new Int32Array(FIRST_SLOTS);
  private count = 0;
  private readonly seed = randomBytes(4).readUInt32LE(0);

  /** Indexes the lines in `bytes[start, end)`, all counted as earlier records. */
  private constructor(
    private readonly bytes: Buffer,
    start: number,
    end: number,
  ) {
    this.start = start;
    this.end = end;
    this.boundary = end;
  }

  /** An empty arena holding up to `capacity` bytes (pages are touched only as lines are written). */
  static empty(capacity: number): RecordArena {
    return new RecordArena(Buffer.allocUnsafeSlow(capacity), 0, 0);
  }

  /**
   * The lines already in `bytes[start, end)` (a file read into the buffer), or undefined when one
   * does not start with an id and a tab or the last has no newline.
   */
  static over(bytes: Buffer, start: number, end: number, idPattern: RegExp): RecordArena | undefined {
    // Grown a line at a time: the index is rebuilt only over lines already checked.
    const arena = new RecordArena(bytes, start, start);
    for (let at = start; at < end;) {
      const stop = bytes.indexOf(NEWLINE, at);
      if (stop < 0 || stop >= end) return undefined;
      const tab = bytes.indexOf(TAB, at);
      if (tab < 0 || tab > stop || !idPattern.test(bytes.toString('latin1', at, tab))) return undefined;
      arena.insert(at, tab - at);
      at = stop + 1;
      arena.end = at;
    }
    arena.boundary = arena.end;
    return arena;
  }

  /** Lines held. */
  get size(): number {
    return this.count;
  }

  /** Bytes of the lines held. */
  get heldBytes(): number {
    return this.end - this.start;
  }

  /** Whether lines of earlier runs are still held. */
  get holdsEarlier(): boolean {
    return this.start < this.boundary;
  }

  /** Bytes of the Int32Array that finds the lines: for the test that records stay cheap. */
  get indexBytes(): number {
    return this.slots.byteLength;
  }

  /** The offset of the line for this id, or -1. */
  find(id: string): number {
    const mask = this.slots.length - 1;
    let slot = this.hash(id) & mask;
    for (let probe = 0; probe < MAX_PROBE; probe++, slot = (slot + 1) & mask) {
      const held = this.slots[slot]!;
      if (held === 0) return -1;
      if (this.matches(held - 1, id)) return held - 1;
    }
    return -1;
  }

  /** The line at an offset, without its newline, decoded as UTF-8. */
  line(offset: number): string {
    return this.bytes.toString('utf8', offset, this.bytes.indexOf(NEWLINE, offset));
  }

  /**
   * Adds a line (`id<TAB>…\n`, `bytes` long in UTF-8) when the buffer has room for it: false
   * when not (the caller drops earlier lines first, or stops). Returns false too, adding nothing,
   * when the id's slots are crowded past MAX_PROBE.
   */
  append(line: string, idLength: number, bytes: number): boolean {
    if (this.end + bytes > this.bytes.length) {
      if (this.start === 0 || this.heldBytes + bytes > this.bytes.length) return false;
      this.compact();
    }
    const written = this.bytes.write(line, this.end, 'utf8');
    if (written !== bytes) throw new Error(`record of ${written} bytes, not ${bytes}`);
    if (!this.insert(this.end, idLength)) return false;
    this.end += bytes;
    return true;
  }

  /**
   * Drops the oldest earlier lines until at least `bytes` are freed or none is left, and moves
   * what is held to the front so the room is usable.
   */
  dropEarlier(bytes: number): void {
    const target = Math.min(this.start + bytes, this.boundary);
    while (this.start < target) this.start = this.bytes.indexOf(NEWLINE, this.start) + 1;
    this.compact();
  }

  /** The held lines as bytes, in order (a view of the buffer, not a copy). */
  held(): Buffer {
    return this.bytes.subarray(this.start, this.end);
  }

  private compact(): void {
    if (this.start > 0) {
      this.bytes.copyWithin(0, this.start, this.end);
      this.boundary = Math.max(0, this.boundary - this.start);
      this.end -= this.start;
      this.start = 0;
    }
    this.reindex(this.slots.length);
  }

  private reindex(slots: number): void {
    this.slots = new Int32Array(slots);
    this.count = 0;
    for (let at = this.start; at < this.end;) {
      const tab = this.bytes.indexOf(TAB, at);
      this.insert(at, tab - at);
      at = this.bytes.indexOf(NEWLINE, tab) + 1;
    }
  }

  private insert(offset: number, idLength: number): boolean {
    if ((this.count + 1) * 2 > this.slots.length) this.reindex(this.slots.length * 2);
    const id = this.bytes.toString('latin1', offset, offset + idLength);
    const mask = this.slots.length - 1;
    let slot = this.hash(id) & mask;
    for (let probe = 0; probe < MAX_PROBE; probe++, slot = (slot + 1) & mask) {
      const held = this.slots[slot]!;
      if (held !== 0 && !this.matches(held - 1, id)) continue;
      // The same id again (only a damaged or forged file has one twice): the first line stands.
      if (held === 0) {
        this.slots[slot] = offset + 1;
        this.count++;
      }
      return held === 0;
    }
    return false;
  }

  private matches(offset: number, id: string): boolean {
    const bytes = this.bytes;
    for (let index = 0; index < id.length; index++) if (bytes[offset + index] !== id.charCodeAt(index)) return false;
    return bytes[offset + id.length] === TAB;
  }

  /** The id's hex digits, 32 bits at a time, mixed with the seed (murmur3's steps). */
  private hash(id: string): number {
    let h = this.seed;
    for (let at = 0; at < id.length; at += 8) {
      h = Math.imul(h ^ parseInt(id.slice(at, at + 8), 16), 0xcc9e2d51);
      h = Math.imul((h << 15) | (h >>> 17), 0x1b873593);
    }
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }
}
