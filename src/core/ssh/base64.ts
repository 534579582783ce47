import { Buffer } from 'node:buffer';

const WHITESPACE = /[\t\n\v\f\r ]/;
const WHITESPACE_RUNS = /[\t\n\v\f\r ]+/g;
const CANONICAL = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Base64 as OpenSSH's b64_pton reads it: white space anywhere is skipped, padding is required,
 * nothing but white space may follow it, and the bits padding discards must be zero.
 * Returns undefined for anything else (Buffer.from alone would silently skip bad characters).
 */
export function decodeBase64Strict(text: string): Buffer | undefined {
  const compact = WHITESPACE.test(text) ? text.replace(WHITESPACE_RUNS, '') : text;
  if (compact.length % 4 !== 0 || !CANONICAL.test(compact)) return undefined;
  if (compact.endsWith('==')) {
    if ((ALPHABET.indexOf(compact[compact.length - 3] as string) & 0x0f) !== 0) return undefined;
  } else if (compact.endsWith('=')) {
    if ((ALPHABET.indexOf(compact[compact.length - 2] as string) & 0x03) !== 0) return undefined;
  }
  return Buffer.from(compact, 'base64');
}
