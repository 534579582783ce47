import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SignetError } from '../core/errors.ts';
import { applyDelta } from './delta.ts';
import { packTypeNames, type GitObject } from './git-object.ts';
import { inflateEntry } from './inflate-entry.ts';
import { DEFAULT_MAX_OBJECT_BYTES, deltaBound, objectTooLarge } from './object-size-limit.ts';
import { PackIndex } from './pack-index.ts';

const OFS_DELTA = 6;
const REF_DELTA = 7;
const MAX_DELTA_DEPTH = 4096;
/**
 * Packs up to this size are read into memory once; larger ones a window at a time. Peak memory
 * must stay flat in a range's size (a million commits in 128 MiB), and a whole pack is RSS.
 */
const WHOLE_PACK_LIMIT = 16 * 1024 * 1024;
/** A read of a larger pack brings in this much: a walk reads commits roughly in pack order. */
const WINDOW_BYTES = 1024 * 1024;

/** Delta bases kept: at most this many, of at most this many bytes in all, none larger than BASE_OBJECT_BYTES. */
const BASE_ENTRIES = 256;
const BASE_BYTES = 16 * 1024 * 1024;
const BASE_OBJECT_BYTES = 4 * 1024 * 1024;

/** Resolves a REF_DELTA base, which may live in another pack or be loose. */
export type BaseResolver = (id: Buffer) => GitObject | undefined;

/**
 * One pack and its index. Entries are read with positioned reads (no whole-pack load), so
 * memory stays flat however large the pack is; recently used delta bases are kept.
 */
export class PackFile {
  readonly index: PackIndex;
  private fd: number | undefined;
  private size = 0;
  /** The whole pack, as a plain Uint8Array: its subarray is V8's built-in, not Buffer's wrapper. */
  private whole: Uint8Array | undefined;
  /** Of a pack too large to hold: the bytes last read, from `windowStart`. */
  private window: Uint8Array | undefined;
  private windowStart = 0;
  private windowBuffer: Buffer | undefined;
  private readonly bases = new Map<number, GitObject>();
  private baseBytes = 0;
  /** The largest object (or delta result) read; larger declared sizes are refused before inflating (object-size-limit.ts). */
  maxObjectBytes = DEFAULT_MAX_OBJECT_BYTES;

  constructor(
    readonly packPath: string,
    readonly hashLength: number,
    /** Larger packs are read a window at a time (settable for tests). */
    private readonly wholePackLimit = WHOLE_PACK_LIMIT,
    /** Larger indexes are read a window at a time (settable for tests). */
    wholeIndexLimit?: number,
  ) {
    const idxPath = packPath.replace(/\.pack$/, '.idx');
    this.index = PackIndex.open(idxPath, hashLength, wholeIndexLimit === undefined ? {} : { wholeLimit: wholeIndexLimit });
  }

  /** The id's place in this pack's index, or -1. */
  position(id: Uint8Array): number {
    return this.index.position(id);
  }

  has(id: Buffer): boolean {
    return this.index.find(id) >= 0;
  }

  read(id: Buffer, resolveBase: BaseResolver): GitObject | undefined {
    const offset = this.index.find(id);
    return offset < 0 ? undefined : this.readAt(offset, resolveBase, 0, `object ${id.toString('hex')}`);
  }

  close(): void {
    this.index.close();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.whole = undefined;
    this.window = undefined;
    this.windowBuffer = undefined;
  }

  private open(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.packPath, 'r');
      this.size = fstatSync(this.fd).size;
      if (this.size <= this.wholePackLimit) {
        // One read instead of two system calls per object: walks touch thousands of entries.
        const whole = Buffer.allocUnsafe(this.size);
        let done = 0;
        while (done < this.size) done += readSync(this.fd, whole, done, this.size - done, done);
        this.whole = new Uint8Array(whole.buffer, whole.byteOffset, whole.length);
      }
    }
    return this.fd;
  }

  /** Bytes [start, start + length) of the pack: a view of the loaded pack, or of a window read around them. */
  private bytesAt(start: number, length: number): Uint8Array {
    if (this.whole) return this.whole.subarray(start, start + length);
    const window = this.window;
    if (window && start >= this.windowStart && start + length <= this.windowStart + window.length) {
      return window.subarray(start - this.windowStart, start - this.windowStart + length);
    }
    // One window buffer, read into again: a fresh megabyte per move was garbage the collector
    // saw late (external memory), 86 MiB of a million-commit walk's peak. Views of it are used
    // before the next read (readAt parses the head, then inflates, copying out); a read larger
    // than the window gets a buffer of its own.
    const size = Math.min(Math.max(length, WINDOW_BYTES), this.size - start);
    const buffer = size > WINDOW_BYTES ? Buffer.allocUnsafeSlow(size) : (this.windowBuffer ??= Buffer.allocUnsafeSlow(WINDOW_BYTES));
    let done = 0;
    while (done < size) {
      const read = readSync(this.fd!, buffer, done, size - done, start + done);
      if (read === 0) break;
      done += read;
    }
    this.window = new Uint8Array(buffer.buffer, buffer.byteOffset, done);
    this.windowStart = start;
    return this.window.subarray(0, Math.min(length, done));
  }

  /** `name`: the object read, for an error (a delta base is named by its offset). */
  private readAt(offset: number, resolveBase: BaseResolver, depth: number, name?: string): GitObject {
    if (depth > MAX_DELTA_DEPTH) throw this.corrupt(offset, 'delta chain too deep');
    const cached = this.bases.get(offset);
    if (cached) return cached;
    this.open();
    const end = this.size - this.hashLength;
    if (offset < 12 || offset >= end) throw this.corrupt(offset, 'entry offset out of range');

    const head = this.bytesAt(offset, Math.min(32 + this.hashLength, end - offset));
    let position = 0;
    let byte = head[position++]!;
    const typeCode = (byte >> 4) & 7;
    let size = byte & 15;
    let shift = 4;
    while (byte & 0x80) {
      if (position >= head.length) throw this.corrupt(offset, 'truncated entry header');
      byte = head[position++]!;
      size += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    }

    let baseOffset = -1;
    let baseId: Buffer | undefined;
    if (typeCode === OFS_DELTA) {
      byte = head[position++]!;
      let distance = byte & 0x7f;
      while (byte & 0x80) {
        if (position >= head.length) throw this.corrupt(offset, 'truncated delta offset');
        byte = head[position++]!;
        distance = (distance + 1) * 128 + (byte & 0x7f);
      }
      baseOffset = offset - distance;
    } else if (typeCode === REF_DELTA) {
      baseId = Buffer.from(head.subarray(position, position + this.hashLength));
      position += this.hashLength;
    } else if (!packTypeNames[typeCode]) {
      throw this.corrupt(offset, `unknown entry type ${typeCode}`);
    }

    // The declared size is whoever wrote the pack's claim: refused before a buffer of it is made.
    const isDelta = typeCode === OFS_DELTA || typeCode === REF_DELTA;
    const what = `${name ?? 'a delta base'} (${this.packPath} entry at offset ${offset})`;
    if (size > (isDelta ? deltaBound(this.maxObjectBytes) : this.maxObjectBytes)) throw objectTooLarge(what, size, this.maxObjectBytes);
    const data = this.inflateAt(offset + position, size, end);
    let object: GitObject;
    if (isDelta) {
      const base = baseId ? this.resolveRefBase(baseId, resolveBase, depth) : this.readAt(baseOffset, resolveBase, depth + 1);
      object = { type: base.type, data: applyDelta(base.data, data, `${this.packPath}@${offset}`, { what, maxBytes: this.maxObjectBytes }) };
    } else {
      object = { type: packTypeNames[typeCode]!, data };
    }
    if (depth > 0 || isDelta) this.remember(offset, object);
    return object;
  }

  private resolveRefBase(baseId: Buffer, resolveBase: BaseResolver, depth: number): GitObject {
    const local = this.index.find(baseId);
    if (local >= 0) return this.readAt(local, resolveBase, depth + 1);
    const base = resolveBase(baseId);
    if (!base) throw new SignetError('OBJECT_MISSING', `${this.packPath}: delta base ${baseId.toString('hex')} is missing`);
    return base;
  }

  private inflateAt(start: number, size: number, end: number): Buffer {
    // Deflate never grows data by more than a few bytes per 16 KiB block: read that much once.
    const estimate = Math.min(end - start, size + 64 + Math.ceil(size / 1024) * 8);
    const compressed = this.bytesAt(start, estimate);
    try {
      // Exactly `size` bytes or a throw, from one reused zlib handle (inflate-entry.ts says why).
      return inflateEntry(compressed, size);
    } catch (error) {
      throw this.corrupt(start, `cannot inflate entry (${(error as Error).message})`);
    }
  }

  private remember(offset: number, object: GitObject): void {
    if (object.data.length > BASE_OBJECT_BYTES || this.bases.has(offset)) return;
    this.bases.set(offset, object);
    this.baseBytes += object.data.length;
    // By bytes too: 256 bases of 4 MiB (a pushed chain of large, deltified commits, a few KB on
    // the wire) were a gibibyte held by one walk.
    while (this.bases.size > BASE_ENTRIES || this.baseBytes > BASE_BYTES) {
      const [oldest, value] = this.bases.entries().next().value as [number, GitObject];
      this.bases.delete(oldest);
      this.baseBytes -= value.data.length;
    }
  }

  /** Bytes of delta bases held now: for the test that a chain of large bases stays within the budget. */
  get heldBaseBytes(): number {
    return this.baseBytes;
  }

  private corrupt(offset: number, what: string): SignetError {
    return new SignetError('OBJECT_CORRUPT', `${this.packPath}: ${what} at offset ${offset}`);
  }
}
