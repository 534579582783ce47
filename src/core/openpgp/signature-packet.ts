/**
 * Reads the packets of a detached signature and the fields of a v4 signature packet
 * (RFC 4880 §4.2, §5.2.3) without openpgp.js: this is the hot path of every verification.
 * Anything unusual comes back as `fallback` so openpgp.js, not this parser, decides it.
 */

import { Buffer } from 'node:buffer';

export interface SignatureSubpacketFacts {
  /** Signature creation time, seconds (hashed area only, as gpg reads it). */
  createdAt?: number;
  /** Seconds after creation at which the signature expires; 0 or absent: never (hashed only). */
  expiresAfter?: number;
  /** Issuer key ID, 16 upper-case hex digits, chosen as gpg does (see SubpacketCollector.facts). */
  issuerKeyId?: string;
  /** Issuer fingerprint for v4 keys, 40 upper-case hex digits (hashed area only, as gpg reads it). */
  issuerFingerprint?: string;
  /** The first critical subpacket gpg 2.2 does not understand, if any. */
  unknownCritical?: string;
}

export interface ParsedSignature extends SignatureSubpacketFacts {
  version: number;
  signatureType: number;
  publicKeyAlgorithm: number;
  hashAlgorithm: number;
  /**
   * Bytes hashed after the data: v4, version … end of hashed subpackets (the v4 trailer is
   * added by the hasher); v3, the signature type and creation time (no trailer).
   */
  hashedPart: Uint8Array;
  /** The two leftmost bytes of the digest, stored in the packet (unsigned; gpg 2.2 ignores them). */
  left16: number;
  /** The signature MPIs, as many as the signature's algorithm has, leading zeros as stored. */
  mpis: Uint8Array[];
}

export type PacketReadResult =
  | { kind: 'signature'; signature: ParsedSignature }
  | { kind: 'malformed'; detail: string }
  | { kind: 'several'; count: number }
  | { kind: 'fallback'; detail: string };

const tagSignature = 2;
const tagMarker = 10;

/**
 * Reads the packet sequence of a detached signature as gpg 2.2 does: marker packets are
 * skipped; after the signature, further signature packets count (gpg checks each, and two
 * verdict lines make git say E, reported here as `several`), while anything else after it,
 * even bytes that are no packet at all, is ignored (gpg still reports the signature).
 */
export function readDetachedSignature(bytes: Uint8Array): PacketReadResult {
  let offset = 0;
  let found: ParsedSignature | undefined;
  let count = 0;
  while (offset < bytes.length) {
    const header = readPacketHeader(bytes, offset);
    if (header.kind !== 'ok') {
      if (found) break;
      return header;
    }
    const { tag, bodyStart, bodyEnd } = header;
    if (tag === tagSignature) {
      count += 1;
      if (!found) {
        const parsed = parseSignatureBody(bytes.subarray(bodyStart, bodyEnd));
        if (parsed.kind !== 'signature') return parsed;
        found = parsed.signature;
      }
    } else if (!found && tag !== tagMarker) {
      return { kind: 'malformed', detail: `packet type ${tag} does not belong in a detached signature` };
    }
    offset = bodyEnd;
  }
  if (count > 1) return { kind: 'several', count };
  if (!found) return { kind: 'malformed', detail: 'no signature packet' };
  return { kind: 'signature', signature: found };
}

type HeaderResult =
  /** `truncated`: the stated length ran past the data; `bodyEnd` is the data's end. */
  | { kind: 'ok'; tag: number; bodyStart: number; bodyEnd: number; truncated: boolean }
  | { kind: 'malformed'; detail: string }
  | { kind: 'fallback'; detail: string };

export function readPacketHeader(bytes: Uint8Array, offset: number): HeaderResult {
  const first = bytes[offset] ?? 0;
  if ((first & 0x80) === 0) return { kind: 'malformed', detail: 'not an OpenPGP packet (bit 7 of the packet tag is clear)' };
  let tag: number;
  let length: number;
  let position = offset + 1;
  if (first & 0x40) {
    tag = first & 0x3f;
    const l0 = bytes[position];
    if (l0 === undefined) return { kind: 'malformed', detail: 'truncated packet header' };
    if (l0 < 192) {
      length = l0;
      position += 1;
    } else if (l0 < 224) {
      const l1 = bytes[position + 1];
      if (l1 === undefined) return { kind: 'malformed', detail: 'truncated packet header' };
      length = ((l0 - 192) << 8) + l1 + 192;
      position += 2;
    } else if (l0 === 255) {
      if (position + 5 > bytes.length) return { kind: 'malformed', detail: 'truncated packet header' };
      length = readUint32(bytes, position + 1);
      position += 5;
    } else {
      // Partial body lengths are for data packets only; leave such oddities to openpgp.js.
      return { kind: 'fallback', detail: 'partial body length' };
    }
  } else {
    tag = (first >> 2) & 0x0f;
    const lengthType = first & 0x03;
    if (lengthType === 3) return { kind: 'fallback', detail: 'indeterminate packet length' };
    const size = lengthType === 0 ? 1 : lengthType === 1 ? 2 : 4;
    if (position + size > bytes.length) return { kind: 'malformed', detail: 'truncated packet header' };
    length = 0;
    for (let index = 0; index < size; index += 1) length = length * 256 + (bytes[position + index] ?? 0);
    position += size;
  }
  // gpg reads a packet whose stated length runs past the data up to the end of the data: if its
  // fields are all there, the signature is checked (and good, if it is). Found by setting the
  // length byte of a signature packet to every value and asking gpg.
  return { kind: 'ok', tag, bodyStart: position, bodyEnd: Math.min(position + length, bytes.length), truncated: position + length > bytes.length };
}

/** How many MPIs a signature of this public-key algorithm carries (0: an algorithm gpg does not know). */
export function signatureMpiCount(algorithm: number): number {
  if (algorithm === 1 || algorithm === 2 || algorithm === 3) return 1;
  if (algorithm === 16 || algorithm === 17 || algorithm === 19 || algorithm === 20 || algorithm === 22) return 2;
  return 0;
}

export function parseSignatureBody(
  body: Uint8Array,
): { kind: 'signature'; signature: ParsedSignature } | { kind: 'malformed'; detail: string } | { kind: 'fallback'; detail: string } {
  const version = body[0];
  if (version === 3) return parseVersion3(body);
  if (version !== 4) return { kind: 'malformed', detail: `signature packet version ${version ?? 'missing'} (gpg 2.2 reads versions 3 and 4)` };
  if (body.length < 6) return { kind: 'malformed', detail: 'truncated signature packet' };
  const signatureType = body[1] ?? 0;
  const publicKeyAlgorithm = body[2] ?? 0;
  const hashAlgorithm = body[3] ?? 0;
  const hashedLength = ((body[4] ?? 0) << 8) | (body[5] ?? 0);
  const hashedEnd = 6 + hashedLength;
  if (hashedEnd + 2 > body.length) return { kind: 'malformed', detail: 'truncated hashed subpackets' };
  const unhashedLength = ((body[hashedEnd] ?? 0) << 8) | (body[hashedEnd + 1] ?? 0);
  const unhashedEnd = hashedEnd + 2 + unhashedLength;
  if (unhashedEnd + 2 > body.length) return { kind: 'malformed', detail: 'truncated unhashed subpackets' };
  const collected = new SubpacketCollector();
  const hashedProblem = scanSubpackets(body, 6, hashedEnd, true, collected);
  if (hashedProblem) return { kind: 'malformed', detail: hashedProblem };
  const unhashedProblem = scanSubpackets(body, hashedEnd + 2, unhashedEnd, false, collected);
  if (unhashedProblem) return { kind: 'malformed', detail: unhashedProblem };
  const left16 = ((body[unhashedEnd] ?? 0) << 8) | (body[unhashedEnd + 1] ?? 0);
  // gpg reads as many MPIs as the signature's own algorithm has and ignores any bytes after them.
  const mpis: Uint8Array[] = [];
  let offset = unhashedEnd + 2;
  for (let count = signatureMpiCount(publicKeyAlgorithm); count > 0; count -= 1) {
    if (offset + 2 > body.length) return { kind: 'malformed', detail: 'the signature values are missing' };
    const bits = ((body[offset] ?? 0) << 8) | (body[offset + 1] ?? 0);
    const size = (bits + 7) >> 3;
    if (offset + 2 + size > body.length) return { kind: 'malformed', detail: 'truncated signature value' };
    mpis.push(body.subarray(offset + 2, offset + 2 + size));
    offset += 2 + size;
  }
  return {
    kind: 'signature',
    signature: { version, signatureType, publicKeyAlgorithm, hashAlgorithm, hashedPart: body.subarray(0, hashedEnd), left16, mpis, ...collected.facts() },
  };
}

/**
 * A version 3 signature packet (RFC 4880 §5.2.2), as 2005-era gpg made them (--force-v3-sigs):
 * no subpackets; the signature type and creation time are the five hashed bytes (after the
 * data, with no trailer), the issuer is an 8-byte key ID. gpg 2.2 still reads and checks them.
 */
function parseVersion3(body: Uint8Array): { kind: 'signature'; signature: ParsedSignature } | { kind: 'malformed'; detail: string } {
  if (body.length < 19) return { kind: 'malformed', detail: 'truncated version 3 signature packet' };
  // gpg (parse-packet.c) refuses any other length of hashed material ("invalid md5_len").
  if (body[1] !== 5) return { kind: 'malformed', detail: `version 3 signature with ${body[1]} hashed bytes (must be 5)` };
  const publicKeyAlgorithm = body[15]!;
  const mpis: Uint8Array[] = [];
  let offset = 19;
  for (let count = signatureMpiCount(publicKeyAlgorithm); count > 0; count -= 1) {
    if (offset + 2 > body.length) return { kind: 'malformed', detail: 'the signature values are missing' };
    const bits = (body[offset]! << 8) | body[offset + 1]!;
    const size = (bits + 7) >> 3;
    if (offset + 2 + size > body.length) return { kind: 'malformed', detail: 'truncated signature value' };
    mpis.push(body.subarray(offset + 2, offset + 2 + size));
    offset += 2 + size;
  }
  return {
    kind: 'signature',
    signature: {
      version: 3,
      signatureType: body[2]!,
      publicKeyAlgorithm,
      hashAlgorithm: body[16]!,
      hashedPart: body.subarray(2, 7),
      left16: (body[17]! << 8) | body[18]!,
      mpis,
      createdAt: readUint32(body, 3),
      issuerKeyId: Buffer.from(body.subarray(7, 15)).toString('hex').toUpperCase(),
    },
  };
}

/**
 * Critical subpacket types gpg 2.2.40 accepts on a data signature (found by asking it, see
 * test/openpgp-crafted.test.ts); a critical subpacket of any other type, in either area, makes
 * gpg "assume bad signature". Critical notations count as unknown: gpg knows none that a data
 * signature would carry.
 */
const criticalUnderstood = new Set([2, 3, 4, 5, 6, 7, 9, 11, 12, 16, 21, 22, 24, 25, 26, 27, 29, 30, 32, 33]);

/** Gathers what gpg reads from the subpacket areas, hashed area first. */
export class SubpacketCollector {
  private createdAt: number | undefined;
  private expiresAfter: number | undefined;
  private hashedKeyId: string | undefined;
  private hashedFingerprint: string | undefined;
  private unhashedKeyId: string | undefined;
  private unknownCritical: string | undefined;

  note(type: number, critical: boolean, data: Uint8Array, hashed: boolean): void {
    if (critical && !criticalUnderstood.has(type) && this.unknownCritical === undefined) {
      this.unknownCritical = type === 20 ? 'critical notation' : `critical subpacket type ${type}`;
    }
    if (type === 16 && data.length === 8) {
      if (hashed) this.hashedKeyId ??= toHex(data, 0, 8);
      else this.unhashedKeyId ??= toHex(data, 0, 8);
    }
    // Creation time, expiry and the issuer fingerprint count only where they are signed.
    if (!hashed) return;
    if (type === 2 && data.length === 4) this.createdAt ??= readUint32(data, 0);
    else if (type === 3 && data.length === 4) this.expiresAfter ??= readUint32(data, 0);
    else if (type === 33 && data.length === 21 && data[0] === 4) this.hashedFingerprint ??= toHex(data, 1, 20);
  }

  /**
   * gpg's issuer: the key ID from the issuer subpacket (hashed area first, then unhashed), else
   * from the hashed issuer fingerprint; the fingerprint, looked up first, from the hashed area
   * only (an issuer fingerprint in the unhashed area is ignored).
   */
  facts(): SignatureSubpacketFacts {
    const facts: SignatureSubpacketFacts = {};
    if (this.createdAt !== undefined) facts.createdAt = this.createdAt;
    if (this.expiresAfter !== undefined) facts.expiresAfter = this.expiresAfter;
    const keyId = this.hashedKeyId ?? this.unhashedKeyId ?? this.hashedFingerprint?.slice(-16);
    if (keyId !== undefined) facts.issuerKeyId = keyId;
    if (this.hashedFingerprint !== undefined) facts.issuerFingerprint = this.hashedFingerprint;
    if (this.unknownCritical !== undefined) facts.unknownCritical = this.unknownCritical;
    return facts;
  }
}

/** What reads the subpackets of a signature: gpg's rules (SubpacketCollector) or openpgp.js's (keyring-native.ts). */
export interface SubpacketSink {
  note(type: number, critical: boolean, data: Uint8Array, hashed: boolean): void;
}

/** Walks one subpacket area of `body` from `start` to `end`; returns what is wrong, if anything. */
export function scanSubpackets(body: Uint8Array, start: number, end: number, hashed: boolean, collector: SubpacketSink): string | undefined {
  let offset = start;
  while (offset < end) {
    const l0 = body[offset] ?? 0;
    let length: number;
    if (l0 < 192) {
      length = l0;
      offset += 1;
    } else if (l0 < 255) {
      length = ((l0 - 192) << 8) + (body[offset + 1] ?? 0) + 192;
      offset += 2;
    } else {
      length = readUint32(body, offset + 1);
      offset += 5;
    }
    if (length === 0 || offset + length > end) return 'subpacket length runs past its area';
    const typeByte = body[offset] ?? 0;
    collector.note(typeByte & 0x7f, (typeByte & 0x80) !== 0, body.subarray(offset + 1, offset + length), hashed);
    offset += length;
  }
  return undefined;
}

export function readUint32(bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] ?? 0) << 24) >>> 0) + ((bytes[offset + 1] ?? 0) << 16) + ((bytes[offset + 2] ?? 0) << 8) + (bytes[offset + 3] ?? 0);
}

/** Buffer's native hex encoder, called on any Uint8Array (no copy, no string per digit). */
const hexSlice = (Buffer.prototype as unknown as { hexSlice?: (this: Uint8Array, start: number, end: number) => string }).hexSlice;

function toHex(bytes: Uint8Array, start: number, length: number): string {
  const end = Math.min(start + length, bytes.length);
  const hex = hexSlice ? hexSlice.call(bytes, start, end) : Buffer.from(bytes.subarray(start, end)).toString('hex');
  return hex.toUpperCase();
}
