import { constants, createHash, publicDecrypt, verify as nativeVerify } from 'node:crypto';
import type { SignatureVerdict } from '../verdict.ts';
import { supportedHash } from './algorithms.ts';
import { decodeArmor } from './armor.ts';
import { canonicalText } from './canonical-text.ts';
import { errorVerdict, postCheck, preCheck, type VerifyOptions } from './decide.ts';
import type { NativeKey } from './key-material.ts';
import type { LoadedOpenPgpRegistry } from './registry.ts';
import { readDetachedSignature, type ParsedSignature } from './signature-packet.ts';

/** The fast path hands a signature to openpgp.js when it meets something it does not cover. */
export const FALLBACK = Symbol('fallback to openpgp.js');

/**
 * Verifies with our own armor and packet reader, node:crypto hashing and one native signature
 * check; the key's status comes from the registry's precomputed facts. Returns FALLBACK for v3
 * signatures, unusual packet framing and keys node:crypto cannot load (DSA, other curves).
 */
export function verifyFast(registry: LoadedOpenPgpRegistry, payload: Uint8Array, armoredSignature: string, options: VerifyOptions): SignatureVerdict | typeof FALLBACK {
  const armor = decodeArmor(armoredSignature);
  if (!armor.ok) return errorVerdict('malformed_signature', armor.detail);
  const read = readDetachedSignature(armor.bytes);
  switch (read.kind) {
    case 'fallback':
      return FALLBACK;
    case 'malformed':
      return errorVerdict('malformed_signature', read.detail);
    case 'several':
      // gpg checks each and prints one status line per signature; git then reports E.
      return errorVerdict('malformed_signature', `${read.count} signatures in one block; git reports E for more than one`);
    default:
      break;
  }
  const signature = read.signature;
  const pre = preCheck(registry, signature, options);
  if (pre.kind === 'verdict') return pre.verdict;
  const record = pre.record;
  const native = record.native;
  if (native.kind === 'openpgpjs') return FALLBACK;
  if (native.kind === 'unsupported') return errorVerdict('unsupported_algorithm', `key ${record.fingerprint}: ${native.detail}`);
  if (record.algorithm !== signature.publicKeyAlgorithm) {
    return postCheck(record, signature, false, options, 'the signature is of another public-key algorithm than its issuer key');
  }
  return postCheck(record, signature, checkCryptography(native, signature, payload), options);
}

function checkCryptography(native: Exclude<NativeKey, { kind: 'openpgpjs' } | { kind: 'unsupported' }>, signature: ParsedSignature, payload: Uint8Array): boolean {
  const hash = supportedHash(signature.hashAlgorithm);
  if (!hash) return false;
  const data = signature.signatureType === 0x01 ? canonicalText(payload) : payload;
  const trailer = v4Trailer(signature.hashedPart.length);
  const digest = createHash(hash.name).update(data).update(signature.hashedPart).update(trailer).digest();
  // The two digest bytes stored in the packet are not signed; gpg and openpgp.js both refuse a
  // signature whose stored bytes disagree with the digest.
  if (((digest[0] ?? 0) << 8 | (digest[1] ?? 0)) !== signature.left16) return false;
  try {
    switch (native.kind) {
      case 'ed25519': {
        const value = joinScalars(signature.mpis, 32);
        return value !== undefined && nativeVerify(null, digest, native.key, value);
      }
      case 'ecdsa': {
        const value = joinScalars(signature.mpis, native.scalarBytes);
        if (value === undefined) return false;
        // node:crypto has no ECDSA over a ready digest, so it hashes the same bytes once more.
        const message = Buffer.concat([data, signature.hashedPart, trailer]);
        return nativeVerify(hash.name, message, { key: native.key, dsaEncoding: 'ieee-p1363' }, value);
      }
      case 'rsa': {
        if (signature.mpis.length !== 1) return false;
        const value = leftPad(stripLeadingZeros(signature.mpis[0] ?? new Uint8Array()), native.modulusBytes);
        if (value === undefined || native.modulusBytes < hash.digestInfo.length + digest.length + 11) return false;
        // Raw RSA, then an exact comparison with the PKCS#1 v1.5 encoding, as libgcrypt does;
        // node:crypto refuses a value not below the modulus.
        const encoded = publicDecrypt({ key: native.key, padding: constants.RSA_NO_PADDING }, value);
        return encoded.equals(pkcs1Encoding(native.modulusBytes, hash.digestInfo, digest));
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}

function v4Trailer(hashedLength: number): Uint8Array {
  return new Uint8Array([0x04, 0xff, (hashedLength >>> 24) & 0xff, (hashedLength >>> 16) & 0xff, (hashedLength >>> 8) & 0xff, hashedLength & 0xff]);
}

function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start += 1;
  return bytes.subarray(start);
}

function leftPad(bytes: Uint8Array, size: number): Buffer | undefined {
  if (bytes.length > size) return undefined;
  const out = Buffer.alloc(size);
  out.set(bytes, size - bytes.length);
  return out;
}

function joinScalars(mpis: Uint8Array[], size: number): Buffer | undefined {
  if (mpis.length !== 2) return undefined;
  const r = stripLeadingZeros(mpis[0] ?? new Uint8Array());
  const s = stripLeadingZeros(mpis[1] ?? new Uint8Array());
  if (r.length > size || s.length > size) return undefined;
  const out = Buffer.alloc(size * 2);
  out.set(r, size - r.length);
  out.set(s, 2 * size - s.length);
  return out;
}

function pkcs1Encoding(size: number, digestInfo: Buffer, digest: Buffer): Buffer {
  const out = Buffer.alloc(size, 0xff);
  const tLength = digestInfo.length + digest.length;
  out[0] = 0x00;
  out[1] = 0x01;
  out[size - tLength - 1] = 0x00;
  digestInfo.copy(out, size - tLength);
  digest.copy(out, size - digest.length);
  return out;
}
