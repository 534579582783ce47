import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { SignetError } from '../errors.ts';
import { wholeMatch } from '../whole-match.ts';

/**
 * Whom a keyless (Sigstore) signature may come from: the certificate's SAN (e-mail or URI)
 * and the OIDC issuer Fulcio wrote into it, each exact or an anchored regular expression
 * (cosign's --certificate-identity[-regexp] / --certificate-oidc-issuer[-regexp]).
 */
export interface KeylessIdentity {
  subject?: string;
  subjectRegexp?: RegExp;
  issuer?: string;
  issuerRegexp?: RegExp;
}

/** The keyless root of trust: a Sigstore trusted root (Fulcio CAs, Rekor keys) and identities. */
export interface KeylessRegistry {
  /** Where the trusted root came from, for messages. */
  source: string;
  trustMaterial: TrustMaterial;
  identities: readonly KeylessIdentity[];
}

/** Reads a `trusted_root.json`; `name` is for messages. */
export function parseTrustedRoot(text: string, name: string): TrustMaterial {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SignetError('KEYRING_INVALID', `${name}: not JSON (${(error as Error).message})`);
  }
  try {
    const root = TrustedRoot.fromJSON(json);
    if (root.certificateAuthorities.length === 0) throw new Error('no certificateAuthorities');
    if (root.tlogs.length === 0) throw new Error('no tlogs');
    return toTrustMaterial(root);
  } catch (error) {
    throw new SignetError('KEYRING_INVALID', `${name}: not a Sigstore trusted root (${(error as Error).message})`);
  }
}

/**
 * A regular expression from the command line or a policy: it must be anchored (^…$), since
 * an unanchored `alice@example.com` also matches `alice@example.com.evil.test`.
 */
export function anchoredRegexp(text: string, field: string): RegExp {
  if (!text.startsWith('^') || !text.endsWith('$') || text.endsWith('\\$')) {
    throw new SignetError('USAGE', `${field}: the regular expression '${text}' must be anchored (start with ^ and end with $)`);
  }
  try {
    return wholeMatch(text);
  } catch (error) {
    throw new SignetError('USAGE', `${field}: '${text}' is not a regular expression (${(error as Error).message})`);
  }
}

export function identityMatches(identity: KeylessIdentity, subject: string, issuer: string | undefined): boolean {
  if (identity.subject !== undefined && identity.subject !== subject) return false;
  if (identity.subjectRegexp && !identity.subjectRegexp.test(subject)) return false;
  if (identity.subject === undefined && !identity.subjectRegexp) return false;
  if (identity.issuer !== undefined || identity.issuerRegexp) {
    if (issuer === undefined) return false;
    if (identity.issuer !== undefined && identity.issuer !== issuer) return false;
    if (identity.issuerRegexp && !identity.issuerRegexp.test(issuer)) return false;
  } else return false;
  return true;
}
