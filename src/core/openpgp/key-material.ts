import { createPublicKey, type KeyObject } from 'node:crypto';
import { CurveOid, isRsa, nodeEcdsaCurves, PublicKeyAlgorithm } from './algorithms.ts';

/**
 * node:crypto key material for one OpenPGP (sub)key, built once when the registry is loaded so
 * that a verification costs one native call. Keys node cannot take
 * (Brainpool, …) are `openpgpjs`: their signatures are checked by openpgp.js instead.
 */
export type NativeKey =
  | { kind: 'rsa'; key: KeyObject; modulus: Buffer; modulusBytes: number }
  | { kind: 'ed25519'; key: KeyObject }
  | { kind: 'ecdsa'; key: KeyObject; scalarBytes: number }
  /** DSA, loaded into node:crypto from a DER key built from its numbers (JWK has no DSA). */
  | { kind: 'dsa'; key: KeyObject; qBytes: number }
  | { kind: 'openpgpjs' }
  | { kind: 'unsupported'; detail: string };

/** Builds the node:crypto key from a v4 public key packet body (RFC 4880 §5.5.2). */
export function nativeKeyFromPacketBody(body: Uint8Array): NativeKey {
  try {
    return readNativeKey(body);
  } catch {
    // node:crypto refuses malformed points or moduli; openpgp.js will then say what it thinks.
    return { kind: 'openpgpjs' };
  }
}

/**
 * The shortest hash gpg 2.2 accepts with this key (g10/seskey.c, encode_md_value): DSA and
 * ECDSA need a digest at least as long as the group order (ECDSA capped at 512 bits for P-521);
 * an order under 160 bits or not a whole number of bytes is refused outright (Infinity).
 */
export function minimumHashBits(body: Uint8Array): number {
  const algorithm = body[5] ?? 0;
  let offset = 6;
  const mpiBits = (): number => {
    const bits = ((body[offset] ?? 0) << 8) | (body[offset + 1] ?? 0);
    offset += 2 + ((bits + 7) >> 3);
    return bits;
  };
  if (algorithm === PublicKeyAlgorithm.dsa) {
    mpiBits(); // p
    const qBits = mpiBits();
    return qBits % 8 !== 0 || qBits < 160 ? Infinity : qBits;
  }
  if (algorithm === PublicKeyAlgorithm.ecdsa) {
    const oidLength = body[offset] ?? 0;
    offset += 1 + oidLength;
    const pointBits = mpiBits();
    if (pointBits % 8 > 3) return Infinity;
    const qBits = (pointBits - (pointBits % 8)) / 2;
    if (qBits % 8 !== 0 || qBits < 160) return Infinity;
    return Math.min(qBits, 512);
  }
  return 0;
}

function readNativeKey(body: Uint8Array): NativeKey {
  const algorithm = body[5] ?? 0;
  let offset = 6;
  const mpi = (): Uint8Array => {
    const bits = ((body[offset] ?? 0) << 8) | (body[offset + 1] ?? 0);
    const size = (bits + 7) >> 3;
    const value = body.subarray(offset + 2, offset + 2 + size);
    if (value.length !== size) throw new Error('truncated MPI');
    offset += 2 + size;
    return value;
  };
  if (isRsa(algorithm)) {
    const n = stripZeros(mpi());
    const e = stripZeros(mpi());
    const key = createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' });
    return { kind: 'rsa', key, modulus: Buffer.from(n), modulusBytes: n.length };
  }
  if (algorithm === PublicKeyAlgorithm.eddsaLegacy || algorithm === PublicKeyAlgorithm.ecdsa) {
    const oidLength = body[offset] ?? 0;
    const oid = Buffer.from(body.subarray(offset + 1, offset + 1 + oidLength)).toString('hex');
    offset += 1 + oidLength;
    const point = mpi();
    if (algorithm === PublicKeyAlgorithm.eddsaLegacy) {
      if (oid !== CurveOid.ed25519) return { kind: 'unsupported', detail: `EdDSA curve ${oid}` };
      if (point.length !== 33 || point[0] !== 0x40) return { kind: 'openpgpjs' };
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(point.subarray(1)) }, format: 'jwk' });
      return { kind: 'ed25519', key };
    }
    const curve = nodeEcdsaCurves.get(oid);
    // openpgp.js cannot check other curves (Brainpool, secp256k1) on Node without a module it
    // loads at run time; gpg 2.2 can, so this is a known gap.
    if (!curve) return { kind: 'unsupported', detail: `ECDSA curve ${curveName(oid)}` };
    if (point.length !== 1 + 2 * curve.bytes || point[0] !== 0x04) return { kind: 'openpgpjs' };
    const x = point.subarray(1, 1 + curve.bytes);
    const y = point.subarray(1 + curve.bytes);
    const key = createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x: b64url(x), y: b64url(y) }, format: 'jwk' });
    return { kind: 'ecdsa', key, scalarBytes: curve.bytes };
  }
  if (algorithm === PublicKeyAlgorithm.dsa) {
    const [p, q, g, y] = [mpi(), mpi(), mpi(), mpi()].map(stripZeros) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    // SubjectPublicKeyInfo (RFC 3279 §2.3.2): the parameters p, q, g, then y in the bit string.
    const der = derSequence([
      derSequence([DSA_OID, derSequence([derInteger(p), derInteger(q), derInteger(g)])]),
      derTag(0x03, Buffer.concat([Buffer.from([0]), derInteger(y)])),
    ]);
    const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    return { kind: 'dsa', key, qBytes: q.length };
  }
  return { kind: 'unsupported', detail: `public-key algorithm ${algorithm}` };
}

const curveNames = new Map([
  ['2b2403030208010107', 'brainpoolP256r1'],
  ['2b240303020801010b', 'brainpoolP384r1'],
  ['2b240303020801010d', 'brainpoolP512r1'],
  ['2b8104000a', 'secp256k1'],
]);

/** A readable name for a curve OID (hex of the DER body). */
export function curveName(oidHex: string): string {
  return curveNames.get(oidHex) ?? `with OID ${oidHex}`;
}

/**
 * Why openpgp.js cannot check signatures made by this key, if it cannot: keys on curves other
 * than NIST P-256/384/521, Ed25519 and Curve25519.
 */
export function uncheckableKey(body: Uint8Array): string | undefined {
  const algorithm = body[5] ?? 0;
  if (algorithm !== PublicKeyAlgorithm.ecdsa && algorithm !== PublicKeyAlgorithm.eddsaLegacy && algorithm !== PublicKeyAlgorithm.ecdh) return undefined;
  const oidLength = body[6] ?? 0;
  const oid = Buffer.from(body.subarray(7, 7 + oidLength)).toString('hex');
  if (nodeEcdsaCurves.has(oid) || oid === CurveOid.ed25519 || oid === CurveOid.curve25519) return undefined;
  return `it is on the elliptic curve ${curveName(oid)}, which signet cannot check yet (gpg can)`;
}

/** 1.2.840.10040.4.1, id-dsa. */
const DSA_OID = Buffer.from('06072a8648ce380401', 'hex');

function derTag(tag: number, body: Uint8Array): Buffer {
  const length = body.length;
  const header = length < 0x80 ? [tag, length] : length < 0x100 ? [tag, 0x81, length] : [tag, 0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

function derInteger(unsigned: Uint8Array): Buffer {
  // A leading 0x00 keeps a value with its top bit set positive.
  return derTag(0x02, (unsigned[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), unsigned]) : unsigned);
}

function derSequence(parts: Uint8Array[]): Buffer {
  return derTag(0x30, Buffer.concat(parts));
}

function stripZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  return bytes.subarray(start);
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}
