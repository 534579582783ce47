import { SignetError } from '../errors.ts';
import { wholeMatch } from '../whole-match.ts';

/**
 * Whom a keyless (Sigstore) signature may come from: the certificate's SAN (e-mail or URI)
 * and the OIDC issuer Fulcio wrote into it, each exact or an anchored regular expression
 * (cosign's --certificate-identity[-regexp] / --certificate-oidc-issuer[-regexp]). The one
 * matcher for gitsign commits, policy signers and artifacts (blob, image, attestation, admission).
 * Regexps are compiled whole-match (`wholeMatch`), so `^a|b$` cannot match `a.evil.example`.
 */
export interface KeylessIdentity {
  subject?: string;
  subjectRegexp?: RegExp;
  issuer?: string;
  issuerRegexp?: RegExp;
}

/** An identity as written (policy file, flags): regexps still text, already checked anchored. */
export interface KeylessIdentityText {
  subject?: string | undefined;
  subjectRegexp?: string | undefined;
  issuer?: string | undefined;
  issuerRegexp?: string | undefined;
}

/** Why `text` may not be an identity regexp: it must be anchored at both ends, and compile. */
export function unanchoredReason(text: string): string | undefined {
  if (!text.startsWith('^') || !text.endsWith('$') || text.endsWith('\\$'))
    return `the regular expression '${text}' must be anchored (start with ^ and end with $)`;
  try {
    wholeMatch(text);
  } catch (error) {
    return `'${text}' is not a regular expression (${(error as Error).message})`;
  }
  return undefined;
}

/**
 * A regular expression from the command line or a policy: it must be anchored (^…$), since
 * an unanchored `alice@example.com` also matches `alice@example.com.evil.test`.
 */
export function anchoredRegexp(text: string, field: string): RegExp {
  const reason = unanchoredReason(text);
  if (reason !== undefined) throw new SignetError('USAGE', `${field}: ${reason}`);
  return wholeMatch(text);
}

/** Compiles an identity written as text (whole-match regexps). */
export function compileIdentity(text: KeylessIdentityText): KeylessIdentity {
  return {
    ...(text.subject !== undefined ? { subject: text.subject } : {}),
    ...(text.subjectRegexp !== undefined ? { subjectRegexp: wholeMatch(text.subjectRegexp) } : {}),
    ...(text.issuer !== undefined ? { issuer: text.issuer } : {}),
    ...(text.issuerRegexp !== undefined ? { issuerRegexp: wholeMatch(text.issuerRegexp) } : {}),
  };
}

/**
 * Whether a signer (certificate SAN, OIDC issuer) is this identity. Both halves are required:
 * an identity with no subject or no issuer matches nobody, and neither does a certificate
 * without an issuer, rather than anyone with an OIDC account.
 */
export function identityMatches(identity: KeylessIdentity, subject: string, issuer: string | undefined): boolean {
  if (identity.subject === undefined && !identity.subjectRegexp) return false;
  if (identity.issuer === undefined && !identity.issuerRegexp) return false;
  if (identity.subject !== undefined && identity.subject !== subject) return false;
  if (identity.subjectRegexp && !identity.subjectRegexp.test(subject)) return false;
  if (issuer === undefined) return false;
  if (identity.issuer !== undefined && identity.issuer !== issuer) return false;
  if (identity.issuerRegexp && !identity.issuerRegexp.test(issuer)) return false;
  return true;
}
