import type { KeyObject } from 'node:crypto';
import { SignetError } from '../errors.ts';
import type { VerdictReason } from '../verdict.ts';
import { fromBase64, isRecord, parseJson, toBase64 } from './encoding.ts';
import { parseDsseEnvelope, verifyDsse, type DsseEnvelope } from './dsse.ts';
import { verifyDigestSignature } from './signer.ts';

export const SIGSTORE_BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface MessageSignature {
  messageDigest: { algorithm: 'SHA2_256' | 'SHA2_384'; digest: string };
  signature: string;
}

/**
 * A sigstore bundle v0.3 (protobuf-specs JSON) signed with a key: `publicKey.hint` names the key,
 * no transparency-log entries, no timestamps (signet signs offline).
 */
export interface SigstoreBundle {
  mediaType: string;
  verificationMaterial: {
    publicKey: { hint: string };
    tlogEntries: unknown[];
    timestampVerificationData?: { rfc3161Timestamps: unknown[] };
  };
  messageSignature?: MessageSignature;
  dsseEnvelope?: DsseEnvelope;
}

function verificationMaterial(hint: string): SigstoreBundle['verificationMaterial'] {
  return { publicKey: { hint }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } };
}

export function messageSignatureBundle(digest: Uint8Array, signature: Uint8Array, hint: string): SigstoreBundle {
  const algorithm = digest.length === 48 ? 'SHA2_384' : 'SHA2_256';
  return {
    mediaType: SIGSTORE_BUNDLE_V03,
    verificationMaterial: verificationMaterial(hint),
    messageSignature: { messageDigest: { algorithm, digest: toBase64(digest) }, signature: toBase64(signature) },
  };
}

export function dsseBundle(envelope: DsseEnvelope, hint: string): SigstoreBundle {
  return { mediaType: SIGSTORE_BUNDLE_V03, verificationMaterial: verificationMaterial(hint), dsseEnvelope: envelope };
}

/** Reads a bundle; accepts v0.1–v0.3 media types and any key material, and says what it found. */
export function parseSigstoreBundle(text: string | Uint8Array, what: string): SigstoreBundle {
  const value = parseJson(text, what);
  if (!isRecord(value) || typeof value.mediaType !== 'string' || !value.mediaType.startsWith('application/vnd.dev.sigstore.bundle')) {
    throw new SignetError('SIGNATURE_MALFORMED', `${what} is not a sigstore bundle`);
  }
  const material = isRecord(value.verificationMaterial) ? value.verificationMaterial : {};
  const hint = isRecord(material.publicKey) && typeof material.publicKey.hint === 'string' ? material.publicKey.hint : '';
  const bundle: SigstoreBundle = {
    mediaType: value.mediaType,
    verificationMaterial: { publicKey: { hint }, tlogEntries: Array.isArray(material.tlogEntries) ? material.tlogEntries : [] },
  };
  if (isRecord(value.messageSignature)) {
    const ms = value.messageSignature;
    const md = isRecord(ms.messageDigest) ? ms.messageDigest : undefined;
    if (typeof ms.signature !== 'string' || !md || typeof md.digest !== 'string' || (md.algorithm !== 'SHA2_256' && md.algorithm !== 'SHA2_384')) {
      throw new SignetError('SIGNATURE_MALFORMED', `${what}: messageSignature lacks a SHA2_256/SHA2_384 digest or a signature`);
    }
    bundle.messageSignature = { messageDigest: { algorithm: md.algorithm, digest: md.digest }, signature: ms.signature };
  } else if (value.dsseEnvelope !== undefined) {
    bundle.dsseEnvelope = parseDsseEnvelope(value.dsseEnvelope, `${what} dsseEnvelope`);
  } else {
    throw new SignetError('SIGNATURE_MALFORMED', `${what} holds neither a messageSignature nor a dsseEnvelope`);
  }
  return bundle;
}

export interface BundleVerification {
  ok: boolean;
  reason: VerdictReason;
  detail: string;
  /** For DSSE bundles that verified: the payload bytes. */
  payload?: Buffer;
  payloadType?: string;
}

/** Checks a messageSignature bundle against the artifact's digest (computed by the caller, streamed). */
export function verifyMessageSignatureBundle(bundle: SigstoreBundle, artifactDigest: Uint8Array, publicKey: KeyObject): BundleVerification {
  const ms = bundle.messageSignature;
  if (!ms) return { ok: false, reason: 'unknown_signature_type', detail: 'bundle carries a DSSE envelope, not a message signature' };
  const recorded = fromBase64(ms.messageDigest.digest, 'bundle message digest');
  if (!recorded.equals(Buffer.from(artifactDigest))) {
    return { ok: false, reason: 'invalid', detail: 'artifact digest does not match the bundle' };
  }
  let signature: Buffer;
  try {
    signature = fromBase64(ms.signature, 'bundle signature');
  } catch {
    return { ok: false, reason: 'malformed_signature', detail: 'bundle signature is not base64' };
  }
  return verifyDigestSignature(publicKey, artifactDigest, signature)
    ? { ok: true, reason: 'valid', detail: 'signature verified' }
    : { ok: false, reason: 'invalid', detail: 'signature does not verify with the given key' };
}

export function verifyDsseBundle(bundle: SigstoreBundle, publicKey: KeyObject): BundleVerification {
  const envelope = bundle.dsseEnvelope;
  if (!envelope) return { ok: false, reason: 'unknown_signature_type', detail: 'bundle carries a message signature, not a DSSE envelope' };
  const payload = verifyDsse(envelope, publicKey);
  return payload
    ? { ok: true, reason: 'valid', detail: 'DSSE signature verified', payload, payloadType: envelope.payloadType }
    : { ok: false, reason: 'invalid', detail: 'no DSSE signature verifies with the given key' };
}
