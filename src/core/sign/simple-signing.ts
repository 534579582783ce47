import type { KeyObject } from 'node:crypto';
import type { VerdictReason } from '../verdict.ts';
import { fromBase64, isRecord, parseJson } from './encoding.ts';
import { verifySignature } from './signer.ts';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/**
 * cosign's payload, byte for byte as cosign marshals it (key order, `"optional":null` when there
 * are no annotations), so a signature made here and one made by cosign look alike.
 */
export function simpleSigningPayload(dockerReference: string, manifestDigest: string, annotations?: Record<string, string>): Buffer {
  const optional = annotations && Object.keys(annotations).length > 0 ? annotations : null;
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': manifestDigest },
        type: COSIGN_SIGNATURE_TYPE,
      },
      optional,
    }),
    'utf8',
  );
}

export interface SimpleSigningClaims {
  dockerReference: string;
  manifestDigest: string;
  optional: Record<string, unknown>;
}

export interface ImageSignatureCheck {
  ok: boolean;
  reason: VerdictReason;
  detail: string;
  claims?: SimpleSigningClaims;
}

function parseClaims(payload: Uint8Array): SimpleSigningClaims | undefined {
  let value: unknown;
  try {
    value = parseJson(payload, 'simple-signing payload');
  } catch {
    return undefined;
  }
  if (!isRecord(value) || !isRecord(value.critical)) return undefined;
  const { identity, image, type } = value.critical;
  if (type !== COSIGN_SIGNATURE_TYPE || !isRecord(image) || typeof image['docker-manifest-digest'] !== 'string') return undefined;
  return {
    dockerReference: isRecord(identity) && typeof identity['docker-reference'] === 'string' ? identity['docker-reference'] : '',
    manifestDigest: image['docker-manifest-digest'],
    optional: isRecord(value.optional) ? value.optional : {},
  };
}

/**
 * Verifies one cosign simple-signing signature: the signature over the payload bytes, then the
 * claims: the manifest digest it names, and every required annotation (compared as strings, as
 * cosign's `-a` does).
 */
export function verifySimpleSigning(input: {
  payload: Uint8Array;
  signatureBase64: string;
  publicKey: KeyObject;
  manifestDigest: string;
  annotations?: Record<string, string>;
}): ImageSignatureCheck {
  let signature: Buffer;
  try {
    signature = fromBase64(input.signatureBase64, 'cosign signature annotation');
  } catch {
    return { ok: false, reason: 'malformed_signature', detail: 'signature annotation is not base64' };
  }
  if (!verifySignature(input.publicKey, input.payload, signature)) {
    return { ok: false, reason: 'invalid', detail: 'signature does not verify with the given key' };
  }
  return checkSimpleSigningClaims(input.payload, input.manifestDigest, input.annotations);
}

/** The claims of a payload whose signature already verified: the digest it names and the annotations. */
export function checkSimpleSigningClaims(payload: Uint8Array, manifestDigest: string, annotations: Record<string, string> = {}): ImageSignatureCheck {
  const claims = parseClaims(payload);
  if (!claims) return { ok: false, reason: 'unknown_signature_type', detail: 'signed payload is not a cosign simple-signing payload' };
  if (claims.manifestDigest !== manifestDigest) {
    return { ok: false, reason: 'invalid', detail: `signature is for ${claims.manifestDigest}, not ${manifestDigest}`, claims };
  }
  for (const [name, expected] of Object.entries(annotations)) {
    const actual = claims.optional[name];
    if (actual === undefined || String(actual) !== expected) {
      return {
        ok: false,
        reason: 'invalid',
        detail: `annotation ${name} is ${actual === undefined ? 'missing' : `'${String(actual)}'`}, expected '${expected}'`,
        claims,
      };
    }
  }
  return { ok: true, reason: 'valid', detail: 'signature verified', claims };
}
