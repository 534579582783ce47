/**
 * What verifying one signature yields. The letter is git's `%G?` vocabulary (see DESIGN.md),
 * the reason GitHub's where it has one.
 */
export type StatusLetter = 'G' | 'B' | 'U' | 'X' | 'Y' | 'R' | 'E' | 'N';

export type SignatureFormat = 'openpgp' | 'ssh' | 'x509' | 'none';

export type VerdictReason =
  | 'valid'
  | 'unsigned'
  | 'unknown_key'
  | 'expired_key'
  | 'not_signing_key'
  | 'invalid'
  | 'malformed_signature'
  | 'unknown_signature_type'
  | 'unsupported_algorithm'
  | 'weak_hash'
  | 'bad_email'
  | 'unverified_email'
  | 'revoked_key'
  | 'expired_signature'
  | 'wrong_namespace';

export interface SignatureVerdict {
  status: StatusLetter;
  format: SignatureFormat;
  reason: VerdictReason;
  /** OpenPGP: fingerprint of the signing (sub)key, upper-case hex. SSH: `SHA256:…`. */
  key?: string;
  /** OpenPGP: primary key fingerprint when `key` is a subkey. */
  primaryKey?: string;
  /** A UID (`Name <email>`) or an allowed_signers principal. */
  signer?: string;
  /** Lower-cased e-mail addresses the key is bound to (OpenPGP UIDs, SSH principals that are e-mails). */
  identities?: string[];
  /**
   * Whether the e-mail the caller asked about (the committer's or tagger's) is one of the key's
   * identities (OpenPGP: a UID's address; SSH: matches a principal pattern). Absent when not asked.
   */
  emailMatches?: boolean;
  /** X.509: the signing certificate's subject (RFC 4514), for `x509:` policy entries. */
  certificateSubject?: string;
  /** Keyless (gitsign): the certificate's SAN and the OIDC issuer Fulcio recorded. */
  keyless?: { subject: string; issuer?: string };
  /** Signature creation time (seconds since the epoch) where the signature carries one. */
  signedAt?: number;
  /** When the key stopped being valid (seconds), for Y verdicts. */
  keyExpiredAt?: number;
  /** The signature's hash algorithm, lower case (`sha256`, `sha1`, …). */
  hashAlgorithm?: string;
  /** One human line with more detail; never secret material. */
  detail?: string;
}

export function unsignedVerdict(): SignatureVerdict {
  return { status: 'N', format: 'none', reason: 'unsigned' };
}
