/**
 * The SSH wire encoding (RFC 4251 §5): big-endian integers, length-prefixed strings and mpints.
 * Reading never copies: strings are views into the input.
 */

/** Thrown by the reader on truncated or malformed input; callers turn it into a verdict or a SignetError. */
export class WireFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireFormatError';
  }
}

/** OpenSSH refuses bignums above 16384 bits (SSHBUF_MAX_BIGNUM). */
const MAX_MPINT_BYTES = 2048;

const utf8 = new TextDecoder('utf-8');

export class WireReader {
  private offset = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** Where the reader stands, for signatures computed over a prefix of the input. */
  get position(): number {
    return this.offset;
  }

  private need(length: number): void {
    if (length > this.remaining) throw new WireFormatError(`${this.what}: truncated`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.offset++] as number;
  }

  u32(): number {
    this.need(4);
    const b = this.bytes;
    const o = this.offset;
    this.offset += 4;
    return (((b[o] as number) << 24) >>> 0) + ((b[o + 1] as number) << 16) + ((b[o + 2] as number) << 8) + (b[o + 3] as number);
  }

  u64(): bigint {
    const high = this.u32();
    const low = this.u32();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  bytesString(): Uint8Array {
    const length = this.u32();
    this.need(length);
    const start = this.offset;
    this.offset += length;
    return this.bytes.subarray(start, this.offset);
  }

  /**
   * A text string, as OpenSSH's sshbuf_get_cstring reads it: a NUL is allowed only as the last
   * byte (and is then dropped); anything else with a NUL is malformed.
   */
  text(): string {
    const length = this.u32();
    this.need(length);
    const b = this.bytes;
    const start = this.offset;
    this.offset += length;
    let end = start + length;
    let ascii = true;
    for (let i = start; i < end; i++) {
      const byte = b[i] as number;
      if (byte === 0) {
        if (i !== end - 1) throw new WireFormatError(`${this.what}: string with an embedded NUL`);
        end = i;
      } else if (byte >= 0x80) {
        ascii = false;
      }
    }
    // Short ASCII strings (namespaces, algorithm names) skip TextDecoder, which costs more here.
    if (ascii && end - start <= 64) {
      let out = '';
      for (let i = start; i < end; i++) out += String.fromCharCode(b[i] as number);
      return out;
    }
    return utf8.decode(b.subarray(start, end));
  }

  /**
   * A non-negative mpint, returned as its magnitude without leading zeros. Like OpenSSH we refuse
   * negative values and values above 16384 bits, and tolerate redundant leading zeros.
   */
  mpint(): Uint8Array {
    let value = this.bytesString();
    if (value.length > 0 && ((value[0] as number) & 0x80) !== 0) throw new WireFormatError(`${this.what}: negative mpint`);
    if (value.length > MAX_MPINT_BYTES + 1 || (value.length === MAX_MPINT_BYTES + 1 && value[0] !== 0)) {
      throw new WireFormatError(`${this.what}: mpint larger than 16384 bits`);
    }
    let start = 0;
    while (start < value.length && value[start] === 0) start++;
    value = value.subarray(start);
    return value;
  }

  /** Everything not read yet. */
  rest(): Uint8Array {
    const rest = this.bytes.subarray(this.offset);
    this.offset = this.bytes.length;
    return rest;
  }

  end(): void {
    if (this.remaining !== 0) throw new WireFormatError(`${this.what}: ${this.remaining} unexpected trailing bytes`);
  }
}

/** Builds wire-encoded byte strings (keys re-encoded canonically, signed data). */
export class WireWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  raw(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }

  u8(value: number): this {
    return this.raw(Uint8Array.of(value & 0xff));
  }

  u32(value: number): this {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, value >>> 0);
    return this.raw(out);
  }

  u64(value: bigint): this {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, value);
    return this.raw(out);
  }

  string(value: Uint8Array | string): this {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    this.u32(bytes.length);
    return this.raw(bytes);
  }

  /** `magnitude` must be the unsigned big-endian value without leading zeros (as WireReader.mpint returns). */
  mpint(magnitude: Uint8Array): this {
    if (magnitude.length > 0 && ((magnitude[0] as number) & 0x80) !== 0) {
      this.u32(magnitude.length + 1);
      this.u8(0);
      return this.raw(magnitude);
    }
    return this.string(magnitude);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
