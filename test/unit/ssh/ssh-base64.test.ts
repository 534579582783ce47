import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../../../src/core/ssh/base64.ts';

/** OpenSSH's b64_pton rules written out character by character: the oracle for the regex version. */
function reference(text: string): Buffer | undefined {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let data = 0;
  let pads = 0;
  let last = 0;
  for (const char of text) {
    const value = alphabet.indexOf(char);
    if (value >= 0) {
      if (pads > 0) return undefined;
      data++;
      last = value;
    } else if (char === '=') {
      if (++pads > 2) return undefined;
    } else if (!'\t\n\v\f\r '.includes(char)) {
      return undefined;
    }
  }
  if ((data + pads) % 4 !== 0) return undefined;
  if (pads > 0 && (data % 4) + pads !== 4) return undefined;
  if (pads === 2 && (last & 0x0f) !== 0) return undefined;
  if (pads === 1 && (last & 0x03) !== 0) return undefined;
  return Buffer.from(text, 'base64');
}

describe('SSH base64 (b64_pton rules)', () => {
  const chars = fc.constantFrom(...'ABCabcxyz0189+/=\n \t\r-_.é'.split(''));
  it('agrees with the character-by-character reference', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString('base64')),
          fc.array(chars, { maxLength: 24 }).map((parts) => parts.join('')),
          fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.nat(), fc.string({ maxLength: 3 })).map(([bytes, at, insert]) => {
            const text = Buffer.from(bytes).toString('base64');
            const index = at % (text.length + 1);
            return text.slice(0, index) + insert + text.slice(index);
          }),
        ),
        (text) => {
          expect(decodeBase64Strict(text)).toEqual(reference(text));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses padding with no data, bits left over, and data after padding', () => {
    for (const bad of ['====', '=', 'QQ=A', 'QR==', 'QUJ=', 'QUI=\nQQ==', 'QQ==QQ==']) expect(decodeBase64Strict(bad), bad).toBeUndefined();
    expect(decodeBase64Strict('QUI=\n')).toEqual(Buffer.from('AB'));
    expect(decodeBase64Strict(' Q Q = = ')).toEqual(Buffer.from('A'));
  });
});
