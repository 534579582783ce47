import { SignetError } from '../core/errors.ts';

/**
 * A pack index (version 2), read in place: lookups binary-search the sorted id table inside
 * the file's bytes, so opening a pack costs one read and no parsing of its entries.
 */
export class PackIndex {
  readonly count: number;
  private readonly view: Uint8Array;
  private readonly namesStart: number;
  private readonly offsetsStart: number;
  private readonly largeOffsetsStart: number;

  constructor(
    private readonly bytes: Buffer,
    readonly hashLength: number,
    readonly path: string,
  ) {
    if (bytes.length < 8 + 256 * 4 || bytes.readUInt32BE(0) !== 0xff744f63) {
      throw new SignetError('OBJECT_CORRUPT', `${path}: not a version 2 pack index (version 1 indexes are not supported; run 'git index-pack')`);
    }
    if (bytes.readUInt32BE(4) !== 2) {
      throw new SignetError('OBJECT_CORRUPT', `${path}: unsupported pack index version ${bytes.readUInt32BE(4)}`);
    }
    this.view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    this.count = bytes.readUInt32BE(8 + 255 * 4);
    this.namesStart = 8 + 256 * 4;
    const crcStart = this.namesStart + this.count * hashLength;
    this.offsetsStart = crcStart + this.count * 4;
    this.largeOffsetsStart = this.offsetsStart + this.count * 4;
    if (this.largeOffsetsStart + 2 * hashLength > bytes.length) {
      throw new SignetError('OBJECT_CORRUPT', `${path}: truncated pack index`);
    }
  }

  /** The entry's offset in the pack, or -1 when the id is not in this pack. */
  find(id: Uint8Array): number {
    const position = this.position(id);
    return position < 0 ? -1 : this.offsetAt(position);
  }

  /** The id's place in the index's sorted table (0 … count - 1), or -1 when it is not in this pack. */
  position(id: Uint8Array): number {
    // Byte by byte on a plain view: a walk looks up every commit, and Buffer's compare and
    // readUInt32BE each cost a few JavaScript frames in a process that is still cold.
    const bytes = this.view;
    const first = id[0]!;
    let low = first === 0 ? 0 : uint32At(bytes, 8 + (first - 1) * 4);
    let high = uint32At(bytes, 8 + first * 4);
    const length = this.hashLength;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const start = this.namesStart + mid * length;
      // The entry against the id: negative when the entry sorts first. Byte 0 is equal (fan-out).
      let order = 0;
      for (let index = 1; index < length; index++) {
        order = bytes[start + index]! - id[index]!;
        if (order !== 0) break;
      }
      if (order === 0) return mid;
      if (order < 0) low = mid + 1;
      else high = mid;
    }
    return -1;
  }

  /** Ids in this pack that start with the given hex prefix (for abbreviated revisions). */
  findPrefix(hexPrefix: string, limit: number): string[] {
    const first = parseInt(hexPrefix.slice(0, 2).padEnd(2, '0'), 16);
    const low = first === 0 ? 0 : this.bytes.readUInt32BE(8 + (first - 1) * 4);
    const high = this.bytes.readUInt32BE(8 + (hexPrefix.length >= 2 ? first : 255) * 4);
    const found: string[] = [];
    for (let i = hexPrefix.length >= 2 ? low : 0; i < high && found.length < limit; i++) {
      const start = this.namesStart + i * this.hashLength;
      const hex = this.bytes.toString('hex', start, start + this.hashLength);
      if (hex.startsWith(hexPrefix)) found.push(hex);
    }
    return found;
  }

  private offsetAt(index: number): number {
    const small = uint32At(this.view, this.offsetsStart + index * 4);
    if ((small & 0x80000000) === 0) return small;
    const largeIndex = small & 0x7fffffff;
    const position = this.largeOffsetsStart + largeIndex * 8;
    if (position + 8 > this.bytes.length) throw new SignetError('OBJECT_CORRUPT', `${this.path}: large offset out of range`);
    return Number(this.bytes.readBigUInt64BE(position));
  }
}

function uint32At(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}
