import type { CheckRunner } from '../native-verify.ts';
import type { SignatureVerdict, StatusLetter, VerdictReason } from '../verdict.ts';
import { canSignAlgorithm, hashName, supportedHash } from './algorithms.ts';
import type { LoadedOpenPgpRegistry, SigningKeyRecord } from './registry.ts';
import type { SignatureSubpacketFacts } from './signature-packet.ts';

/**
 * The verdict rules, shared by the fast path and the openpgp.js path so that both differ only
 * in how they parse, hash and check the cryptography. The order follows gpg 2.2
 * (sig-check.c check_signature2, mainproc.c check_sig_and_print):
 *   before the cryptography, each an ERRSIG (E): signature class, hash and public-key
 *   algorithm, key lookup, key newer than the signature or than now, key usage, ECDSA hash size;
 *   the cryptography (BADSIG, B), then an unknown critical subpacket (B), a signing subkey
 *   without a valid back-signature (E); then for a good signature EXPSIG (X) before EXPKEYSIG (Y)
 *   before REVKEYSIG (R) before GOODSIG. Every registry key has ultimate owner trust, so a good
 *   signature is G, never U.
 */

export interface SignatureFacts extends SignatureSubpacketFacts {
  signatureType: number;
  publicKeyAlgorithm: number;
  hashAlgorithm: number;
}

export interface VerifyOptions {
  now: Date;
  committerEmail?: string;
  /** Where Ed25519 and ECDSA checks run (default: this thread). */
  runner?: CheckRunner;
}

export type PreCheck = { kind: 'verdict'; verdict: SignatureVerdict } | { kind: 'check'; record: SigningKeyRecord };

export function errorVerdict(reason: VerdictReason, detail: string, extra?: Partial<SignatureVerdict>): SignatureVerdict {
  const verdict: SignatureVerdict = { status: 'E', format: 'openpgp', reason };
  if (extra) Object.assign(verdict, extra);
  verdict.detail = detail;
  return verdict;
}

// Verdicts are built field by field rather than with object spreads: this runs once per
// signature on the hot path, and spreads of conditional objects cost more than the hashing.
function addSignatureFields(verdict: SignatureVerdict, facts: SignatureFacts): SignatureVerdict {
  if (facts.createdAt !== undefined) verdict.signedAt = facts.createdAt;
  verdict.hashAlgorithm = hashName(facts.hashAlgorithm);
  return verdict;
}

function addKeyFields(verdict: SignatureVerdict, record: SigningKeyRecord, now: number, committerEmail: string | undefined): SignatureVerdict {
  verdict.key = record.fingerprint;
  verdict.primaryKey = record.owner.fingerprint;
  if (record.owner.primaryUserId !== undefined) verdict.signer = record.owner.primaryUserId;
  const identities = record.identitiesExpire
    ? [
        ...new Set(
          record.owner.userIds
            .filter((uid) => !uid.revoked && (uid.certificationExpiresAt === undefined || uid.certificationExpiresAt > now))
            .flatMap((uid) => (uid.email ? [uid.email] : [])),
        ),
      ]
    : record.identities.slice();
  verdict.identities = identities;
  if (committerEmail !== undefined) verdict.emailMatches = identities.includes(committerEmail.trim().toLowerCase());
  return verdict;
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

export function preCheck(registry: LoadedOpenPgpRegistry, facts: SignatureFacts, options: VerifyOptions): PreCheck {
  const issuer = facts.issuerFingerprint ?? facts.issuerKeyId;
  const stop = (reason: VerdictReason, detail: string, record?: SigningKeyRecord): PreCheck => {
    const verdict = addSignatureFields({ status: 'E', format: 'openpgp', reason }, facts);
    if (record) addKeyFields(verdict, record, seconds(options.now), options.committerEmail);
    else if (issuer) verdict.key = issuer;
    verdict.detail = detail;
    return { kind: 'verdict', verdict };
  };
  if (facts.signatureType !== 0x00 && facts.signatureType !== 0x01) {
    // gpg: "standalone signature of class 0x…", then ERRSIG; never a good data signature.
    return stop('unknown_signature_type', `signature class 0x${facts.signatureType.toString(16).padStart(2, '0')} is not a data signature`);
  }
  if (!supportedHash(facts.hashAlgorithm)) return stop('unsupported_algorithm', `hash algorithm ${hashName(facts.hashAlgorithm)} is not accepted by gpg 2.2`);
  if (!canSignAlgorithm(facts.publicKeyAlgorithm))
    return stop('unsupported_algorithm', `public-key algorithm ${facts.publicKeyAlgorithm} cannot be checked by gpg 2.2`);
  const record = registry.candidates(facts.issuerFingerprint, facts.issuerKeyId)[0];
  if (!record) return stop('unknown_key', issuer ? `key ${issuer} is not in the registry` : 'the signature names no issuer key');
  const now = seconds(options.now);
  if (record.createdAt > (facts.createdAt ?? 0)) return stop('invalid', `key ${record.fingerprint} was created after the signature`, record);
  if (record.createdAt > now) return stop('invalid', `key ${record.fingerprint} is created in the future`, record);
  if (!record.canSign) return stop('not_signing_key', `key ${record.fingerprint} is not certified for signing`, record);
  if (hashDigestBits(facts.hashAlgorithm) < record.minimumHashBits) {
    // gpg (encode_md_value): a DSA or ECDSA key needs a hash at least as long as its group
    // order; a shorter one is an error (ERRSIG), not a bad signature.
    const need = Number.isFinite(record.minimumHashBits) ? `a ${record.minimumHashBits}-bit or longer hash` : 'a group order gpg accepts';
    return stop('unsupported_algorithm', `key ${record.fingerprint} needs ${need}, not ${hashName(facts.hashAlgorithm)}`, record);
  }
  return { kind: 'check', record };
}

const digestBits = new Map<number, number>([
  [1, 128],
  [2, 160],
  [3, 160],
  [8, 256],
  [9, 384],
  [10, 512],
  [11, 224],
]);

export function hashDigestBits(algorithm: number): number {
  return digestBits.get(algorithm) ?? 0;
}

export function postCheck(
  record: SigningKeyRecord,
  facts: SignatureFacts,
  cryptoGood: boolean,
  options: VerifyOptions,
  cryptoDetail?: string,
): SignatureVerdict {
  const now = seconds(options.now);
  const finish = (status: StatusLetter, reason: VerdictReason, detail?: string): SignatureVerdict => {
    const verdict = addKeyFields(addSignatureFields({ status, format: 'openpgp', reason }, facts), record, now, options.committerEmail);
    if (detail) verdict.detail = detail;
    return verdict;
  };
  if (!cryptoGood) return finish('B', 'invalid', cryptoDetail ?? 'the signature does not match the signed data');
  if (facts.unknownCritical) return finish('B', 'invalid', `gpg assumes a bad signature: ${facts.unknownCritical}`);
  if (!record.isPrimary && record.crossCertification !== 'good') {
    return finish(
      'E',
      'not_signing_key',
      record.crossCertification === 'bad'
        ? `signing subkey ${record.fingerprint} has an invalid back-signature`
        : `signing subkey ${record.fingerprint} is not cross-certified (no back-signature)`,
    );
  }
  const signedAt = facts.createdAt ?? 0;
  const expiresAfter = facts.expiresAfter ?? 0;
  if (expiresAfter > 0 && signedAt + expiresAfter <= now) {
    return finish('X', 'expired_signature', `the signature expired at ${new Date((signedAt + expiresAfter) * 1000).toISOString()}`);
  }
  if (record.expiresAt !== undefined && record.expiresAt < now) {
    // signedAt < keyExpiredAt tells a policy that the signature was made while the key was valid.
    const verdict = finish(
      'Y',
      'expired_key',
      `key ${record.fingerprint} expired at ${new Date(record.expiresAt * 1000).toISOString()}${signedAt < record.expiresAt ? ', after the signature was made' : ''}`,
    );
    verdict.keyExpiredAt = record.expiresAt;
    return verdict;
  }
  if (record.revokedAt !== undefined) return finish('R', 'revoked_key', `key ${record.fingerprint} is revoked`);
  return finish('G', 'valid');
}
