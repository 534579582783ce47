import fc from 'fast-check';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { inflateEntry, releaseInflater } from '../../../src/git/inflate-entry.ts';

/** What a pack entry's inflation was before the reused handle: inflateSync, then the size check. */
function reference(input: Uint8Array, size: number): Buffer | 'refused' {
  try {
    const inflated = inflateSync(input, { maxOutputLength: Math.max(size, 1), chunkSize: Math.max(size + 1, 64) });
    return inflated.length === size ? inflated : 'refused';
  } catch {
    return 'refused';
  }
}

function underTest(input: Uint8Array, size: number): Buffer | 'refused' {
  try {
    return inflateEntry(input, size);
  } catch {
    return 'refused';
  }
}

/** A zlib stream as a pack holds it, the next entry's bytes after it, and what may be done to it. */
const entry = fc
  .record({
    data: fc.uint8Array({ maxLength: 3000 }),
    repeated: fc.boolean(),
    level: fc.integer({ min: 0, max: 9 }),
    trailing: fc.uint8Array({ maxLength: 64 }),
    sizeDelta: fc.constantFrom(0, 0, 0, -1, 1, 2),
    cut: fc.option(fc.nat(), { nil: undefined }),
    flip: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { nil: undefined }),
  })
  .map(({ data, repeated, level, trailing, sizeDelta, cut, flip }) => {
    // Repetitive content too, so that a few compressed bytes stand for many.
    const plain = repeated ? Buffer.from(Buffer.from(data).toString('hex').repeat(4)) : Buffer.from(data);
    let stream = Buffer.concat([deflateSync(plain, { level }), Buffer.from(trailing)]);
    if (cut !== undefined) stream = stream.subarray(0, cut % (stream.length + 1));
    if (flip !== undefined) {
      stream = Buffer.from(stream);
      if (stream.length > 0) stream[flip[0] % stream.length]! ^= 1 << flip[1];
    }
    return { plain, stream, size: Math.max(0, plain.length + sizeDelta) };
  });

describe('a pack entry inflated on one reused zlib handle', () => {
  it('accepts exactly what inflateSync with the size check accepted, with the same bytes', () => {
    fc.assert(
      fc.property(entry, ({ stream, size }) => {
        expect(underTest(stream, size)).toEqual(reference(stream, size));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a truncated stream, a damaged checksum, and more or fewer bytes than the header says', () => {
    const plain = Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nmessage\n'.repeat(5));
    const stream = deflateSync(plain);
    expect(inflateEntry(stream, plain.length)).toEqual(plain);
    expect(() => inflateEntry(stream.subarray(0, stream.length - 1), plain.length)).toThrow(/unexpected end/);
    const badChecksum = Buffer.from(stream);
    badChecksum[badChecksum.length - 1]! ^= 1;
    expect(() => inflateEntry(badChecksum, plain.length)).toThrow(/check/);
    expect(() => inflateEntry(stream, plain.length - 1)).toThrow(/more than/);
    expect(() => inflateEntry(stream, plain.length + 1)).toThrow(/header says/);
    // A refusal leaves nothing behind: the next entry inflates from a fresh stream.
    expect(inflateEntry(stream, plain.length)).toEqual(plain);
  });

  it('works again after the handle is released', () => {
    const plain = Buffer.from('after release\n');
    expect(inflateEntry(deflateSync(plain), plain.length)).toEqual(plain);
    releaseInflater();
    expect(inflateEntry(deflateSync(plain), plain.length)).toEqual(plain);
  });
});
