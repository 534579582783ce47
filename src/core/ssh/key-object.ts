/**
 * node:crypto KeyObjects for SSH public keys, built through JWK (no DER assembly by hand) and
 * cached per parsed key: building one costs more than an Ed25519 verification.
 */
import { Buffer } from 'node:buffer';
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { UnsupportedKeyError, CURVE_BYTES, type SshPublicKey } from './public-key.ts';

const cache = new WeakMap<SshPublicKey, KeyObject>();

const JWK_CURVES = { nistp256: 'P-256', nistp384: 'P-384', nistp521: 'P-521' } as const;

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function jwkOf(key: SshPublicKey): JsonWebKey {
  switch (key.algorithm) {
    case 'ed25519':
    case 'sk-ed25519':
      return { kty: 'OKP', crv: 'Ed25519', x: b64url(key.point as Uint8Array) };
    case 'ecdsa':
    case 'sk-ecdsa': {
      const point = key.point as Uint8Array;
      const size = CURVE_BYTES[key.curve ?? 'nistp256'];
      return { kty: 'EC', crv: JWK_CURVES[key.curve ?? 'nistp256'], x: b64url(point.subarray(1, 1 + size)), y: b64url(point.subarray(1 + size)) };
    }
    case 'rsa': {
      const rsa = key.rsa as { e: Uint8Array; n: Uint8Array };
      return { kty: 'RSA', n: b64url(rsa.n), e: b64url(rsa.e) };
    }
    case 'dsa':
      throw new UnsupportedKeyError('DSA (ssh-dss) keys are not supported: OpenSSH deprecated them and they sign with SHA-1');
  }
}

/** Throws UnsupportedKeyError for DSA and Error for key material node:crypto rejects (an EC point off the curve). */
export function keyObjectFor(key: SshPublicKey): KeyObject {
  let object = cache.get(key);
  if (!object) {
    object = createPublicKey({ key: jwkOf(key), format: 'jwk' });
    cache.set(key, object);
  }
  return object;
}
