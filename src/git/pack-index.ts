import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SignetError } from '../core/errors.ts';

/**
 * Indexes up to this size are read whole, once (a 100,000-commit repository's is 2.8 MB); larger
 * ones a fan-out bucket at a time. A million-commit repository's index is 28 MB, and a whole
 * index is resident for the whole run: peak memory must stay flat in the repository's size.
 */
export const WHOLE_INDEX_LIMIT = 8 * 1024 * 1024;
/**
 * A windowed index keeps every SAMPLE_EVERY-th id of each bucket it has touched (0.6 bytes an
 * object at 20-byte ids); a lookup binary-searches those, then reads the one block of ids
 * between two samples (at most 31 ids: one small read).
 */
const SAMPLE_EVERY = 32;
/**
 * The offsets of touched buckets are kept while they fit in this budget (4 bytes an object: a
 * quarter of a million objects); past it, a lookup reads its 4-byte offset instead, one pread of
 * about a microsecond. It was 8 MiB, all of a million-object index's 4 MB of offsets, held for the
 * whole run: the single executable over a million commits needed those 3 MiB more than the
 * microseconds (a lookup reads its block of ids anyway).
 */
const OFFSETS_BUDGET = 1024 * 1024;
/** A bucket's ids are read this much at a time when its samples are taken. */
const SCAN_BYTES = 256 * 1024;
const HEADER_BYTES = 8 + 256 * 4;

/** Where an index stops being read whole, and what a windowed one may hold (settable for tests). */
export interface PackIndexLimits {
  wholeLimit?: number;
  offsetsBudget?: number;
}

/** What an index has cost: bytes read from the file and bytes held in memory, now. */
export interface PackIndexStatistics {
  bytesRead: number;
  bytesHeld: number;
}

/**
 * A pack index (version 2). A small one is read whole and searched in place; a large one is
 * read in windows: the fan-out table at open, then, for each bucket (first byte of the id) a
 * lookup touches, a sample of its ids and its offsets, and for each lookup the few ids between
 * two samples.
 */
export class PackIndex {
  readonly count: number;
  readonly statistics: PackIndexStatistics;
  private readonly fanOut = new Uint32Array(256);
  private readonly namesStart = HEADER_BYTES;
  private readonly offsetsStart: number;
  private readonly largeOffsetsStart: number;
  /** Of a windowed index: per bucket, its sampled ids and (within the budget) its offsets. */
  private readonly samples: Array<Uint8Array | undefined> = [];
  private readonly offsets: Array<Uint8Array | undefined> = [];
  private offsetsHeld = 0;
  private block: Buffer | undefined;
  private fd: number | undefined;
  /** The whole file as a plain view, when it was read whole. */
  private readonly whole: Uint8Array | undefined;

  /** Opens the index at `path`: whole when it is at most `wholeLimit` bytes, else windowed. */
  static open(path: string, hashLength: number, limits: PackIndexLimits = {}): PackIndex {
    const wholeLimit = limits.wholeLimit ?? WHOLE_INDEX_LIMIT;
    const fd = openSync(path, 'r');
    let keepOpen = false;
    try {
      const size = fstatSync(fd).size;
      if (size <= wholeLimit) return new PackIndex(path, hashLength, size, readExactly(fd, 0, size, path), undefined, OFFSETS_BUDGET);
      const index = new PackIndex(path, hashLength, size, readExactly(fd, 0, Math.min(size, HEADER_BYTES), path), fd, limits.offsetsBudget ?? OFFSETS_BUDGET);
      keepOpen = true;
      return index;
    } finally {
      if (!keepOpen) closeSync(fd);
    }
  }

  private constructor(
    readonly path: string,
    readonly hashLength: number,
    private readonly size: number,
    /** The whole file, or (windowed) its header and fan-out table. */
    head: Buffer,
    fd: number | undefined,
    private readonly offsetsBudget: number,
  ) {
    this.fd = fd;
    if (head.length < HEADER_BYTES || head.readUInt32BE(0) !== 0xff744f63) {
      throw new SignetError('OBJECT_CORRUPT', `${path}: not a version 2 pack index (version 1 indexes are not supported; run 'git index-pack')`);
    }
    if (head.readUInt32BE(4) !== 2) {
      throw new SignetError('OBJECT_CORRUPT', `${path}: unsupported pack index version ${head.readUInt32BE(4)}`);
    }
    for (let bucket = 0; bucket < 256; bucket++) {
      this.fanOut[bucket] = head.readUInt32BE(8 + bucket * 4);
      // A bucket's bounds are read sizes in a windowed index: they must not run backwards.
      if (bucket > 0 && this.fanOut[bucket]! < this.fanOut[bucket - 1]!) throw new SignetError('OBJECT_CORRUPT', `${path}: fan-out table out of order`);
    }
    this.count = this.fanOut[255]!;
    const crcStart = this.namesStart + this.count * hashLength;
    this.offsetsStart = crcStart + this.count * 4;
    this.largeOffsetsStart = this.offsetsStart + this.count * 4;
    if (this.largeOffsetsStart + 2 * hashLength > size) {
      throw new SignetError('OBJECT_CORRUPT', `${path}: truncated pack index`);
    }
    if (fd === undefined) this.whole = new Uint8Array(head.buffer, head.byteOffset, head.length);
    this.statistics = { bytesRead: head.length, bytesHeld: fd === undefined ? head.length : 0 };
  }

  /** Whether lookups read the file in windows (the index is larger than the whole-read limit). */
  get windowed(): boolean {
    return this.whole === undefined;
  }

  /** The entry's offset in the pack, or -1 when the id is not in this pack. */
  find(id: Uint8Array): number {
    const position = this.position(id);
    return position < 0 ? -1 : this.offsetAt(position, id[0]!);
  }

  /** The id's place in the index's sorted table (0 … count - 1), or -1 when it is not in this pack. */
  position(id: Uint8Array): number {
    const first = id[0]!;
    const low = first === 0 ? 0 : this.fanOut[first - 1]!;
    const high = this.fanOut[first]!;
    if (low >= high) return -1;
    if (this.whole) return searchIds(this.whole, this.namesStart + low * this.hashLength, high - low, this.hashLength, id, low);
    return this.windowedPosition(first, low, high, id);
  }

  /** The id (hex) at this place in the index's sorted table (the inverse of position). */
  idAt(position: number): string {
    if (!(position >= 0 && position < this.count)) throw new RangeError(`${this.path}: no entry ${position}`);
    const start = this.namesStart + position * this.hashLength;
    if (this.whole) return Buffer.from(this.whole.buffer, this.whole.byteOffset + start, this.hashLength).toString('hex');
    this.block ??= Buffer.allocUnsafeSlow(SAMPLE_EVERY * this.hashLength);
    return this.readInto(this.block.subarray(0, this.hashLength), start, this.hashLength).toString('hex');
  }

  /** Ids in this pack that start with the given hex prefix (for abbreviated revisions). */
  findPrefix(hexPrefix: string, limit: number): string[] {
    const first = parseInt(hexPrefix.slice(0, 2).padEnd(2, '0'), 16);
    const low = hexPrefix.length >= 2 && first > 0 ? this.fanOut[first - 1]! : 0;
    const high = this.fanOut[hexPrefix.length >= 2 ? first : 255]!;
    const found: string[] = [];
    this.scanIds(low, high, (bytes, at) => {
      const hex = Buffer.from(bytes.buffer, bytes.byteOffset + at, this.hashLength).toString('hex');
      if (hex.startsWith(hexPrefix)) found.push(hex);
      return found.length < limit;
    });
    return found;
  }

  /** Releases the file (a windowed index reopens it on its next lookup). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private windowedPosition(bucket: number, low: number, high: number, id: Uint8Array): number {
    const length = this.hashLength;
    const sample = this.samples[bucket] ?? this.loadBucket(bucket, low, high);
    // The last sampled id at or before the id: the id, if present, is in the block it starts.
    let lower = 0;
    let upper = sample.length / length;
    while (lower < upper) {
      const mid = (lower + upper) >>> 1;
      const order = compareId(sample, mid * length, id, length);
      if (order === 0) return low + mid * SAMPLE_EVERY;
      if (order < 0) lower = mid + 1;
      else upper = mid;
    }
    if (lower === 0) return -1;
    const blockStart = low + (lower - 1) * SAMPLE_EVERY + 1;
    const blockCount = Math.min(SAMPLE_EVERY - 1, high - blockStart);
    if (blockCount <= 0) return -1;
    this.block ??= Buffer.allocUnsafeSlow(SAMPLE_EVERY * length);
    const block = this.readInto(this.block, this.namesStart + blockStart * length, blockCount * length);
    return searchIds(block, 0, blockCount, length, id, blockStart);
  }

  /** Takes a bucket's samples (and its offsets, within the budget): one pass over its ids. */
  private loadBucket(bucket: number, low: number, high: number): Uint8Array {
    const length = this.hashLength;
    const sample = new Uint8Array(Math.ceil((high - low) / SAMPLE_EVERY) * length);
    let taken = 0;
    this.scanIds(low, high, (bytes, at, index) => {
      if ((index - low) % SAMPLE_EVERY === 0) sample.set(bytes.subarray(at, at + length), taken++ * length);
      return true;
    });
    this.samples[bucket] = sample;
    this.statistics.bytesHeld += sample.length;
    const offsetBytes = (high - low) * 4;
    if (this.offsetsHeld + offsetBytes <= this.offsetsBudget) {
      const offsets = this.readInto(Buffer.allocUnsafeSlow(offsetBytes), this.offsetsStart + low * 4, offsetBytes);
      this.offsets[bucket] = new Uint8Array(offsets.buffer, offsets.byteOffset, offsets.length);
      this.offsetsHeld += offsetBytes;
      this.statistics.bytesHeld += offsetBytes;
    }
    return sample;
  }

  /** Calls `each` with the ids [low, high) in order (bytes, where the id starts, its place) until it answers false. */
  private scanIds(low: number, high: number, each: (bytes: Uint8Array, at: number, index: number) => boolean): void {
    const length = this.hashLength;
    if (this.whole) {
      for (let index = low; index < high; index++) if (!each(this.whole, this.namesStart + index * length, index)) return;
      return;
    }
    const perRead = Math.max(1, Math.floor(SCAN_BYTES / length));
    const buffer = Buffer.allocUnsafeSlow(Math.min(perRead, Math.max(high - low, 1)) * length);
    for (let start = low; start < high; start += perRead) {
      const count = Math.min(perRead, high - start);
      const bytes = this.readInto(buffer, this.namesStart + start * length, count * length);
      for (let index = 0; index < count; index++) if (!each(bytes, index * length, start + index)) return;
    }
  }

  private offsetAt(index: number, bucket: number): number {
    let small: number;
    if (this.whole) small = uint32At(this.whole, this.offsetsStart + index * 4);
    else {
      const held = this.offsets[bucket];
      small = held
        ? uint32At(held, (index - (bucket === 0 ? 0 : this.fanOut[bucket - 1]!)) * 4)
        : this.readInto(Buffer.allocUnsafe(4), this.offsetsStart + index * 4, 4).readUInt32BE(0);
    }
    if ((small & 0x80000000) === 0) return small;
    const largeIndex = small & 0x7fffffff;
    const position = this.largeOffsetsStart + largeIndex * 8;
    if (position + 8 > this.size - 2 * this.hashLength) throw new SignetError('OBJECT_CORRUPT', `${this.path}: large offset out of range`);
    const large = this.whole ? Buffer.from(this.whole.buffer, this.whole.byteOffset + position, 8) : this.readInto(Buffer.allocUnsafe(8), position, 8);
    return Number(large.readBigUInt64BE(0));
  }

  /** Bytes [start, start + length) of the file into `buffer` (a windowed index only). */
  private readInto(buffer: Buffer, start: number, length: number): Buffer {
    this.fd ??= openSync(this.path, 'r');
    this.statistics.bytesRead += length;
    let done = 0;
    while (done < length) {
      const read = readSync(this.fd, buffer, done, length - done, start + done);
      if (read === 0) throw new SignetError('OBJECT_CORRUPT', `${this.path}: truncated pack index`);
      done += read;
    }
    return buffer.length === length ? buffer : buffer.subarray(0, length);
  }
}

function readExactly(fd: number, start: number, length: number, path: string): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const read = readSync(fd, buffer, done, length - done, start + done);
    if (read === 0) throw new SignetError('OBJECT_CORRUPT', `${path}: truncated pack index`);
    done += read;
  }
  return buffer;
}

/**
 * Binary search of `count` sorted ids laid out from `start`: `base` plus the id's place among
 * them, or -1. Byte by byte on a plain view: a walk looks up every commit, and Buffer's compare
 * and readUInt32BE each cost a few JavaScript frames in a process that is still cold.
 */
function searchIds(bytes: Uint8Array, start: number, count: number, length: number, id: Uint8Array, base: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const order = compareId(bytes, start + mid * length, id, length);
    if (order === 0) return base + mid;
    if (order < 0) low = mid + 1;
    else high = mid;
  }
  return -1;
}

/** The entry at `at` against the id: negative when the entry sorts first. Byte 0 is equal (fan-out). */
function compareId(bytes: Uint8Array, at: number, id: Uint8Array, length: number): number {
  for (let index = 1; index < length; index++) {
    const order = bytes[at + index]! - id[index]!;
    if (order !== 0) return order;
  }
  return 0;
}

function uint32At(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}
