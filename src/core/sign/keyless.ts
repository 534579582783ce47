/**
 * Keyless (Sigstore) verification, offline: the signing certificate chains to a Fulcio CA of the
 * trusted root, a transparency-log entry (inclusion proof or signed entry timestamp) is checked
 * against the root's log keys, the certificate was valid when the log (or a timestamp
 * authority) saw the signature, the signature verifies, and the identity — SAN and OIDC
 * issuer — is the one asked for. @sigstore/verify does the cryptography; this module picks the
 * thresholds, matches identities (exact or anchored regexp) and says which check failed.
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, Verifier, type SignedEntity } from '@sigstore/verify';
import { SignetError } from '../errors.ts';
import { anchoredRegexp, compileIdentity, identityMatches as signerIsIdentity } from '../sigstore/identity.ts';
import type { SigstoreTrust } from '../sigstore/trusted-root.ts';
import { isRecord } from './encoding.ts';
import { verifyDigestSignature } from './signer.ts';

export interface IdentityPolicy {
  subject?: string;
  subjectRegExp?: string;
  issuer?: string;
  issuerRegExp?: string;
}

/** Which part of the verification refused: what the output names. */
export type KeylessCheck = 'bundle' | 'chain' | 'log' | 'time' | 'signature' | 'identity';

export interface KeylessIdentity {
  subject: string;
  issuer: string;
}

export type KeylessResult =
  { ok: true; identity: KeylessIdentity; detail: string } | { ok: false; check: KeylessCheck; detail: string; identity?: KeylessIdentity };

/**
 * An identity policy needs both halves: a subject (or subject regexp) and an issuer (or issuer
 * regexp). Verifying a keyless signature without them would accept anyone with an OIDC account.
 */
export function checkIdentityPolicy(
  policy: IdentityPolicy,
  names = {
    subject: '--certificate-identity',
    subjectRegExp: '--certificate-identity-regexp',
    issuer: '--certificate-oidc-issuer',
    issuerRegExp: '--certificate-oidc-issuer-regexp',
  },
): void {
  if ((policy.subject === undefined) === (policy.subjectRegExp === undefined))
    throw new SignetError('USAGE', `give exactly one of ${names.subject} or ${names.subjectRegExp}: keyless verification without an identity accepts anyone`);
  if ((policy.issuer === undefined) === (policy.issuerRegExp === undefined))
    throw new SignetError('USAGE', `give exactly one of ${names.issuer} or ${names.issuerRegExp}`);
  if (policy.subjectRegExp !== undefined) anchoredRegexp(policy.subjectRegExp, names.subjectRegExp);
  if (policy.issuerRegExp !== undefined) anchoredRegexp(policy.issuerRegExp, names.issuerRegExp);
}

/** The one identity matcher (src/core/sigstore/identity.ts), for a policy in cosign's spelling. */
export function identityMatches(policy: IdentityPolicy, identity: KeylessIdentity): boolean {
  const { subject, subjectRegExp: subjectRegexp, issuer, issuerRegExp: issuerRegexp } = policy;
  return signerIsIdentity(compileIdentity({ subject, subjectRegexp, issuer, issuerRegexp }), identity.subject, identity.issuer);
}

function checkOf(error: unknown): KeylessCheck {
  const code = (error as { code?: unknown })?.code;
  const message = (error as Error)?.message ?? '';
  if (typeof code !== 'string') return 'bundle';
  if (code.startsWith('TLOG')) return 'log';
  if (code === 'TIMESTAMP_ERROR') return 'time';
  if (code === 'SIGNATURE_ERROR') return 'signature';
  if (code === 'UNTRUSTED_SIGNER_ERROR') return 'identity';
  if (code === 'CERTIFICATE_ERROR' && /valid|expire|date|time/i.test(message)) return 'time';
  return 'chain';
}

/**
 * Verifies a bundle with a certificate. `artifact` is the signed bytes for a message signature;
 * `digest` (the artifact's SHA-256, streamed by the caller) may stand in for large files. DSSE
 * bundles carry their payload. Never throws for what the bundle contains.
 */
export function verifyKeylessBundle(
  bundleJson: unknown,
  input: { artifact?: Uint8Array; digest?: Uint8Array },
  trust: SigstoreTrust,
  policy: IdentityPolicy | readonly IdentityPolicy[],
): KeylessResult {
  const inconsistent = inconsistentInclusionProof(bundleJson);
  if (inconsistent) return { ok: false, check: 'log', detail: inconsistent };
  let entity: SignedEntity;
  try {
    const bundle = bundleFromJSON(bundleJson);
    if (bundle.verificationMaterial.content.$case === 'publicKey')
      return { ok: false, check: 'bundle', detail: 'bundle is signed with a key, not keylessly (verify it with --key)' };
    if (bundle.content.$case === 'messageSignature' && input.artifact === undefined && input.digest === undefined)
      return { ok: false, check: 'bundle', detail: 'message signature bundle needs the artifact' };
    entity = toSignedEntity(bundle, input.artifact ? Buffer.from(input.artifact) : undefined);
    if (bundle.content.$case === 'messageSignature' && input.artifact === undefined && input.digest) {
      const claimed = bundle.content.messageSignature.messageDigest?.digest;
      const digest = Buffer.from(input.digest);
      const signature = entity.signature;
      // The bundle's signature is over the artifact; check it against the digest the caller
      // streamed (the artifact never needs to be in memory), and the bundle's own digest claim.
      entity = {
        ...entity,
        signature: {
          signature: signature.signature,
          compareSignature: (other) => signature.compareSignature(other),
          compareDigest: (other) => digest.equals(other),
          verifySignature: (key) => claimed !== undefined && Buffer.from(claimed).equals(digest) && verifyDigestSignature(key, digest, signature.signature),
        },
      };
    }
  } catch (error) {
    return { ok: false, check: 'bundle', detail: `unreadable bundle: ${(error as Error).message}` };
  }
  let identity: KeylessIdentity | undefined;
  try {
    const signer = new Verifier(trust.material, { tlogThreshold: 1, ctlogThreshold: trust.requireSct ? 1 : 0, timestampThreshold: 1 }).verify(entity);
    identity = { subject: signer.identity?.subjectAlternativeName ?? '', issuer: signer.identity?.extensions?.issuer ?? '' };
  } catch (error) {
    return { ok: false, check: checkOf(error), detail: (error as Error).message };
  }
  const accepted = Array.isArray(policy) ? policy : [policy as IdentityPolicy];
  if (!accepted.some((entry) => identityMatches(entry, identity as KeylessIdentity))) {
    return { ok: false, check: 'identity', identity, detail: `signed by ${identity.subject} (issuer ${identity.issuer}), not the identity asked for` };
  }
  return { ok: true, identity, detail: `signed by ${identity.subject} (issuer ${identity.issuer})` };
}

/**
 * An inclusion proof states its root hash twice: in the proof and in the signed checkpoint.
 * @sigstore/verify checks the path against the checkpoint only; signet also refuses a proof
 * whose own root hash says otherwise, so no field of a log entry is left unchecked.
 */
function inconsistentInclusionProof(bundleJson: unknown): string | undefined {
  const material = isRecord(bundleJson) && isRecord(bundleJson.verificationMaterial) ? bundleJson.verificationMaterial : {};
  const entries = Array.isArray(material.tlogEntries) ? material.tlogEntries : [];
  for (const entry of entries) {
    const proof = isRecord(entry) && isRecord(entry.inclusionProof) ? entry.inclusionProof : undefined;
    if (!proof) continue;
    const envelope = isRecord(proof.checkpoint) && typeof proof.checkpoint.envelope === 'string' ? proof.checkpoint.envelope : '';
    const checkpointRoot = envelope.split('\n')[2] ?? '';
    if (typeof proof.rootHash !== 'string' || Buffer.from(proof.rootHash, 'base64').compare(Buffer.from(checkpointRoot, 'base64')) !== 0) {
      return "the inclusion proof's root hash differs from its signed checkpoint";
    }
  }
  return undefined;
}
