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
}

export type PreCheck =
  | { kind: 'verdict'; verdict: SignatureVerdict }
  | { kind: 'check'; record: SigningKeyRecord };

export function errorVerdict(reason: VerdictReason, detail: string, extra: Partial<SignatureVerdict> = {}): SignatureVerdict {
  return { status: 'E', format: 'openpgp', reason, ...extra, detail };
}

function signatureBasics(facts: SignatureFacts): Partial<SignatureVerdict> {
  return {
    ...(facts.createdAt !== undefined ? { signedAt: facts.createdAt } : {}),
    hashAlgorithm: hashName(facts.hashAlgorithm),
  };
}

function keyFields(record: SigningKeyRecord, now: number, committerEmail: string | undefined): Partial<SignatureVerdict> {
  const identities = [...new Set(record.owner.userIds
    .filter((uid) => !uid.revoked && (uid.certificationExpiresAt === undefined || uid.certificationExpiresAt > now))
    .flatMap((uid) => (uid.email ? [uid.email] : [])))];
  return {
    key: record.fingerprint,
    primaryKey: record.owner.fingerprint,
    ...(record.owner.primaryUserId !== undefined ? { signer: record.owner.primaryUserId } : {}),
    identities,
    ...(committerEmail !== undefined ? { emailMatches: identities.includes(committerEmail.trim().toLowerCase()) } : {}),
  };
}

export function preCheck(registry: LoadedOpenPgpRegistry, facts: SignatureFacts, options: VerifyOptions): PreCheck {
  const basics = signatureBasics(facts);
  const issuer = facts.issuerFingerprint ?? facts.issuerKeyId;
  const withIssuer = { ...basics, ...(issuer ? { key: issuer } : {}) };
  if (facts.signatureType !== 0x00 && facts.signatureType !== 0x01) {
    // gpg: "standalone signature of class 0x…", then ERRSIG; never a good data signature.
    return { kind: 'verdict', verdict: errorVerdict('unknown_signature_type', `signature class 0x${facts.signatureType.toString(16).padStart(2, '0')} is not a data signature`, withIssuer) };
  }
  if (!supportedHash(facts.hashAlgorithm)) {
    return { kind: 'verdict', verdict: errorVerdict('unsupported_algorithm', `hash algorithm ${hashName(facts.hashAlgorithm)} is not accepted by gpg 2.2`, withIssuer) };
  }
  if (!canSignAlgorithm(facts.publicKeyAlgorithm)) {
    return { kind: 'verdict', verdict: errorVerdict('unsupported_algorithm', `public-key algorithm ${facts.publicKeyAlgorithm} cannot be checked by gpg 2.2`, withIssuer) };
  }
  const record = registry.candidates(facts.issuerFingerprint, facts.issuerKeyId)[0];
  if (!record) {
    return { kind: 'verdict', verdict: errorVerdict('unknown_key', issuer ? `key ${issuer} is not in the registry` : 'the signature names no issuer key', withIssuer) };
  }
  const now = Math.floor(options.now.getTime() / 1000);
  const known = { ...basics, ...keyFields(record, now, options.committerEmail) };
  const signedAt = facts.createdAt ?? 0;
  if (record.createdAt > signedAt) {
    return { kind: 'verdict', verdict: errorVerdict('invalid', `key ${record.fingerprint} was created after the signature`, known) };
  }
  if (record.createdAt > now) {
    return { kind: 'verdict', verdict: errorVerdict('invalid', `key ${record.fingerprint} is created in the future`, known) };
  }
  if (!record.canSign) {
    return { kind: 'verdict', verdict: errorVerdict('not_signing_key', `key ${record.fingerprint} is not certified for signing`, known) };
  }
  if (hashDigestBits(facts.hashAlgorithm) < record.minimumHashBits) {
    // gpg (encode_md_value): a DSA or ECDSA key needs a hash at least as long as its group
    // order; a shorter one is an error (ERRSIG), not a bad signature.
    const need = Number.isFinite(record.minimumHashBits) ? `a ${record.minimumHashBits}-bit or longer hash` : 'a group order gpg accepts';
    return { kind: 'verdict', verdict: errorVerdict('unsupported_algorithm', `key ${record.fingerprint} needs ${need}, not ${hashName(facts.hashAlgorithm)}`, known) };
  }
  return { kind: 'check', record };
}

const digestBits = new Map<number, number>([[1, 128], [2, 160], [3, 160], [8, 256], [9, 384], [10, 512], [11, 224]]);

export function hashDigestBits(algorithm: number): number {
  return digestBits.get(algorithm) ?? 0;
}

export function postCheck(record: SigningKeyRecord, facts: SignatureFacts, cryptoGood: boolean, options: VerifyOptions, cryptoDetail?: string): SignatureVerdict {
  const now = Math.floor(options.now.getTime() / 1000);
  const known: SignatureVerdict = { status: 'B', format: 'openpgp', reason: 'invalid', ...signatureBasics(facts), ...keyFields(record, now, options.committerEmail) };
  const finish = (status: StatusLetter, reason: VerdictReason, detail?: string): SignatureVerdict => ({ ...known, status, reason, ...(detail ? { detail } : {}) });
  if (!cryptoGood) return finish('B', 'invalid', cryptoDetail ?? 'the signature does not match the signed data');
  if (facts.unknownCritical) return finish('B', 'invalid', `gpg assumes a bad signature: ${facts.unknownCritical}`);
  if (!record.isPrimary && record.crossCertification !== 'good') {
    return finish('E', 'not_signing_key', record.crossCertification === 'bad'
      ? `signing subkey ${record.fingerprint} has an invalid back-signature`
      : `signing subkey ${record.fingerprint} is not cross-certified (no back-signature)`);
  }
  const expiresAfter = facts.expiresAfter ?? 0;
  if (expiresAfter > 0 && (facts.createdAt ?? 0) + expiresAfter <= now) {
    return finish('X', 'expired_signature', `the signature expired at ${new Date(((facts.createdAt ?? 0) + expiresAfter) * 1000).toISOString()}`);
  }
  if (record.expiresAt !== undefined && record.expiresAt < now) {
    const verdict = finish('Y', 'expired_key', `key ${record.fingerprint} expired at ${new Date(record.expiresAt * 1000).toISOString()}${(facts.createdAt ?? 0) < record.expiresAt ? ', after the signature was made' : ''}`);
    return { ...verdict, keyExpiredAt: record.expiresAt };
  }
  if (record.revokedAt !== undefined) return finish('R', 'revoked_key', `key ${record.fingerprint} is revoked`);
  return finish('G', 'valid');
}
