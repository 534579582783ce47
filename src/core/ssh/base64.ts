import { Buffer } from 'node:buffer';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const INVALID = -1;
const SPACE = -2;
const PAD = -3;
/** Per char code below 128: its 6-bit value, or INVALID / SPACE (isspace) / PAD. */
const VALUES = new Int8Array(128).fill(INVALID);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;
for (const c of '\t\n\v\f\r ') VALUES[c.charCodeAt(0)] = SPACE;
VALUES['='.charCodeAt(0)] = PAD;

/**
 * Base64 as OpenSSH's b64_pton reads it: white space anywhere is skipped, padding is required,
 * nothing but white space may follow it, and the bits padding discards must be zero.
 * Returns undefined for anything else (Buffer.from alone would silently skip bad characters).
 * One pass over the text validates; Buffer.from (which skips white space itself) decodes.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  let data = 0;
  let pads = 0;
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? (VALUES[code] as number) : INVALID;
    if (value >= 0) {
      if (pads > 0) return undefined;
      data++;
      last = value;
    } else if (value === PAD) {
      if (++pads > 2) return undefined;
    } else if (value !== SPACE) {
      return undefined;
    }
  }
  if ((data + pads) % 4 !== 0) return undefined;
  if (pads > 0 && ((data % 4) + pads !== 4)) return undefined;
  if (pads === 2 && (last & 0x0f) !== 0) return undefined;
  if (pads === 1 && (last & 0x03) !== 0) return undefined;
  return Buffer.from(text, 'base64');
}
