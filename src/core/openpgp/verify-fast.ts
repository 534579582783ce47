import { constants, hash as oneShotHash, publicDecrypt } from 'node:crypto';
import type { NativeCheck, NativeOutcome } from '../native-verify.ts';
import type { SignatureVerdict } from '../verdict.ts';
import { supportedHash } from './algorithms.ts';
import { decodeArmor } from './armor.ts';
import { canonicalText } from './canonical-text.ts';
import { errorVerdict, postCheck, preCheck, type VerifyOptions } from './decide.ts';
import type { NativeKey } from './key-material.ts';
import type { LoadedOpenPgpRegistry } from './registry.ts';
import { readDetachedSignature, signatureMpiCount, type ParsedSignature } from './signature-packet.ts';

/** The fast path hands a signature to openpgp.js when it meets something it does not cover. */
export const FALLBACK = Symbol('fallback to openpgp.js');

/** The signature's cryptography, still to run, and the verdict that follows from its outcome. */
export interface PendingFastVerification {
  native: NativeCheck;
  finish: (outcome: NativeOutcome) => SignatureVerdict;
}

/**
 * Verifies with our own armor and packet reader, node:crypto hashing and one native signature
 * check; the key's status comes from the registry's precomputed facts. Returns FALLBACK for
 * unusual packet framing and keys node:crypto cannot take.
 */
export function verifyFast(
  registry: LoadedOpenPgpRegistry,
  payload: Uint8Array,
  armoredSignature: string,
  options: VerifyOptions,
): SignatureVerdict | PendingFastVerification | typeof FALLBACK {
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
  // gpg verifies with the key's algorithm whatever the signature packet claims, as long as the
  // packet carries enough values for it (an EdDSA signature labelled ECDSA still verifies).
  const needed = signatureMpiCount(record.algorithm);
  if (signature.mpis.length < needed) {
    return errorVerdict('malformed_signature', `the signature carries ${signature.mpis.length} value(s); key ${record.fingerprint} needs ${needed}`, {
      key: record.fingerprint,
    });
  }
  const check = checkCryptography(native, signature, payload);
  if (typeof check === 'boolean') return postCheck(record, signature, check, options);
  // An error from node:crypto (a value it refuses) counts as a signature that does not verify.
  return { native: check, finish: (outcome) => postCheck(record, signature, outcome === true, options) };
}

const ed25519Order = 2n ** 252n + 27742317777372353535851937790883648493n;

/** false, or the native check to run for Ed25519 and ECDSA; RSA is settled here (a raw RSA operation). */
export function checkCryptography(
  native: Exclude<NativeKey, { kind: 'openpgpjs' } | { kind: 'unsupported' }>,
  signature: ParsedSignature,
  payload: Uint8Array,
): boolean | NativeCheck {
  const hash = supportedHash(signature.hashAlgorithm);
  if (!hash) return false;
  const data = signature.signatureType === 0x01 ? canonicalText(payload) : payload;
  // What the signature covers (RFC 4880 §5.2.4): the data, the hashed part of the packet and
  // the v4 trailer. One buffer and a one-shot hash cost less than a streaming hash here.
  const message =
    signature.version === 3 ? Buffer.concat([data, signature.hashedPart]) : Buffer.concat([data, signature.hashedPart, v4Trailer(signature.hashedPart.length)]);
  // The two digest bytes stored in the packet are not signed and gpg 2.2 does not look at them
  // (a signature with altered bytes is GOODSIG there), so neither do we. openpgp.js refuses such
  // a signature: its path is stricter here.
  try {
    switch (native.kind) {
      case 'ed25519': {
        const digest = oneShotHash(hash.name, message, 'buffer');
        // EdDSA MPIs hold the native encodings of R and S (RFC 4880bis §5.2.3.3): Ed25519's
        // 64-byte signature is the two, each padded back to 32 bytes.
        const value = joinScalars(signature.mpis, 32);
        if (value === undefined) return false;
        // libgcrypt accepts S ≥ L (the group order): S + kL passes its check [S]B = R + [h]A just
        // as S does. OpenSSL insists on S < L, so reduce such an S first. S is little-endian.
        if ((value[63] ?? 0) >= 0x10) reduceScalar(value);
        return { algorithm: null, data: digest, key: native.key, signature: value };
      }
      case 'ecdsa': {
        const value = joinScalars(signature.mpis, native.scalarBytes);
        if (value === undefined) return false;
        // node:crypto has no ECDSA over a ready digest: it hashes the message itself.
        return { algorithm: hash.name, data: message, key: { key: native.key, dsaEncoding: 'ieee-p1363' }, signature: value };
      }
      case 'rsa': {
        const digest = oneShotHash(hash.name, message, 'buffer');
        let value = stripLeadingZeros(signature.mpis[0] ?? new Uint8Array());
        // libgcrypt takes a signature value not below the modulus as it is (modulo n); node:crypto refuses it.
        if (value.length > native.modulusBytes || (value.length === native.modulusBytes && Buffer.compare(value, native.modulus) >= 0)) {
          value = bigToBytes(bytesToBig(value) % bytesToBig(native.modulus));
        }
        if (native.modulusBytes < hash.digestInfo.length + digest.length + 11) return false;
        // Raw RSA, then an exact comparison with the PKCS#1 v1.5 encoding, as libgcrypt does.
        const encoded = publicDecrypt({ key: native.key, padding: constants.RSA_NO_PADDING }, leftPadded(value, native.modulusBytes));
        return encoded.equals(pkcs1Encoding(native.modulusBytes, hash.digestInfo, digest));
      }
      case 'dsa': {
        // OpenSSL, like libgcrypt, wants 0 < r, s < q and cuts a longer digest to q's length
        // from the left (a shorter one gpg refuses before this: decide.ts).
        const value = joinScalars(signature.mpis, native.qBytes);
        if (value === undefined) return false;
        return { algorithm: hash.name, data: message, key: { key: native.key, dsaEncoding: 'ieee-p1363' }, signature: value };
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}

function reduceScalar(signature: Buffer): void {
  const s = bytesToBig(Buffer.from(signature.subarray(32)).reverse()) % ed25519Order;
  signature.set(leftPadded(bigToBytes(s), 32).reverse(), 32);
}

export function bytesToBig(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`);
}

function bigToBytes(value: bigint): Uint8Array {
  const hex = value.toString(16);
  return stripLeadingZeros(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'));
}

function leftPadded(bytes: Uint8Array, size: number): Buffer {
  const out = Buffer.alloc(size);
  out.set(bytes, size - bytes.length);
  return out;
}

function v4Trailer(hashedLength: number): Uint8Array {
  return new Uint8Array([0x04, 0xff, (hashedLength >>> 24) & 0xff, (hashedLength >>> 16) & 0xff, (hashedLength >>> 8) & 0xff, hashedLength & 0xff]);
}

function stripLeadingZeros(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start += 1;
  return bytes.subarray(start);
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
