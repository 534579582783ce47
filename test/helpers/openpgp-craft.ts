import crypto from 'node:crypto';
import * as openpgp from 'openpgp';
import { crc24 } from '../../src/core/openpgp/armor.ts';

/**
 * Hand-made OpenPGP packets for the corners real signers never produce (critical subpackets,
 * odd classes, broken digests, …), signed with secret keys that gpg generated, so that gpg can
 * judge them in the differential tests.
 */

export interface Subpacket {
  type: number;
  body: Uint8Array;
  critical?: boolean;
}

export interface CraftKey {
  fingerprint: Uint8Array;
  algorithm: number;
  /** Makes the signature MPIs over the digest (`message` is what was hashed, for ECDSA). */
  sign(digest: Buffer, hashName: string, message: Buffer): Uint8Array[];
  /** RSA only: the modulus, for forging s + n. */
  modulus?: bigint;
}

const hashNames: Record<number, string> = {
  1: 'md5',
  2: 'sha1',
  3: 'ripemd160',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
  12: 'sha3-256',
  14: 'sha3-512',
};
const digestInfos: Record<string, string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
  md5: '3020300c06082a864886f70d020505000410',
};

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
export const toBig = (bytes: Uint8Array): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`));
export function fromBig(value: bigint): Uint8Array {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** Reads the (unprotected) secret key `fingerprint` (primary or subkey) out of a gpg export. */
export async function craftKey(armoredSecret: string, fingerprint: string): Promise<CraftKey> {
  const key = await openpgp.readPrivateKey({ armoredKey: armoredSecret });
  const packet = [key, ...key.subkeys].find((candidate) => candidate.getFingerprint().toUpperCase() === fingerprint)?.keyPacket;
  if (!packet) throw new Error(`no key ${fingerprint}`);
  const pub = packet.publicParams as Record<string, unknown>;
  const priv = (packet as unknown as { privateParams: Record<string, Uint8Array> }).privateParams;
  const algorithm = packet.algorithm as number;
  const fingerprintBytes = new Uint8Array(Buffer.from(fingerprint, 'hex'));
  if (algorithm === 22) {
    const q = pub.Q as Uint8Array;
    const privateKey = crypto.createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: b64url(q.subarray(1)), d: b64url(priv.seed as Uint8Array) },
      format: 'jwk',
    });
    return { fingerprint: fingerprintBytes, algorithm, sign: (digest) => splitScalars(crypto.sign(null, digest, privateKey), 32) };
  }
  if (algorithm === 19) {
    const q = pub.Q as Uint8Array;
    const size = (q.length - 1) / 2;
    const crv = size === 32 ? 'P-256' : size === 48 ? 'P-384' : 'P-521';
    const privateKey = crypto.createPrivateKey({
      key: { kty: 'EC', crv, x: b64url(q.subarray(1, 1 + size)), y: b64url(q.subarray(1 + size)), d: b64url(leftPad(priv.d as Uint8Array, size)) },
      format: 'jwk',
    });
    return {
      fingerprint: fingerprintBytes,
      algorithm,
      sign: (_digest, hashName, message) => splitScalars(crypto.sign(hashName, message, { key: privateKey, dsaEncoding: 'ieee-p1363' }), size),
    };
  }
  if (algorithm === 1 || algorithm === 3) {
    const n = toBig(pub.n as Uint8Array);
    const d = toBig(priv.d as Uint8Array);
    const size = (pub.n as Uint8Array).length;
    return {
      fingerprint: fingerprintBytes,
      algorithm,
      modulus: n,
      sign: (digest, hashName) => {
        const prefix = Buffer.from(digestInfos[hashName] ?? '', 'hex');
        const t = Buffer.concat([prefix, digest]);
        const em = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(size - t.length - 3, 0xff), Buffer.from([0]), t]);
        return [fromBig(modPow(toBig(em), d, n))];
      },
    };
  }
  if (algorithm === 17) {
    const [p, q, g] = [pub.p, pub.q, pub.g].map((value) => toBig(value as Uint8Array)) as [bigint, bigint, bigint];
    const x = toBig(priv.x as Uint8Array);
    const qBytes = (q.toString(2).length + 7) >> 3;
    return {
      fingerprint: fingerprintBytes,
      algorithm,
      // FIPS 186 DSA with a fresh random k; the digest cut to q's length from the left.
      sign: (digest) => {
        const h = toBig(digest.subarray(0, qBytes));
        for (;;) {
          const k = (toBig(crypto.randomBytes(qBytes + 8)) % (q - 1n)) + 1n;
          const r = modPow(g, k, p) % q;
          const s = (modPow(k, q - 2n, q) * (h + x * r)) % q;
          if (r !== 0n && s !== 0n) return [fromBig(r), fromBig(s)];
        }
      },
    };
  }
  throw new Error(`cannot craft with algorithm ${algorithm}`);
}

function leftPad(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes, size - bytes.length);
  return out;
}

function splitScalars(signature: Buffer, size: number): Uint8Array[] {
  return [signature.subarray(0, size), signature.subarray(size)].map((part) => stripZeros(new Uint8Array(part)));
}

function stripZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  return bytes.subarray(start);
}

export function mpi(value: Uint8Array): Uint8Array {
  let start = 0;
  while (start < value.length && value[start] === 0) start += 1;
  const stripped = value.subarray(start);
  const bits = stripped.length === 0 ? 0 : (stripped.length - 1) * 8 + (32 - Math.clz32(stripped[0] ?? 0));
  return concat([new Uint8Array([bits >> 8, bits & 0xff]), stripped]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const u32 = (value: number): Uint8Array => new Uint8Array([(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);

export const sub = {
  created: (at: number): Subpacket => ({ type: 2, body: u32(at) }),
  expires: (after: number): Subpacket => ({ type: 3, body: u32(after) }),
  issuerKeyId: (fingerprint: Uint8Array): Subpacket => ({ type: 16, body: fingerprint.subarray(12) }),
  issuerFingerprint: (fingerprint: Uint8Array): Subpacket => ({ type: 33, body: concat([new Uint8Array([4]), fingerprint]) }),
  notation: (name: string, value: string, critical = false): Subpacket => {
    const n = Buffer.from(name);
    const v = Buffer.from(value);
    return { type: 20, critical, body: concat([new Uint8Array([0x80, 0, 0, 0, n.length >> 8, n.length & 255, v.length >> 8, v.length & 255]), n, v]) };
  },
};

export function encodeSubpackets(subpackets: Subpacket[]): Uint8Array {
  return concat(
    subpackets.map(({ type, body, critical }) => {
      const length = body.length + 1;
      const header = length < 192 ? [length] : [((length - 192) >> 8) + 192, (length - 192) & 255];
      return concat([new Uint8Array(header), new Uint8Array([type | (critical ? 0x80 : 0)]), body]);
    }),
  );
}

export function packet(tag: number, body: Uint8Array): Uint8Array {
  const length = body.length;
  const header = length < 192 ? [length] : length < 8384 ? [((length - 192) >> 8) + 192, (length - 192) & 255] : [255, ...u32(length)];
  return concat([new Uint8Array([0xc0 | tag, ...header]), body]);
}

export interface CraftOptions {
  createdAt: number;
  signatureType?: number;
  hashAlgorithm?: number;
  /** Hashed subpackets; default: creation time and issuer fingerprint. */
  hashed?: Subpacket[];
  /** Unhashed subpackets; default: issuer key ID. */
  unhashed?: Subpacket[];
  /** What the packet claims as its public-key algorithm (default: the key's). */
  publicKeyAlgorithm?: number;
  /** Flip the stored leftmost digest bytes. */
  flipLeft16?: boolean;
  /** Replace the signature MPIs after signing. */
  mapMpis?: (mpis: Uint8Array[], key: CraftKey) => Uint8Array[];
  /** Hash these bytes instead of the payload (e.g. for canonical text). */
  hashedData?: Uint8Array;
}

/** A v4 signature packet (with header) over `payload`. */
export function craftSignaturePacket(key: CraftKey, payload: Uint8Array, options: CraftOptions): Uint8Array {
  const hashAlgorithm = options.hashAlgorithm ?? 8;
  const hashName = hashNames[hashAlgorithm] ?? 'sha256';
  const hashed = encodeSubpackets(options.hashed ?? [sub.created(options.createdAt), sub.issuerFingerprint(key.fingerprint)]);
  const unhashed = encodeSubpackets(options.unhashed ?? [sub.issuerKeyId(key.fingerprint)]);
  const head = concat([
    new Uint8Array([4, options.signatureType ?? 0, options.publicKeyAlgorithm ?? key.algorithm, hashAlgorithm, hashed.length >> 8, hashed.length & 255]),
    hashed,
  ]);
  const trailer = concat([new Uint8Array([4, 0xff]), u32(head.length)]);
  const message = Buffer.from(concat([options.hashedData ?? payload, head, trailer]));
  const digest = crypto.createHash(hashName).update(message).digest();
  let mpis = key.sign(digest, hashName, message);
  if (options.mapMpis) mpis = options.mapMpis(mpis, key);
  const left = options.flipLeft16 ? [(digest[0] ?? 0) ^ 0xff, digest[1] ?? 0] : [digest[0] ?? 0, digest[1] ?? 0];
  const body = concat([head, new Uint8Array([unhashed.length >> 8, unhashed.length & 255]), unhashed, new Uint8Array(left), ...mpis.map(mpi)]);
  return packet(2, body);
}

/**
 * A version 3 signature packet (RFC 4880 §5.2.2), as gpg made them until 2.0 (--force-v3-sigs):
 * the digest covers the data, then the signature type and creation time; no subpackets.
 */
export function craftV3SignaturePacket(
  key: CraftKey,
  payload: Uint8Array,
  options: {
    createdAt: number;
    signatureType?: number;
    hashAlgorithm?: number;
    flipLeft16?: boolean;
    keyId?: Uint8Array;
    mapMpis?: (mpis: Uint8Array[]) => Uint8Array[];
  },
): Uint8Array {
  const hashAlgorithm = options.hashAlgorithm ?? 2;
  const hashName = hashNames[hashAlgorithm] ?? 'sha1';
  const hashed = concat([new Uint8Array([options.signatureType ?? 0]), u32(options.createdAt)]);
  const message = Buffer.from(concat([payload, hashed]));
  const digest = crypto.createHash(hashName).update(message).digest();
  const signed = key.sign(digest, hashName, message);
  const mpis = options.mapMpis ? options.mapMpis(signed) : signed;
  const left = options.flipLeft16 ? [(digest[0] ?? 0) ^ 0xff, digest[1] ?? 0] : [digest[0] ?? 0, digest[1] ?? 0];
  const body = concat([
    new Uint8Array([3, 5]),
    hashed,
    options.keyId ?? key.fingerprint.subarray(12),
    new Uint8Array([key.algorithm, hashAlgorithm, ...left]),
    ...mpis.map(mpi),
  ]);
  return packet(2, body);
}

export function armor(bytes: Uint8Array, options: { label?: string; headers?: string[]; crc?: 'good' | 'bad' | 'none'; eol?: string } = {}): string {
  const label = options.label ?? 'SIGNATURE';
  const eol = options.eol ?? '\n';
  const base64 =
    Buffer.from(bytes)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  const crc = crc24(bytes) ^ (options.crc === 'bad' ? 1 : 0);
  const crcLine = options.crc === 'none' ? [] : [`=${Buffer.from([crc >> 16, (crc >> 8) & 255, crc & 255]).toString('base64')}`];
  return [`-----BEGIN PGP ${label}-----`, ...(options.headers ?? []), '', ...base64, ...crcLine, `-----END PGP ${label}-----`, ''].join(eol);
}

/** Splits a binary packet sequence into (tag, body) pairs (new and old packet formats, definite lengths). */
export function readPackets(bytes: Uint8Array): { tag: number; body: Uint8Array }[] {
  const out: { tag: number; body: Uint8Array }[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const first = bytes[offset] ?? 0;
    let tag: number;
    let length: number;
    let position = offset + 1;
    if (first & 0x40) {
      tag = first & 0x3f;
      const l0 = bytes[position] ?? 0;
      if (l0 < 192) {
        length = l0;
        position += 1;
      } else if (l0 < 224) {
        length = ((l0 - 192) << 8) + (bytes[position + 1] ?? 0) + 192;
        position += 2;
      } else {
        length = Buffer.from(bytes.subarray(position + 1, position + 5)).readUInt32BE(0);
        position += 5;
      }
    } else {
      tag = (first >> 2) & 15;
      const size = [1, 2, 4][first & 3] ?? 0;
      length = 0;
      for (let i = 0; i < size; i += 1) length = length * 256 + (bytes[position + i] ?? 0);
      position += size;
    }
    out.push({ tag, body: bytes.subarray(position, position + length) });
    offset = position + length;
  }
  return out;
}

/** Splits a v4 signature packet body into its parts, to rewrite the unhashed area. */
export function splitSignatureBody(body: Uint8Array): { head: Uint8Array; unhashed: Uint8Array; rest: Uint8Array } {
  const hashedLength = ((body[4] ?? 0) << 8) | (body[5] ?? 0);
  const headEnd = 6 + hashedLength;
  const unhashedLength = ((body[headEnd] ?? 0) << 8) | (body[headEnd + 1] ?? 0);
  return {
    head: body.subarray(0, headEnd),
    unhashed: body.subarray(headEnd + 2, headEnd + 2 + unhashedLength),
    rest: body.subarray(headEnd + 2 + unhashedLength),
  };
}

export function decodeSubpackets(area: Uint8Array): Subpacket[] {
  const out: Subpacket[] = [];
  let offset = 0;
  while (offset < area.length) {
    const l0 = area[offset] ?? 0;
    let length: number;
    if (l0 < 192) {
      length = l0;
      offset += 1;
    } else if (l0 < 255) {
      length = ((l0 - 192) << 8) + (area[offset + 1] ?? 0) + 192;
      offset += 2;
    } else {
      length = Buffer.from(area.subarray(offset + 1, offset + 5)).readUInt32BE(0);
      offset += 5;
    }
    const typeByte = area[offset] ?? 0;
    out.push({ type: typeByte & 0x7f, critical: (typeByte & 0x80) !== 0, body: area.subarray(offset + 1, offset + length) });
    offset += length;
  }
  return out;
}

/**
 * Rewrites the unhashed subpackets of every subkey binding signature (class 0x18) of a
 * binary key; the hashed part, and so the binding, stays valid.
 */
export function rewriteBindingUnhashed(key: Uint8Array, rewrite: (subpackets: Subpacket[]) => Subpacket[]): Uint8Array {
  return concat(
    readPackets(key).map(({ tag, body }) => {
      if (tag !== 2 || body[0] !== 4 || body[1] !== 0x18) return packet(tag, body);
      const { head, unhashed, rest } = splitSignatureBody(body);
      const area = encodeSubpackets(rewrite(decodeSubpackets(unhashed)));
      return packet(2, concat([head, new Uint8Array([area.length >> 8, area.length & 255]), area, rest]));
    }),
  );
}
