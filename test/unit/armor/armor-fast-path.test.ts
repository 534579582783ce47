import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc24, decodeArmor, decodeArmorCarefully } from '../../../src/core/openpgp/armor.ts';
import { armor } from '../../helpers/openpgp-craft.ts';

/**
 * decodeArmor reads a clean body with Buffer's native base64 and everything else the careful
 * way (gpg 2.2's armor.c, checked against gpg elsewhere). The two must agree on every input:
 * same bytes, or the same refusal.
 */
function sameAsCareful(text: string): void {
  const fast = decodeArmor(text);
  const careful = decodeArmorCarefully(text);
  if (careful.ok && fast.ok) expect(Buffer.from(fast.bytes).equals(Buffer.from(careful.bytes)), JSON.stringify(text)).toBe(true);
  else expect(fast, JSON.stringify(text)).toEqual(careful);
}

const armored = fc
  .record({
    bytes: fc.uint8Array({ minLength: 0, maxLength: 200 }),
    width: fc.integer({ min: 1, max: 80 }),
    crc: fc.constantFrom('good', 'bad', 'none'),
    headers: fc.constantFrom([], ['Comment: x'], ['Version: GnuPG v2', 'Hash: SHA256']),
  })
  .map(({ bytes, width, crc, headers }) => {
    const text = armor(bytes, { crc: crc as 'good' | 'bad' | 'none', headers: [...headers] });
    // Rewrap the base64 at another width: gpg writes 64, other tools 76 or anything.
    const lines = text.split('\n');
    const blank = lines.indexOf('');
    const end = lines.findIndex((line) => line.startsWith('=') || line.startsWith('-----END'));
    const body = lines.slice(blank + 1, end).join('');
    const wrapped = body.match(new RegExp(`.{1,${width}}`, 'g')) ?? [];
    return [...lines.slice(0, blank + 1), ...wrapped, ...lines.slice(end)].join('\n');
  });

/**
 * Bodies of any length, not just what a base64 encoder writes, with the CRC the careful
 * decoder expects: a leftover character, for one, is a byte to gpg and would be dropped by a
 * plain base64 decoder, and only a CRC over gpg's bytes tells the two apart.
 */
const anyBody = fc
  .record({ body: fc.stringMatching(/^[A-Za-z0-9+/]{1,90}$/), pad: fc.constantFrom('', '=', '=='), width: fc.integer({ min: 1, max: 80 }) })
  .map(({ body, pad, width }) => {
    const lines = (body.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join('\n');
    const unchecked = `-----BEGIN PGP SIGNATURE-----\n\n${lines}${pad}\n-----END PGP SIGNATURE-----\n`;
    const careful = decodeArmorCarefully(unchecked);
    if (!careful.ok) return unchecked;
    const crc = crc24(careful.bytes);
    return unchecked.replace('\n-----END', `\n=${Buffer.from([crc >> 16, (crc >> 8) & 255, crc & 255]).toString('base64')}\n-----END`);
  });

/** Damage of the kinds gpg tolerates or refuses: characters inserted, replaced or removed. */
const damaged = fc
  .tuple(
    armored,
    fc.array(fc.tuple(fc.nat(), fc.constantFrom('', '=', '==', '\n', ' ', '\r', '-', '_', 'A', '+', '/', '=3D', ':', '\0', 'é', '\n\n', '=\n')), {
      minLength: 1,
      maxLength: 3,
    }),
    fc.boolean(),
  )
  .map(([text, edits, replace]) => {
    let out = text;
    for (const [at, insert] of edits) {
      const index = at % (out.length + 1);
      out = out.slice(0, index) + insert + out.slice(index + (replace ? 1 : 0));
    }
    return out;
  });

describe('armor fast path', () => {
  it('agrees with the careful decoder on clean armor of every width, padding and CRC', () => {
    fc.assert(fc.property(armored, sameAsCareful), { numRuns: 3000 });
  });

  it('agrees with the careful decoder on bodies of any length, leftover characters included', () => {
    fc.assert(fc.property(anyBody, sameAsCareful), { numRuns: 3000 });
  });

  it('agrees with the careful decoder on damaged armor', () => {
    fc.assert(fc.property(damaged, sameAsCareful), { numRuns: 6000 });
  });

  it('takes the fast path on what git and gpg write, and the CRC still counts there', () => {
    const bytes = Buffer.from('c2lnbmF0dXJlIHBhY2tldCBieXRlcw==', 'base64');
    const good = armor(bytes);
    expect(decodeArmor(good)).toEqual({ ok: true, bytes: new Uint8Array(bytes) });
    expect(decodeArmor(armor(bytes, { crc: 'bad' }))).toEqual({ ok: false, detail: 'the armor checksum (CRC-24) does not match' });
  });
});
