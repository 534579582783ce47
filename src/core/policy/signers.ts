/**
 * Allow-list entries (`signers:` and group members) and matching them against a verdict.
 *
 * An entry is one of: `group:NAME`, an e-mail address, an OpenPGP fingerprint (40 or 64 hex
 * digits, spaces allowed as gpg prints them, optional `0x`), a long key id (16 hex digits,
 * optional `0x`), an SSH key fingerprint (`SHA256:` + base64), or an SSH principal (any other
 * word). Short (8-digit) key ids are refused: they are trivially forged.
 */
import type { SignatureVerdict } from '../verdict.ts';
import type { KeylessIdentitySpec, SignerEntry } from './types.ts';
import { compileIdentity, identityMatches } from '../sigstore/identity.ts';

export type ParsedEntry = SignerEntry | { kind: 'group'; group: string };

export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function parseSignerEntry(text: string): { entry: ParsedEntry } | { problem: string } {
  const raw = text.trim();
  if (raw === '') return { problem: 'empty signer entry' };
  if (raw.startsWith('principal:')) {
    const principal = raw.slice('principal:'.length);
    if (principal === '' || /[\s*?,]/.test(principal)) return { problem: `'${raw}' is not a valid principal (no spaces, wildcards or commas)` };
    return { entry: { kind: 'principal', principal } };
  }
  if (raw.startsWith('x509:')) {
    const subject = raw.slice('x509:'.length).trim();
    if (subject === '' || !subject.includes('='))
      return { problem: `'${raw}' is not an X.509 subject (write x509:CN=Name,O=Organisation as signet verify prints it)` };
    return { entry: { kind: 'x509-subject', subject } };
  }
  if (raw.startsWith('group:')) {
    const group = raw.slice('group:'.length);
    if (!GROUP_NAME.test(group)) return { problem: `'${raw}' is not a valid group reference (group names: letters, digits, '_', '-', '.')` };
    return { entry: { kind: 'group', group } };
  }
  if (/^sha256:/i.test(raw)) {
    const body = raw.slice('SHA256:'.length);
    if (!raw.startsWith('SHA256:')) return { problem: `write SSH fingerprints as 'SHA256:${body}' (upper-case prefix, as ssh-keygen -l prints them)` };
    if (!/^[A-Za-z0-9+/]{43}$/.test(body)) return { problem: `'${raw}' is not an SSH SHA256 fingerprint ('SHA256:' followed by 43 base64 characters)` };
    return { entry: { kind: 'ssh', fingerprint: raw } };
  }
  if (/^md5:/i.test(raw)) return { problem: `MD5 SSH fingerprints are not supported; use the SHA256 fingerprint (ssh-keygen -l -f KEY)` };
  const prefixed = /^0x/i.test(raw);
  const hex = raw.replace(/^0x/i, '').replace(/\s+/g, '').toUpperCase();
  const notAKey = `'${raw}' is neither a fingerprint (40 or 64 hex digits) nor a long key id (16 hex digits)`;
  if (prefixed || /^[0-9A-Fa-f\s]+$/.test(raw)) {
    if (/^[0-9A-F]+$/.test(hex)) {
      if (hex.length === 40 || hex.length === 64) return { entry: { kind: 'fingerprint', fingerprint: hex } };
      if (hex.length === 16) return { entry: { kind: 'keyid', keyId: hex } };
    }
    // Bare hex of another length is a broken key only with a digit in it, so that a principal
    // such as 'deadbeef' stays a principal.
    if (prefixed || (/[0-9]/.test(raw) && hex.length >= 8)) {
      if (hex.length === 8) return { problem: `'${raw}' is a short key id, which anyone can forge; use the full fingerprint (gpg --fingerprint)` };
      return { problem: notAKey };
    }
  }
  if (/\s/.test(raw)) {
    const email = /<([^<>\s]+@[^<>\s]+)>/.exec(raw)?.[1];
    return {
      problem: email
        ? `write just the e-mail address: '${email}'`
        : `'${raw}' contains white space; entries are e-mails, fingerprints, principals or group:NAME`,
    };
  }
  if (raw.includes('@')) {
    if (!/^[^@]+@[^@]+$/.test(raw)) return { problem: `'${raw}' is not an e-mail address` };
    if (/[*?]/.test(raw)) return { problem: `wildcards are not supported in signer entries ('${raw}')` };
    return { entry: { kind: 'email', email: raw.toLowerCase() } };
  }
  if (/[*?,]/.test(raw)) return { problem: `'${raw}': wildcards and lists are not supported in signer entries; list each principal` };
  return { entry: { kind: 'principal', principal: raw } };
}

/** Lower-cased e-mail addresses a verdict's key is bound to (identities, plus the signer's UID address). */
export function verdictEmails(verdict: SignatureVerdict): Set<string> {
  const emails = new Set<string>((verdict.identities ?? []).map((identity) => identity.toLowerCase()));
  const uidEmail = signerEmail(verdict.signer);
  if (uidEmail) emails.add(uidEmail);
  return emails;
}

/**
 * Whether the key is bound to `email` (lower case). Allocation-free on the common path, since
 * it runs for every commit of a push.
 */
export function hasEmail(verdict: SignatureVerdict, email: string): boolean {
  for (const identity of verdict.identities ?? []) {
    if (identity === email || identity.toLowerCase() === email) return true;
  }
  return signerEmail(verdict.signer) === email;
}

/** The address of a `Name <address>` UID, or a principal that is itself an address. */
function signerEmail(signer: string | undefined): string | undefined {
  if (!signer) return undefined;
  const uidEmail = /<([^<>]+)>\s*$/.exec(signer)?.[1];
  if (uidEmail) return uidEmail.toLowerCase();
  return signer.includes('@') && !/\s/.test(signer) ? signer.toLowerCase() : undefined;
}

export function entryMatches(entry: SignerEntry, verdict: SignatureVerdict): boolean {
  switch (entry.kind) {
    case 'email':
      return hasEmail(verdict, entry.email);
    case 'principal':
      return verdict.format === 'ssh' && verdict.signer === entry.principal;
    case 'ssh':
      return verdict.key === entry.fingerprint;
    case 'fingerprint':
      return [verdict.key, verdict.primaryKey].some((key) => {
        const hex = hexOf(key);
        // Push certificates name the key by its long id only (GIT_PUSH_CERT_KEY).
        return hex === entry.fingerprint || (hex?.length === 16 && keyIdMatches(entry.fingerprint, hex));
      });
    case 'keyid':
      return keyIdMatches(verdict.key, entry.keyId) || keyIdMatches(verdict.primaryKey, entry.keyId);
    case 'x509-subject':
      return verdict.format === 'x509' && !verdict.keyless && verdict.certificateSubject === entry.subject;
    case 'keyless':
      return verdict.keyless !== undefined && keylessMatches(entry, verdict.keyless.subject, verdict.keyless.issuer);
  }
}

/** Whether a keyless identity (regexps already checked to be anchored when parsed) names this signer. */
export function keylessMatches(entry: KeylessIdentitySpec, subject: string, issuer: string | undefined): boolean {
  return identityMatches(compileIdentity(entry), subject, issuer);
}

/** The first matching entry, or undefined. */
export function matchingEntry(entries: SignerEntry[], verdict: SignatureVerdict): SignerEntry | undefined {
  return entries.find((entry) => entryMatches(entry, verdict));
}

export function describeEntry(entry: SignerEntry): string {
  const what = (() => {
    switch (entry.kind) {
      case 'email':
        return entry.email;
      case 'principal':
        return entry.principal;
      case 'ssh':
        return entry.fingerprint;
      case 'fingerprint':
        return entry.fingerprint;
      case 'keyid':
        return `0x${entry.keyId}`;
      case 'x509-subject':
        return `x509:${entry.subject}`;
      case 'keyless':
        return `keyless ${entry.subject ?? entry.subjectRegexp ?? ''} from ${entry.issuer ?? entry.issuerRegexp ?? ''}`;
    }
  })();
  return entry.via ? `${what} (via ${entry.via})` : what;
}

/** How a verdict's signer is named in messages: `Alice <a@x> (key ABCD…)`. */
export function describeSigner(verdict: SignatureVerdict): string {
  const key = verdict.primaryKey ?? verdict.key;
  if (verdict.signer && key) return `${verdict.signer} (key ${key})`;
  return verdict.signer ?? (key ? `key ${key}` : 'an unknown key');
}

function hexOf(fingerprint: string | undefined): string | undefined {
  return fingerprint === undefined ? undefined : fingerprint.replace(/\s+/g, '').replace(/^0x/i, '').toUpperCase();
}

/** v4 key ids are the fingerprint's low 64 bits, v6 (64-digit) key ids its high 64 bits (RFC 9580). */
function keyIdMatches(fingerprint: string | undefined, keyId: string): boolean {
  const hex = hexOf(fingerprint);
  if (hex === undefined || !/^[0-9A-F]+$/.test(hex)) return false;
  if (hex.length === 64) return hex.startsWith(keyId);
  return hex.endsWith(keyId);
}
