import { readFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { SignetError } from '../core/errors.ts';
import { fromBase64 } from '../core/sign/encoding.ts';
import { messageSignatureBundle, verifyMessageSignatureBundle, type SigstoreBundle, type BundleVerification } from '../core/sign/sigstore-bundle.ts';
import { digestAlgorithmFor, verifyDigestSignature, type Signer } from '../core/sign/signer.ts';
import { digestFile, type DigestOptions } from './file-digest.ts';

export interface BlobSignature {
  /** The file's digest with the signer's hash (SHA-256 for cosign keys). */
  digest: Buffer;
  size: number;
  /** DER ECDSA, as `cosign sign-blob` makes it (it prints this base64-encoded). */
  signature: Uint8Array;
  bundle: SigstoreBundle;
}

/** Streams the file through one hash and signs the digest: constant memory at any size. */
export async function signBlobFile(path: string, signer: Signer, options: DigestOptions = {}): Promise<BlobSignature> {
  const { digest, size } = await digestFile(path, signer.digestAlgorithm, options);
  const signature = await signer.signDigest(digest);
  return { digest, size, signature, bundle: messageSignatureBundle(digest, signature, signer.keyId) };
}

/**
 * A signature file as cosign writes it (base64 of DER) or raw DER (as `openssl dgst -sign` writes
 * it). Both DER and the base64 of DER start with a SEQUENCE (0x30; base64 "M"), which tells them apart.
 */
export function decodeSignatureFile(bytes: Uint8Array): Buffer {
  const buffer = Buffer.from(bytes);
  const text = buffer.toString('latin1').trim();
  if (/^[A-Za-z0-9+/=\s]+$/.test(text)) {
    const decoded = fromBase64(text, 'signature file');
    if (decoded[0] === 0x30) return decoded;
  }
  if (buffer[0] === 0x30) return buffer;
  throw new SignetError('SIGNATURE_MALFORMED', 'signature file is neither base64 nor DER');
}

export async function verifyBlobSignature(path: string, publicKey: KeyObject, signature: Uint8Array, options: DigestOptions = {}): Promise<BundleVerification> {
  const { digest } = await digestFile(path, digestAlgorithmFor(publicKey), options);
  return verifyDigestSignature(publicKey, digest, signature)
    ? { ok: true, reason: 'valid', detail: 'signature verified' }
    : { ok: false, reason: 'invalid', detail: 'signature does not verify with the given key' };
}

export async function verifyBlobBundle(path: string, publicKey: KeyObject, bundle: SigstoreBundle, options: DigestOptions = {}): Promise<BundleVerification> {
  const { digest } = await digestFile(path, digestAlgorithmFor(publicKey), options);
  return verifyMessageSignatureBundle(bundle, digest, publicKey);
}

export async function readSignatureFile(path: string): Promise<Buffer> {
  return decodeSignatureFile(await readFile(path));
}
