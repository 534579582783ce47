import * as asn1js from 'asn1js';

export type BerRead = { ok: true; result: asn1js.AsnType; offset: number } | { ok: false; problem: string };

/**
 * asn1js.fromBER for bytes a signer controls. The decoder does not only report bad input: a
 * GeneralizedTime whose text it cannot convert, anywhere in the tree, throws ("Wrong input
 * string for conversion", found by the property test), so every parse of signature,
 * certificate or extension bytes goes through here and gets a problem to report instead.
 * Only the decoder is inside the try: what callers do with the tree is not.
 */
export function readBer(bytes: Uint8Array): BerRead {
  let parsed;
  try {
    parsed = asn1js.fromBER(bytes);
  } catch (error) {
    return { ok: false, problem: `not decodable (${(error as Error).message})` };
  }
  if (parsed.offset === -1) return { ok: false, problem: `not BER${parsed.result.error ? ` (${parsed.result.error})` : ''}` };
  return { ok: true, result: parsed.result, offset: parsed.offset };
}

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/**
 * A UTCTime or GeneralizedTime read strictly, in the one form RFC 5280 (4.1.2.5) and RFC 5652
 * (11.3, signingTime) allow: seconds, `Z`, no fraction, no offset, every field in range.
 * asn1js is lenient (an unreadable UTCTime becomes a date in 1899, an out-of-range month rolls
 * over, some GeneralizedTime texts become NaN, which compares false and so would never expire):
 * a time two readers could read two ways is refused. Returns the problem as text.
 */
export function strictTime(block: unknown): Date | string {
  const isUtc = block instanceof asn1js.UTCTime && !(block instanceof asn1js.GeneralizedTime);
  if (!isUtc && !(block instanceof asn1js.GeneralizedTime)) return 'not a UTCTime or GeneralizedTime';
  if (block.idBlock.isConstructed) return 'a constructed time';
  const text = Buffer.from(block.valueBlock.valueHexView).toString('latin1');
  const match = (isUtc ? UTC_TIME : GENERALIZED_TIME).exec(text);
  if (!match) return `time '${text.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)}' is not in the form ${isUtc ? 'YYMMDDHHMMSSZ' : 'YYYYMMDDHHMMSSZ'}`;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
  const fullYear = isUtc ? (year >= 50 ? 1900 + year : 2000 + year) : year;
  // setUTCFullYear, not Date.UTC: that maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(fullYear, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  if (
    date.getUTCFullYear() !== fullYear ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  )
    return `time '${text}' names no such moment`;
  return date;
}
