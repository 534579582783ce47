/**
 * SSHSIG verification with git's verdicts. git runs
 *   ssh-keygen -Y find-principals -Overify-time=T, then -Y verify -I principal -n git (→ G),
 *   or, when no principal is found, -Y check-novalidate -n git (→ U if the signature is good);
 * anything else is B. We reach the same letters without the processes, with three deliberate
 * differences, each more informative than git and never more lenient:
 *   - Y (expired_key) where the key is in allowed_signers but not valid at T (git: U);
 *   - R (revoked_key) for a revoked key, found or not (git: B, or U when no principal is found,
 *     since check-novalidate never reads the revocation file);
 *   - E for what cannot be checked at all (unreadable armor, unknown key or hash algorithms;
 *     git: B), and FIDO signatures without user presence are B (git: accepted), see registry.ts.
 */
import { hash as oneShotHash } from 'node:crypto';
import type { SignatureVerdict, StatusLetter, VerdictReason } from '../verdict.ts';
import { candidateLines, findPrincipals, lineForPrincipal, lineAllowsNamespace, lineValidAt, certificateProblem, type FoundPrincipals } from './allowed-check.ts';
import { fingerprintOfPlainBlob } from './fingerprint.ts';
import { parsePublicKeyBlob, UnsupportedKeyError, type SshPublicKey } from './public-key.ts';
import { byteKey, registryIndex, type SignerEntry, type SshRegistry } from './registry.ts';
import { revocationOf } from './revoked-keys.ts';
import { checkSignature, SK_USER_PRESENCE, type SignatureCheck } from './signature-check.ts';
import { dearmor, parseSshsigBlob, signedData, SSHSIG_HASH_ALGORITHMS } from './sshsig.ts';
import { WireFormatError } from './wire.ts';

export interface SshVerifyOptions {
  /** The time keys must be valid at (git: the committer or tagger time). */
  at: Date;
  /** Default `git`. */
  namespace?: string;
  /** When given, the verdict says whether it matches an allowed principal of the key. */
  committerEmail?: string;
}

/** A signing key as read from a signature, with what we learn once per distinct key blob. */
interface SigningKey {
  key: SshPublicKey;
  fingerprint: string;
  /** The CA's signature on a certificate, checked once. */
  certificateCheck?: SignatureCheck;
}

type CachedKey = SigningKey | { error: Error };

// Signatures by the same key arrive again and again (every commit of a developer): parse each
// key blob, hash its fingerprint and check its certificate once. Bounded, dropped when full.
const MAX_CACHED_KEYS = 4096;
const keyCache = new Map<string, CachedKey>();

function signingKeyFor(blob: Uint8Array): CachedKey {
  const cacheKey = byteKey(blob);
  let cached = keyCache.get(cacheKey);
  if (!cached) {
    try {
      const key = parsePublicKeyBlob(blob, 'signing key');
      const signing: SigningKey = { key, fingerprint: fingerprintOfPlainBlob(key.plainBlob) };
      if (key.certificate) signing.certificateCheck = checkSignature(key.certificate.signatureKey, key.certificate.signature, key.certificate.signedBytes);
      cached = signing;
    } catch (error) {
      cached = { error: error as Error };
    }
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.clear();
    keyCache.set(cacheKey, cached);
  }
  return cached;
}

const E_REASON: Record<(SignatureCheck & { valid: false })['problem'], VerdictReason> = {
  invalid: 'invalid',
  malformed: 'malformed_signature',
  unsupported: 'unsupported_algorithm',
  weak_hash: 'weak_hash',
};

function verdict(status: StatusLetter, reason: VerdictReason, fields: Partial<SignatureVerdict> = {}): SignatureVerdict {
  return { status, format: 'ssh', reason, ...fields };
}

function formatTime(seconds: number | bigint): string {
  const value = Number(seconds);
  return Number.isFinite(value) && Math.abs(value) < 8.64e12 ? new Date(value * 1000).toISOString().replace('.000Z', 'Z') : String(seconds);
}

function where(entry: SignerEntry): string {
  return `${entry.signer.source}:${entry.signer.line}`;
}

function describeCertificate(key: SshPublicKey, caFingerprint: string): string {
  const certificate = key.certificate;
  if (!certificate) return '';
  return `certificate ${JSON.stringify(certificate.keyId)} (serial ${certificate.serial}) issued by CA ${caFingerprint}`;
}

const LITERAL_EMAIL = /^[^\s@*?!,]+@[^\s@*?!,]+$/;

/** Never throws for anything in the signature: every outcome is a verdict. */
export function verifySshSignature(registry: SshRegistry, payload: Uint8Array, armoredSignature: string, options: SshVerifyOptions): SignatureVerdict {
  const namespace = options.namespace ?? 'git';
  let blob;
  try {
    blob = parseSshsigBlob(dearmor(armoredSignature));
  } catch (error) {
    if (error instanceof WireFormatError) return verdict('E', 'malformed_signature', { detail: error.message });
    throw error;
  }

  const signing = signingKeyFor(blob.publicKey);
  if ('error' in signing) {
    if (signing.error instanceof UnsupportedKeyError) return verdict('E', 'unsupported_algorithm', { detail: signing.error.message });
    if (signing.error instanceof WireFormatError) return verdict('E', 'malformed_signature', { detail: signing.error.message });
    return verdict('E', 'malformed_signature', { detail: `unreadable signing key: ${signing.error.message}` });
  }
  const { key, fingerprint } = signing;
  const known = { key: fingerprint, hashAlgorithm: blob.hashAlgorithm };

  if (!(SSHSIG_HASH_ALGORITHMS as readonly string[]).includes(blob.hashAlgorithm)) {
    return verdict('E', 'unsupported_algorithm', { key: fingerprint, detail: `SSHSIG hash algorithm ${JSON.stringify(blob.hashAlgorithm.slice(0, 40))} (ssh-keygen accepts sha256 and sha512)` });
  }
  if (blob.namespace !== namespace) {
    return verdict('B', 'wrong_namespace', { ...known, detail: `signature made for namespace ${JSON.stringify(blob.namespace.slice(0, 64))}, not ${JSON.stringify(namespace)}` });
  }

  let certificateNote = '';
  if (key.certificate) {
    const caCheck = signing.certificateCheck as SignatureCheck;
    const caFingerprint = fingerprintOfPlainBlob(key.certificate.signatureKey.plainBlob);
    certificateNote = describeCertificate(key, caFingerprint);
    if (!caCheck.valid) {
      const status = caCheck.problem === 'invalid' ? 'B' : 'E';
      return verdict(status, E_REASON[caCheck.problem], { ...known, detail: `${certificateNote}: the CA's signature on the certificate: ${caCheck.detail}` });
    }
  }

  const messageHash = oneShotHash(blob.hashAlgorithm, payload, 'buffer');
  const check = checkSignature(key, blob.signature, signedData(namespace, blob.hashAlgorithm, messageHash));
  if (!check.valid) {
    return verdict(check.problem === 'invalid' ? 'B' : 'E', E_REASON[check.problem], { ...known, detail: check.detail });
  }
  if (check.skFlags !== undefined && registry.requireUserPresence && (check.skFlags & SK_USER_PRESENCE) === 0) {
    // ssh-keygen accepts this; sshd would not. A signature nobody touched the key for could
    // come from malware on the signer's machine, which is what a FIDO key exists to rule out.
    return verdict('B', 'invalid', { ...known, detail: `FIDO signature made without user presence (flags 0x${check.skFlags.toString(16).padStart(2, '0')}): the security key was not touched` });
  }

  const at = Math.max(0, Math.floor(options.at.getTime() / 1000));
  const candidates = candidateLines(registryIndex(registry), key);
  const email = options.committerEmail;
  const emailIn = (lines: SignerEntry[], ignoreTime: boolean): boolean =>
    email !== undefined && lineForPrincipal(lines, key, email, namespace, at, { caseInsensitive: true, ignoreTime }) !== undefined;
  const withEmail = (ignoreTime: boolean): Partial<SignatureVerdict> => (email === undefined ? {} : { emailMatches: emailIn(candidates, ignoreTime) });
  const note = (text: string): string => (certificateNote ? `${text}; ${certificateNote}` : text);

  // git consults the revocation file only on the find-principals path; a revoked key is R for us either way.
  const revocation = registry.revoked ? revocationOf(registry.revoked, key) : undefined;
  if (revocation) return verdict('R', 'revoked_key', { ...known, ...withEmail(true), detail: note(`good signature by a revoked key: ${revocation}`) });

  const found = findPrincipals(candidates, key, at);
  if (found && found.principals.length > 0) return principalVerdict(found, candidates, key, namespace, at, known, withEmail(false), note);

  // git: check-novalidate → U. If only the time is wrong, the key is known but expired (Y).
  const expired = findPrincipals(candidates.filter((entry) => lineAllowsNamespace(entry, namespace)), key, at, true);
  if (expired && !found) {
    const { entry } = expired;
    const { validAfter, validBefore } = entry.signer;
    const certificate = entry.signer.certAuthority ? key.certificate : undefined;
    let keyExpiredAt: number | undefined;
    let why: string;
    if (!lineValidAt(entry, at)) {
      if (validBefore !== undefined && at > validBefore) {
        keyExpiredAt = validBefore;
        why = `${where(entry)} allows this key until ${formatTime(validBefore)} (valid-before)`;
      } else {
        why = `${where(entry)} allows this key from ${formatTime(validAfter ?? 0)} (valid-after)`;
      }
    } else if (certificate && BigInt(at) >= certificate.validBefore) {
      keyExpiredAt = Number(certificate.validBefore);
      why = `the certificate expired at ${formatTime(certificate.validBefore)}`;
    } else {
      why = `the certificate is valid from ${formatTime(certificate?.validAfter ?? 0n)}`;
    }
    return verdict('Y', 'expired_key', {
      ...known,
      ...(keyExpiredAt !== undefined ? { keyExpiredAt } : {}),
      ...withEmail(true),
      detail: note(`good signature, but not by a key valid at ${formatTime(at)}: ${why}`),
    });
  }
  let unknownWhy = `key ${fingerprint} is not in the allowed signers`;
  if (found) unknownWhy = `${where(found.entry)} lists this key without principals`;
  else if (key.certificate && candidates.some((entry) => entry.signer.certAuthority)) {
    const problem = certificateProblem(key.certificate, at, undefined, true);
    unknownWhy = problem ? `the certificate's CA is trusted, but ${problem}` : `the certificate's CA is trusted, but none of its principals (${key.certificate.principals.join(', ')}) is allowed`;
  } else if (candidates.length > 0) {
    unknownWhy = `the allowed signers list this key only for other namespaces (${candidates.map((entry) => `${where(entry)}: ${entry.namespaceList ?? ''}`).join('; ')})`;
  }
  return verdict('U', 'unknown_key', { ...known, ...withEmail(false), detail: note(`good signature, but ${unknownWhy}`) });
}

function principalVerdict(
  found: FoundPrincipals,
  candidates: SignerEntry[],
  key: SshPublicKey,
  namespace: string,
  at: number,
  known: { key: string; hashAlgorithm: string },
  emailField: Partial<SignatureVerdict>,
  note: (text: string) => string,
): SignatureVerdict {
  const verified = found.principals.filter((principal) => lineForPrincipal(candidates, key, principal, namespace, at) !== undefined);
  const signer = verified[0];
  if (signer !== undefined) {
    const identities = [...new Set(verified.filter((p) => LITERAL_EMAIL.test(p)).map((p) => p.toLowerCase()))];
    return verdict('G', 'valid', { ...known, signer, identities, ...emailField, ...(key.certificate ? { detail: note('good signature') } : {}) });
  }
  // find-principals named the key, but `verify -I` fails for every principal it printed.
  if (!lineAllowsNamespace(found.entry, namespace)) {
    return verdict('B', 'wrong_namespace', {
      ...known,
      detail: note(`${where(found.entry)} allows this key only in namespaces ${JSON.stringify(found.entry.namespaceList)}, not ${JSON.stringify(namespace)}`),
    });
  }
  return verdict('B', 'not_signing_key', {
    ...known,
    detail: note(`${where(found.entry)} lists this key, but none of its principals (${found.principals.join(', ')}) is allowed to sign (ssh-keygen -Y verify -I fails for each)`),
  });
}

/** Exposed for tests and benchmarks: forget cached signing keys. */
export function clearSigningKeyCache(): void {
  keyCache.clear();
}
