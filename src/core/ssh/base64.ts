import { Buffer } from 'node:buffer';

const WHITE_SPACE = /[\t\n\v\f\r ]+/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Base64 as OpenSSH's b64_pton reads it: white space anywhere is skipped, padding is required,
 * nothing but white space may follow it, and the bits padding discards must be zero.
 * Returns undefined for anything else (Buffer.from alone would silently skip bad characters).
 * Native regular expressions do the checking, and the white space goes before Buffer.from, so
 * that it takes its fast path: this runs for every SSH-signed commit.
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const compact = text.replace(WHITE_SPACE, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  const pads = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  if (pads > 0) {
    const last = ALPHABET.indexOf(compact[compact.length - pads - 1] ?? '');
    if (last < 0) return undefined; // padding with no data before it
    if (pads === 2 && (last & 0x0f) !== 0) return undefined;
    if (pads === 1 && (last & 0x03) !== 0) return undefined;
  }
  return Buffer.from(compact, 'base64');
}
