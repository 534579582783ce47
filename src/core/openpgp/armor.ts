/**
 * A small ASCII-armor decoder (RFC 4880 §6), as lenient and as strict as gpg 2.2 where it
 * matters for verdicts: text around the armor is ignored, header lines are skipped, the CRC
 * line is optional, and a CRC that does not match makes the block unreadable (gpg: "CRC
 * error", no signature checked). openpgp.js 6 no longer checks the CRC, so both verification
 * paths use this decoder to answer alike.
 */

export type ArmorResult = { ok: true; bytes: Uint8Array } | { ok: false; detail: string };

const beginMarkers = ['-----BEGIN PGP SIGNATURE-----', '-----BEGIN PGP MESSAGE-----'];
const endMarker = '-----END PGP ';
const NOT_RADIX64 = /[^A-Za-z0-9+/=]+/g;
const RADIX64_CRC = /^[A-Za-z0-9+/]{4}$/;

export function decodeArmor(text: string): ArmorResult {
  const begin = findBeginLine(text);
  if (begin < 0) return { ok: false, detail: 'no "-----BEGIN PGP SIGNATURE-----" line' };
  // Armor headers run up to the first blank line. gpg accepts a block without headers whose
  // body starts right away, so a line that is not a header starts the body.
  let bodyStart = text.length; // headers up to the end: no body
  for (let position = begin; position < text.length;) {
    const newline = text.indexOf('\n', position);
    const lineEnd = newline < 0 ? text.length : newline;
    const line = text.slice(position, lineEnd).trim();
    if (line === '') { bodyStart = lineEnd + 1; break; }
    if (!isHeaderLine(line)) {
      bodyStart = position;
      break;
    }
    position = lineEnd + 1;
  }
  // gpg reads a block whose END line is missing up to the end of the text.
  const endLine = findLineStarting(text, endMarker, bodyStart);
  let body = text.slice(bodyStart, endLine < 0 ? text.length : endLine).trimEnd();
  // The optional checksum line "=XXXX" ends the body.
  const lastNewline = body.lastIndexOf('\n');
  const lastLine = body.slice(lastNewline + 1).trim();
  let crc: string | undefined;
  if (lastLine.length === 5 && lastLine.charCodeAt(0) === 61 /* = */) {
    crc = lastLine.slice(1);
    body = body.slice(0, lastNewline + 1);
  }
  // Padding ends the data: gpg refuses a block with more radix-64 after a '=' (Buffer would
  // silently drop it, turning a changed signature block into a good one).
  const padding = body.indexOf('=');
  if (padding >= 0 && /[^=\s]/.test(body.slice(padding))) return { ok: false, detail: 'the armor has data after its padding' };
  // gpg skips every character outside the radix-64 alphabet ("invalid radix64 character
  // skipped"). Buffer's decoder skips most of them too, but reads '-' and '_' as '+' and '/'
  // (base64url), which would turn a changed signature block back into the good one: only the
  // alphabet itself reaches it (and without line breaks it takes its fast path).
  const bytes: Uint8Array = Buffer.from(body.replace(NOT_RADIX64, ''), 'base64');
  if (bytes.length === 0) return { ok: false, detail: 'the armor holds no data' };
  if (crc !== undefined) {
    const expected = RADIX64_CRC.test(crc) ? Buffer.from(crc, 'base64') : Buffer.alloc(0);
    if (expected.length !== 3) return { ok: false, detail: 'the armor checksum line is unreadable' };
    if ((((expected[0] ?? 0) << 16) | ((expected[1] ?? 0) << 8) | (expected[2] ?? 0)) !== crc24(bytes)) {
      return { ok: false, detail: 'the armor checksum (CRC-24) does not match' };
    }
  }
  return { ok: true, bytes };
}

/**
 * gpg 2.2's test (armor.c, parse_header_line): a line is a header when its first colon is
 * followed by a space or ends the line, whatever comes before it. A stricter "Key: value" test
 * would read a damaged body line such as ": iHUE…" as data, where gpg takes it for a header and
 * loses it (found by mutating every byte of a signed commit).
 */
function isHeaderLine(trimmedLine: string): boolean {
  const colon = trimmedLine.indexOf(':');
  return colon >= 0 && (colon === trimmedLine.length - 1 || trimmedLine.charCodeAt(colon + 1) === 32);
}

/** Index just past the BEGIN line (a whole line, trailing whitespace allowed), or -1. */
function findBeginLine(text: string): number {
  for (const marker of beginMarkers) {
    let from = 0;
    for (;;) {
      const at = text.indexOf(marker, from);
      if (at < 0) break;
      from = at + marker.length;
      if (at > 0 && text.charCodeAt(at - 1) !== 10) continue;
      const newline = text.indexOf('\n', from);
      const rest = text.slice(from, newline < 0 ? text.length : newline);
      if (rest.trim() === '') return newline < 0 ? text.length : newline + 1;
    }
  }
  return -1;
}

function findLineStarting(text: string, prefix: string, from: number): number {
  let position = from;
  for (;;) {
    const at = text.indexOf(prefix, position);
    if (at < 0) return -1;
    if (at === 0 || text.charCodeAt(at - 1) === 10) return at;
    position = at + prefix.length;
  }
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
  for (let index = 0; index < bytes.length; index += 1) {
    crc = ((crc << 8) & 0xffffff) ^ (crcTable[((crc >>> 16) ^ (bytes[index] ?? 0)) & 0xff] ?? 0);
  }
  return crc;
}
