import { createHash, timingSafeEqual } from 'node:crypto';
import * as pkijs from 'pkijs';
import type { SignatureVerdict } from '../verdict.ts';
import { checkSignature, digestName, WEAK_DIGESTS } from './algorithms.ts';
import { isIssuedBy, type CertificateFacts } from './certificate.ts';
import { MessageError, readSignedMessage, signerCertificate } from './cms.ts';
import type { X509Registry } from './registry.ts';
import { verifyGitsign } from '../sigstore/gitsign.ts';
import type { KeylessRegistry } from '../sigstore/keyless-registry.ts';

export interface X509VerifyOptions {
  /** "Now", for expiry (as gpg judges OpenPGP key expiry). */
  now: Date;
  /** The time to judge validity at when the signature names no signing time (committer time). */
  fallbackTime: Date;
  /** The committer's (tagger's) e-mail, to say whether the certificate names it. */
  committerEmail?: string;
  /** Sigstore trust for gitsign (Fulcio) certificates; absent: they are at best U. */
  keyless?: KeylessRegistry;
}

const EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';
const MAX_CHAIN = 8;
/** Fulcio's certificate extensions (OIDC issuer, workflow facts): 1.3.6.1.4.1.57264.1.x. */
const FULCIO_EXTENSIONS = '1.3.6.1.4.1.57264.1.';

/**
 * The chain from `leaf` to a registry root, issuers taken from the registry and from the
 * certificates the signature carries (only as intermediates: a carried certificate is never
 * trusted for being there). Undefined when no chain ends in a root.
 */
function buildChain(leaf: CertificateFacts, carried: readonly CertificateFacts[], registry: X509Registry): CertificateFacts[] | undefined {
  const isRoot = (certificate: CertificateFacts): boolean => registry.roots.some((root) => root.fingerprint === certificate.fingerprint);
  const search = (chain: CertificateFacts[]): CertificateFacts[] | undefined => {
    const last = chain[chain.length - 1]!;
    if (isRoot(last)) return chain;
    if (chain.length >= MAX_CHAIN) return undefined;
    for (const candidate of [...registry.roots, ...carried]) {
      if (chain.some((link) => link.fingerprint === candidate.fingerprint)) continue;
      // An issuer must be a CA allowed to sign certificates (RFC 5280 4.2.1.9, 4.2.1.3).
      if (!candidate.isCa || (candidate.keyUsage && !candidate.keyUsage.keyCertSign)) continue;
      if (!isIssuedBy(last, candidate)) continue;
      const found = search([...chain, candidate]);
      if (found) return found;
    }
    return undefined;
  };
  return search([leaf]);
}

/** The CRL that covers `certificate` and is signed by its issuer says it is revoked. */
function isRevoked(certificate: CertificateFacts, issuer: CertificateFacts, registry: X509Registry): boolean {
  if (registry.crls.length === 0) return false;
  const issuerName = pkijs.Certificate.fromBER(issuer.der).subject;
  for (const crl of registry.crls) {
    if (!crl.issuer.isEqual(issuerName)) continue;
    // A CRL counts only when the issuer signed it: anyone can write a file that lists serials,
    // but an unsigned "not revoked" is no better than no CRL, so a bad one is simply unused.
    const check = checkSignature(issuer.publicKey, crl.signatureAlgorithm, undefined, crl.signed, crl.signature);
    if (check.ok && crl.revoked.has(certificate.serial)) return true;
  }
  return false;
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/**
 * Verifies a CMS detached signature (gpgsm's `gpg.format=x509`) over `payload`. Letters as
 * DESIGN.md's table: B when the signature does not verify; U when it verifies but the
 * certificate does not chain to a registry root; E when the certificate may not sign or was
 * not valid when it signed; R revoked by a registry CRL; Y expired since; G otherwise.
 */
export function verifyX509Signature(registry: X509Registry, payload: Uint8Array, armored: string, options: X509VerifyOptions): SignatureVerdict {
  let message;
  try {
    message = readSignedMessage(armored);
  } catch (error) {
    if (error instanceof MessageError) return { status: 'E', format: 'x509', reason: 'malformed_signature', detail: error.message };
    throw error;
  }
  const leaf = signerCertificate(message);
  if (!leaf) return { status: 'E', format: 'x509', reason: 'unknown_key', detail: 'the signature does not carry the certificate of its signer' };
  const identities = [...new Set(leaf.emails.map((email) => email.toLowerCase()))];
  const base: SignatureVerdict = {
    status: 'E',
    format: 'x509',
    reason: 'invalid',
    key: leaf.fingerprint,
    signer: leaf.emails[0] ?? leaf.subject,
    certificateSubject: leaf.subject,
    identities,
    ...(options.committerEmail !== undefined ? { emailMatches: identities.includes(options.committerEmail.toLowerCase()) } : {}),
    ...(message.signingTime ? { signedAt: seconds(message.signingTime) } : {}),
  };
  const digest = digestName(message.digestAlgorithm);
  if (!digest) return { ...base, reason: 'unsupported_algorithm', detail: `digest algorithm ${message.digestAlgorithm} is not supported` };
  if (WEAK_DIGESTS.has(digest))
    return { ...base, reason: 'weak_hash', hashAlgorithm: digest, detail: `the signature uses ${digest}, whose collisions are practical` };
  const actual = createHash(digest).update(payload).digest();
  if (actual.length !== message.messageDigest.length || !timingSafeEqual(actual, message.messageDigest)) {
    return { ...base, status: 'B', reason: 'invalid', hashAlgorithm: digest, detail: 'the signed content differs from the object (messageDigest mismatch)' };
  }
  const check = checkSignature(leaf.publicKey, message.signatureAlgorithm, message.digestAlgorithm, message.signedAttributes, message.signature);
  if (!check.ok) {
    if (check.why === 'bad') return { ...base, status: 'B', reason: 'invalid', hashAlgorithm: digest, detail: check.detail };
    return { ...base, reason: check.why === 'weak' ? 'weak_hash' : 'unsupported_algorithm', detail: check.detail };
  }
  const good: SignatureVerdict = { ...base, hashAlgorithm: digest };

  // A Fulcio certificate (gitsign) is trusted only through its Rekor entry and the Sigstore
  // trusted root, never through the X.509 roots, whatever they hold.
  const fulcio = [...leaf.extensions.keys()].find((oid) => oid.startsWith(FULCIO_EXTENSIONS));
  if (fulcio) {
    return verifyGitsign(
      options.keyless,
      {
        certificate: leaf.der,
        emails: leaf.emails,
        uris: leaf.uris,
        extensions: leaf.extensions,
        signature: message.signature,
        signedAttributes: message.signedAttributes,
        unsignedAttributes: message.unsignedAttributes,
      },
      good,
    );
  }

  const chain = buildChain(leaf, message.certificates, registry);
  if (!chain)
    return {
      ...good,
      status: 'U',
      reason: 'unknown_key',
      detail: `the certificate of ${good.signer} (issuer ${leaf.issuer || '(empty)'}) does not chain to a registry root`,
    };

  for (const certificate of chain) {
    if (certificate.unknownCritical.length > 0)
      return {
        ...good,
        reason: 'not_signing_key',
        detail: `certificate ${certificate.subject || certificate.fingerprint} has a critical extension this verifier does not process (${certificate.unknownCritical.join(', ')})`,
      };
  }
  const usage = leaf.keyUsage;
  if (usage && !usage.digitalSignature && !usage.nonRepudiation)
    return { ...good, reason: 'not_signing_key', detail: "the certificate's key usage does not allow digital signatures" };
  const purposes = leaf.extKeyUsage;
  if (purposes && !purposes.some((oid) => oid === EMAIL_PROTECTION || oid === CODE_SIGNING || oid === ANY_EXTENDED_KEY_USAGE)) {
    return {
      ...good,
      reason: 'not_signing_key',
      detail: `the certificate's extended key usage (${purposes.join(', ')}) allows neither e-mail protection nor code signing`,
    };
  }

  // Validity is judged at the signing time the signature states; the signer controls it, like
  // the committer time, so a certificate must also have begun to be valid by now (below).
  const at = message.signingTime ?? options.fallbackTime;
  for (const certificate of chain) {
    const name = certificate.subject || certificate.fingerprint;
    if (at < certificate.notBefore || options.now < certificate.notBefore) {
      return { ...good, reason: 'expired_key', detail: `certificate ${name} is valid only from ${certificate.notBefore.toISOString()}` };
    }
    if (at > certificate.notAfter) {
      return {
        ...good,
        status: 'Y',
        reason: 'expired_key',
        keyExpiredAt: seconds(certificate.notAfter),
        detail: `certificate ${name} expired at ${certificate.notAfter.toISOString()}, before the signature was made`,
      };
    }
  }
  for (let index = 0; index + 1 < chain.length; index++) {
    if (isRevoked(chain[index]!, chain[index + 1]!, registry)) {
      return {
        ...good,
        status: 'R',
        reason: 'revoked_key',
        detail: `certificate ${chain[index]!.subject || chain[index]!.fingerprint} is revoked by a registry CRL`,
      };
    }
  }
  const expired = chain.find((certificate) => options.now > certificate.notAfter);
  if (expired) {
    return {
      ...good,
      status: 'Y',
      reason: 'expired_key',
      keyExpiredAt: seconds(expired.notAfter),
      detail: `certificate ${expired.subject || expired.fingerprint} expired at ${expired.notAfter.toISOString()}, after the signature was made`,
    };
  }
  return { ...good, status: 'G', reason: 'valid' };
}
