/**
 * A small ASCII-armor decoder (RFC 4880 §6) that reads a block exactly as gpg 2.2 does
 * (armor.c), damage included: text around the armor is ignored, header lines are skipped, the
 * CRC is optional, and a CRC that does not match makes the block unreadable (gpg: "CRC error",
 * no signature checked). Checked against gpg on mutated signed commits
 * (test/verify-object-properties.test.ts; once by hand with every byte set to every value).
 * openpgp.js 6 no longer checks the CRC, so both verification paths use this decoder.
 */

import { Buffer } from 'node:buffer';

export type ArmorResult = { ok: true; bytes: Uint8Array } | { ok: false; detail: string };

const beginMarkers = ['-----BEGIN PGP SIGNATURE-----', '-----BEGIN PGP MESSAGE-----'];
/** gpg's white space here is C's isspace in the ASCII range (not JavaScript's trim, which also takes U+00A0). */
const BLANK_LINE = /^[ \t\v\f\r]*$/;
/** What may follow the dashes of the BEGIN line (armor.c, is_armor_header), up to a NUL that ends gpg's C string. */
const BEGIN_LINE_TAIL = /^[ \t\r]*(?:\0|$)/;

export function decodeArmor(text: string): ArmorResult {
  return decodeArmorWith(text, true);
}

/** The same decoder without the fast path for clean bodies: the reference the tests hold it to. */
export function decodeArmorCarefully(text: string): ArmorResult {
  return decodeArmorWith(text, false);
}

function decodeArmorWith(text: string, fast: boolean): ArmorResult {
  const begin = findBeginLine(text);
  if (begin < 0) return { ok: false, detail: 'no "-----BEGIN PGP SIGNATURE-----" line' };
  // Armor headers run up to the first blank line. gpg accepts a block without headers whose
  // body starts right away, so a line that is not a header starts the body.
  let bodyStart = text.length; // headers up to the end: no body
  for (let position = begin; position < text.length;) {
    const newline = text.indexOf('\n', position);
    const lineEnd = newline < 0 ? text.length : newline;
    const line = text.slice(position, lineEnd);
    if (BLANK_LINE.test(line)) {
      bodyStart = lineEnd + 1;
      break;
    }
    if (!isHeaderLine(line)) {
      bodyStart = position;
      break;
    }
    position = lineEnd + 1;
  }
  return (fast && decodeCleanBody(text, bodyStart)) || decodeRadix64(text, bodyStart);
}

/**
 * A body as git and gpg write it: lines of radix-64 characters, optional padding, the CRC line.
 * On such a body gpg's reading (decodeRadix64) comes down to plain base64 up to the first '='
 * and the four characters after it, so Buffer's native decoder gives the same bytes at a small
 * fraction of the cost in a process that is still cold. Anything else takes the careful path.
 */
const CLEAN_BODY = /^((?:[A-Za-z0-9+/]+\n)*[A-Za-z0-9+/]*)(={0,2})\n=([A-Za-z0-9+/]{4})\n/;

function decodeCleanBody(text: string, start: number): ArmorResult | undefined {
  const match = CLEAN_BODY.exec(start === 0 ? text : text.slice(start));
  if (!match) return undefined;
  const data = match[1]!.replaceAll('\n', '');
  // One character left over is a byte for gpg (decodeRadix64, quad 1) and nothing for Buffer.
  if (data.length % 4 === 1) return undefined;
  const decoded = Buffer.from(data, 'base64');
  if (decoded.length === 0) return undefined;
  const bytes = new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.length);
  const crc = Buffer.from(match[3]!, 'base64');
  if (((crc[0]! << 16) | (crc[1]! << 8) | crc[2]!) !== crc24(bytes)) return { ok: false, detail: 'the armor checksum (CRC-24) does not match' };
  return { ok: true, bytes };
}

const RADIX64_VALUE = (() => {
  const table = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let index = 0; index < alphabet.length; index++) table[alphabet.charCodeAt(index)] = index;
  return table;
})();

function radix64Value(code: number): number {
  return code < 256 ? (RADIX64_VALUE[code] ?? -1) : -1;
}

function isHexDigit(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

/**
 * The body as gpg 2.2 reads it (armor.c, radix64_read): white space and characters outside the
 * alphabet are skipped; the first '=' ends the data (unless it starts a quoted-printable
 * "=XX" a mail gateway left, which gpg decodes); then, after any white space and '=', up to four
 * radix-64 characters read one after another form the checksum. None is fine, four must match,
 * anything between is "malformed CRC". Whatever follows, the END line included, is not looked
 * at, and without a '=' everything up to the end is data, END line letters and all, as in gpg.
 */
function decodeRadix64(text: string, start: number): ArmorResult {
  const out: number[] = [];
  let index = start;
  let quad = 0;
  let value = 0;
  let sawPad = false;
  data: while (index < text.length) {
    let code = text.charCodeAt(index++);
    // A decoded quoted-printable character is looked at again from the top, as gpg's "goto again".
    for (;;) {
      if (code === 10 || code === 32 || code === 13 || code === 9) continue data;
      if (code !== 61 /* = */) break;
      // "buffer_pos + 2 < buffer_len": three more characters on this line, its newline counted.
      const lineEnd = text.indexOf('\n', index - 1);
      const lineLength = lineEnd < 0 ? text.length : lineEnd + 1;
      if (
        index + 2 < lineLength &&
        isHexDigit(text.charCodeAt(index)) &&
        isHexDigit(text.charCodeAt(index + 1)) &&
        '=\n\r\t '.includes(text.charAt(index + 2))
      ) {
        code = Number.parseInt(text.slice(index, index + 2), 16);
        index += 2;
        continue;
      }
      if (quad === 1) out.push(value);
      sawPad = true;
      break data;
    }
    const digit = radix64Value(code);
    if (digit < 0) continue;
    switch (quad) {
      case 0:
        value = (digit << 2) & 0xff;
        break;
      case 1:
        out.push(value | ((digit >> 4) & 3));
        value = (digit << 4) & 0xf0;
        break;
      case 2:
        out.push(value | ((digit >> 2) & 15));
        value = (digit << 6) & 0xc0;
        break;
      default:
        out.push(value | (digit & 0x3f));
    }
    quad = (quad + 1) % 4;
  }
  const bytes = Uint8Array.from(out);
  if (bytes.length === 0) return { ok: false, detail: 'the armor holds no data' };
  if (!sawPad) return { ok: true, bytes };
  // The checksum: skip white space and '=', then read characters one after another.
  while (index < text.length && '\n \r\t='.includes(text.charAt(index))) index++;
  let crc = 0;
  let read = 0;
  while (read < 4 && index < text.length) {
    const digit = radix64Value(text.charCodeAt(index));
    if (digit < 0) break;
    crc = (crc << 6) | digit;
    index++;
    // gpg reads the next character before counting this one: at the very end it stops short.
    if (index >= text.length) break;
    read++;
  }
  if (read === 0) return { ok: true, bytes };
  if (read !== 4) return { ok: false, detail: 'the armor checksum line is malformed (gpg: "malformed CRC")' };
  if (crc !== crc24(bytes)) return { ok: false, detail: 'the armor checksum (CRC-24) does not match' };
  return { ok: true, bytes };
}

/**
 * gpg 2.2's test (armor.c, parse_header_line): a line is a header when its first colon is
 * followed by a space, a CR or the line's end, whatever comes before it. A stricter "Key: value" test
 * would read a damaged body line such as ": iHUE…" as data, where gpg takes it for a header and
 * loses it (found by mutating every byte of a signed commit).
 */
function isHeaderLine(line: string): boolean {
  // strchr() stops at a NUL.
  const nul = line.indexOf('\0');
  const text = nul < 0 ? line : line.slice(0, nul);
  const colon = text.indexOf(':');
  if (colon < 0) return false;
  const next = line.charCodeAt(colon + 1);
  return colon === line.length - 1 || next === 32 || next === 13;
}

/** Index just past the BEGIN line (a whole line, trailing whitespace allowed), or -1. */
function findBeginLine(text: string): number {
  for (let index = 0; index < beginMarkers.length; index++) {
    const marker = beginMarkers[index]!;
    let from = 0;
    for (;;) {
      const at = text.indexOf(marker, from);
      if (at < 0) break;
      from = at + marker.length;
      if (at > 0 && text.charCodeAt(at - 1) !== 10) continue;
      const newline = text.indexOf('\n', from);
      const rest = text.slice(from, newline < 0 ? text.length : newline);
      if (BEGIN_LINE_TAIL.test(rest)) return newline < 0 ? text.length : newline + 1;
    }
  }
  return -1;
}

const crcTable = (() => {
  const table = new Int32Array(256);
  for (let byte = 0; byte < 256; byte += 1) {
    let crc = byte << 16;
    for (let bit = 0; bit < 8; bit += 1) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
    table[byte] = crc & 0xffffff;
  }
  return table;
})();

/** CRC-24 of RFC 4880 §6.1. */
export function crc24(bytes: Uint8Array): number {
  let crc = 0xb704ce;
  const table = crcTable;
  for (let index = 0, length = bytes.length; index < length; index++) {
    crc = ((crc << 8) & 0xffffff) ^ table[((crc >>> 16) ^ bytes[index]!) & 0xff]!;
  }
  return crc;
}
