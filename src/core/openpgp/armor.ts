/**
 * A small ASCII-armor decoder (RFC 4880 §6), as lenient and as strict as gpg 2.2 where it
 * matters for verdicts: text around the armor is ignored, header lines are skipped, the CRC
 * line is optional, and a CRC that does not match makes the block unreadable (gpg: "CRC
 * error", no signature checked). openpgp.js 6 no longer checks the CRC, so both verification
 * paths use this decoder to answer alike.
 */

export type ArmorResult = { ok: true; bytes: Uint8Array } | { ok: false; detail: string };

const beginLines = new Set(['-----BEGIN PGP SIGNATURE-----', '-----BEGIN PGP MESSAGE-----']);

export function decodeArmor(text: string): ArmorResult {
  const lines = text.split('\n');
  let index = 0;
  while (index < lines.length && !beginLines.has(trimEnd(lines[index] ?? ''))) index += 1;
  if (index >= lines.length) return { ok: false, detail: 'no "-----BEGIN PGP SIGNATURE-----" line' };
  index += 1;
  // Armor headers ("Key: value") run up to the first blank line. gpg accepts a block without
  // headers whose body starts right away, so a line that is not a header starts the body.
  let sawBlank = false;
  const headerStart = index;
  while (index < lines.length) {
    const line = trimEnd(lines[index] ?? '');
    if (line === '') { sawBlank = true; index += 1; break; }
    if (!/^[A-Za-z][A-Za-z0-9-]*: /.test(line)) break;
    index += 1;
  }
  if (!sawBlank) index = headerStart;
  let body = '';
  let crc: string | undefined;
  let ended = false;
  for (; index < lines.length; index += 1) {
    const line = trimEnd(lines[index] ?? '');
    if (line.startsWith('-----END PGP ')) { ended = true; break; }
    if (line.startsWith('=') && line.length === 5) { crc = line.slice(1); continue; }
    body += line;
  }
  if (!ended) return { ok: false, detail: 'no "-----END PGP SIGNATURE-----" line' };
  const bytes = new Uint8Array(Buffer.from(body, 'base64'));
  if (bytes.length === 0) return { ok: false, detail: 'the armor holds no data' };
  if (crc !== undefined) {
    const expected = Buffer.from(crc, 'base64');
    if (expected.length !== 3) return { ok: false, detail: 'the armor checksum line is unreadable' };
    const actual = crc24(bytes);
    if (((expected[0] ?? 0) << 16 | (expected[1] ?? 0) << 8 | (expected[2] ?? 0)) !== actual) {
      return { ok: false, detail: 'the armor checksum (CRC-24) does not match' };
    }
  }
  return { ok: true, bytes };
}

function trimEnd(line: string): string {
  // Cheap path for the usual case: no trailing whitespace or carriage return.
  const last = line.charCodeAt(line.length - 1);
  return last === 13 || last === 32 || last === 9 ? line.replace(/[ \t\r]+$/, '') : line;
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
