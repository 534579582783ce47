import { createHash, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist';
import { SignetError } from '../errors.ts';
import { toBase64 } from './encoding.ts';

export type DigestAlgorithm = 'sha256' | 'sha384';

/**
 * What the signing pipelines need from a key. A file key, a KMS or an HSM backend implements it:
 * KMS and PKCS#11 APIs sign digests, which is also what lets the pipelines stream gigabytes
 * through one hash and sign 32 bytes at the end.
 */
export interface Signer {
  /** The sigstore public-key hint: base64(SHA-256(SPKI DER)). Names the key; not a secret. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** The hash the signature scheme uses (SHA-256 for cosign's P-256 keys). */
  readonly digestAlgorithm: DigestAlgorithm;
  /** ASN.1 DER ECDSA signature over H(data). */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** ASN.1 DER ECDSA signature over a digest already computed with `digestAlgorithm`. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
}

/** base64(SHA-256(SPKI DER)): the `publicKey.hint` signet writes into bundles. */
export function publicKeyHint(publicKey: KeyObject): string {
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return toBase64(createHash('sha256').update(spki).digest());
}

interface CurveInfo {
  digestAlgorithm: DigestAlgorithm;
  digestLength: number;
  curve: typeof p256 | typeof p384;
}

function curveOf(key: KeyObject, what: string): CurveInfo {
  if (key.asymmetricKeyType !== 'ec') {
    throw new SignetError('KEYRING_INVALID', `${what}: unsupported key type '${key.asymmetricKeyType ?? 'unknown'}' (ECDSA P-256 or P-384 expected)`);
  }
  const named = key.asymmetricKeyDetails?.namedCurve;
  if (named === 'prime256v1' || named === 'P-256') return { digestAlgorithm: 'sha256', digestLength: 32, curve: p256 };
  if (named === 'secp384r1' || named === 'P-384') return { digestAlgorithm: 'sha384', digestLength: 48, curve: p384 };
  throw new SignetError('KEYRING_INVALID', `${what}: unsupported curve '${named ?? 'unknown'}' (P-256 or P-384 expected)`);
}

/** The hash to stream an artifact through before calling `signDigest` / `verifyDigestSignature`. */
export function digestAlgorithmFor(publicKey: KeyObject): DigestAlgorithm {
  return curveOf(publicKey, 'public key').digestAlgorithm;
}

/** A Signer over an in-memory ECDSA private key. */
export function createKeySigner(privateKey: KeyObject, what = 'private key'): Signer {
  const info = curveOf(privateKey, what);
  const publicKey = createPublicKey(privateKey);
  // node:crypto cannot sign a prehashed digest, so digests go through noble (RFC 6979 nonces);
  // the scalar stays inside this closure and is never logged.
  const scalar = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  return {
    keyId: publicKeyHint(publicKey),
    publicKey,
    digestAlgorithm: info.digestAlgorithm,
    sign: async (data) => nodeSign(info.digestAlgorithm, data, privateKey),
    signDigest: async (digest) => {
      if (digest.length !== info.digestLength) throw new SignetError('INTERNAL', `signDigest expects a ${info.digestAlgorithm} digest`);
      return info.curve.sign(digest, scalar, { prehash: false, extraEntropy: true }).toDERRawBytes();
    },
  };
}

/** Verifies a DER ECDSA signature over data (hashing it with the curve's hash). */
export function verifySignature(publicKey: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const info = curveOf(publicKey, 'public key');
  try {
    return nodeVerify(info.digestAlgorithm, data, publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * Verifies a DER ECDSA signature over a digest. High-S signatures are accepted: Go's ecdsa (cosign)
 * makes them half the time and ECDSA itself does not forbid them.
 */
export function verifyDigestSignature(publicKey: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  const info = curveOf(publicKey, 'public key');
  if (digest.length !== info.digestLength) return false;
  const raw = publicKey.export({ format: 'der', type: 'spki' });
  // The uncompressed point is the SPKI's last 65 (P-256) or 97 (P-384) bytes.
  const point = raw.subarray(raw.length - (info.digestLength * 2 + 1));
  try {
    return info.curve.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
  } catch {
    return false;
  }
}
