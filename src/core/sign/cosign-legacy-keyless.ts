/**
 * cosign's legacy keyless image signatures (`sha256-<hex>.sig` layers) carry their verification
 * material in layer annotations: the Fulcio certificate and chain as PEM and the Rekor entry as
 * a "bundle" (signed entry timestamp + the entry). This rebuilds the sigstore bundle v0.1 those
 * annotations amount to, so one verifier (@sigstore/verify) checks both formats.
 */
import { isRecord, sha256, toBase64 } from './encoding.ts';

export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const COSIGN_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const COSIGN_REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

function pemBlocks(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((match) => (match[1] ?? '').replace(/\s+/g, ''));
}

/** The bundle, or why the annotations cannot make one. */
export function legacyKeylessBundle(
  payload: Uint8Array,
  signatureBase64: string,
  annotations: Record<string, string>,
): { bundle: unknown } | { problem: string } {
  const leaf = pemBlocks(annotations[COSIGN_CERTIFICATE_ANNOTATION] ?? '');
  if (leaf.length !== 1) return { problem: 'no certificate annotation (a keyless signature carries its Fulcio certificate)' };
  const chain = pemBlocks(annotations[COSIGN_CHAIN_ANNOTATION] ?? '');
  let rekor: unknown;
  try {
    rekor = JSON.parse(annotations[COSIGN_REKOR_BUNDLE_ANNOTATION] ?? 'null');
  } catch {
    return { problem: 'the Rekor bundle annotation is not JSON' };
  }
  if (!isRecord(rekor) || typeof rekor.SignedEntryTimestamp !== 'string' || !isRecord(rekor.Payload)) {
    return { problem: 'no Rekor bundle annotation: the signature was never logged, so it cannot be checked offline' };
  }
  const entry = rekor.Payload;
  if (
    typeof entry.body !== 'string' ||
    typeof entry.integratedTime !== 'number' ||
    typeof entry.logIndex !== 'number' ||
    typeof entry.logID !== 'string' ||
    !/^[0-9a-f]{64}$/.test(entry.logID)
  ) {
    return { problem: 'the Rekor bundle annotation lacks body, integratedTime, logIndex or logID' };
  }
  let kind = 'hashedrekord';
  let version = '0.0.1';
  try {
    const body = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8')) as { kind?: unknown; apiVersion?: unknown };
    if (typeof body.kind === 'string') kind = body.kind;
    if (typeof body.apiVersion === 'string') version = body.apiVersion;
  } catch {
    return { problem: 'the Rekor entry body is not JSON' };
  }
  return {
    bundle: {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: [...leaf, ...chain].map((rawBytes) => ({ rawBytes })) },
        tlogEntries: [
          {
            logIndex: String(entry.logIndex),
            logId: { keyId: toBase64(Buffer.from(entry.logID, 'hex')) },
            kindVersion: { kind, version },
            integratedTime: String(entry.integratedTime),
            inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
            canonicalizedBody: entry.body,
          },
        ],
      },
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: toBase64(sha256(payload)) }, signature: signatureBase64 },
    },
  };
}
