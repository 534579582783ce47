/**
 * SSHSIG verification with git's verdicts. git runs
 *   ssh-keygen -Y find-principals -Overify-time=T, then -Y verify -I principal -n git (→ G),
 *   or, when no principal is found, -Y check-novalidate -n git (→ U if the signature is good);
 * anything else is B. We reach the same letters without the processes, with deliberate
 * differences, each more informative than git and never more lenient:
 *   - Y (expired_key) where the key is in allowed_signers but not valid at T (git: U);
 *   - R (revoked_key) for a revoked key, found or not (git: B, or U when no principal is found,
 *     since check-novalidate never reads the revocation file);
 *   - E for what cannot be checked at all (unreadable armor, unknown key or hash algorithms,
 *     SHA-1 RSA signatures; git: B);
 *   - B for FIDO signatures made without user presence (git: accepted; see registry.ts).
 */
import { hash as oneShotHash } from 'node:crypto';
import { SignetError } from '../errors.ts';
import type { SignatureVerdict, StatusLetter, VerdictReason } from '../verdict.ts';
import {
  candidateLines,
  certificateProblem,
  findPrincipals,
  lineAllowsNamespace,
  lineForPrincipal,
  lineValidAt,
  type FoundPrincipals,
} from './allowed-check.ts';
import { fingerprintOfPlainBlob } from './fingerprint.ts';
import { parsePublicKeyBlob, UnsupportedKeyError, type SshPublicKey } from './public-key.ts';
import { byteKey, registryIndex, type SignerEntry, type SshRegistry } from './registry.ts';
import { revocationOf } from './revoked-keys.ts';
import { runNativeCheck, type CheckRunner } from '../native-verify.ts';
import {
  checkSignature,
  isPending,
  prepareSignatureCheck,
  settleSignatureCheck,
  SK_USER_PRESENCE,
  type PendingSignatureCheck,
  type SignatureCheck,
} from './signature-check.ts';
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
  /** For certificates: how the verdict's detail names it. */
  certificateNote: string;
}

type CachedKey = SigningKey | { error: Error };

// Signatures by the same key arrive again and again (every commit of a developer): parse each
// key blob, hash its fingerprint and check its certificate once. Bounded, dropped when full.
const MAX_CACHED_KEYS = 4096;
const keyCache = new Map<string, CachedKey>();

function readSigningKey(blob: Uint8Array): CachedKey {
  try {
    const key = parsePublicKeyBlob(blob, 'signing key');
    const signing: SigningKey = { key, fingerprint: fingerprintOfPlainBlob(key.plainBlob), certificateNote: '' };
    const certificate = key.certificate;
    if (certificate) {
      signing.certificateCheck = checkSignature(certificate.signatureKey, certificate.signature, certificate.signedBytes);
      const ca = fingerprintOfPlainBlob(certificate.signatureKey.plainBlob);
      signing.certificateNote = `certificate ${JSON.stringify(certificate.keyId)} (serial ${certificate.serial}) issued by CA ${ca}`;
    }
    return signing;
  } catch (error) {
    return { error: error as Error };
  }
}

function signingKeyFor(blob: Uint8Array): CachedKey {
  const cacheKey = byteKey(blob);
  let cached = keyCache.get(cacheKey);
  if (!cached) {
    cached = readSigningKey(blob);
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.clear();
    keyCache.set(cacheKey, cached);
  }
  return cached;
}

const REASON_OF_PROBLEM: Record<(SignatureCheck & { valid: false })['problem'], VerdictReason> = {
  invalid: 'invalid',
  malformed: 'malformed_signature',
  unsupported: 'unsupported_algorithm',
  weak_hash: 'weak_hash',
};

function formatTime(seconds: number | bigint): string {
  const value = Number(seconds);
  return Math.abs(value) < 8.64e12 ? new Date(value * 1000).toISOString().replace('.000Z', 'Z') : String(seconds);
}

function where(entry: SignerEntry): string {
  return `${entry.signer.source}:${entry.signer.line}`;
}

const LITERAL_EMAIL = /^[^\s@*?!,]+@[^\s@*?!,]+$/;

/** What every verdict about an identified key carries. */
interface KeyFacts {
  key: string;
  hashAlgorithm: string;
}

class VerdictBuilder {
  constructor(
    private readonly facts: KeyFacts,
    private readonly signing: SigningKey,
    private readonly candidates: SignerEntry[],
    private readonly namespace: string,
    private readonly at: number,
    private readonly email: string | undefined,
  ) {}

  /** The verdict, with `emailMatches` when an e-mail was asked about, and the certificate named. */
  make(status: StatusLetter, reason: VerdictReason, detail: string | undefined, extra?: Partial<SignatureVerdict>, emailIgnoresTime = false): SignatureVerdict {
    const verdict: SignatureVerdict = { status, format: 'ssh', reason, key: this.facts.key, hashAlgorithm: this.facts.hashAlgorithm };
    if (extra) Object.assign(verdict, extra);
    if (this.email !== undefined) {
      const line = lineForPrincipal(this.candidates, this.signing.key, this.email, this.namespace, this.at, {
        caseInsensitive: true,
        ignoreTime: emailIgnoresTime,
      });
      verdict.emailMatches = line !== undefined;
    }
    const note = this.signing.certificateNote;
    const text = detail && note ? `${detail}; ${note}` : detail || note;
    if (text) verdict.detail = text;
    return verdict;
  }
}

/** Never throws for anything in the signature: every outcome is a verdict. */
export function verifySshSignature(registry: SshRegistry, payload: Uint8Array, armoredSignature: string, options: SshVerifyOptions): SignatureVerdict {
  const prepared = prepareSshVerification(registry, payload, armoredSignature, options);
  if ('status' in prepared) return prepared;
  return prepared.finish(settleSignatureCheck(prepared.check, runNativeCheck(prepared.check.native)));
}

/** The same verdict, with the signature's cryptography run by `runner` (e.g. on the thread pool). */
export async function verifySshSignatureWith(
  runner: CheckRunner,
  registry: SshRegistry,
  payload: Uint8Array,
  armoredSignature: string,
  options: SshVerifyOptions,
): Promise<SignatureVerdict> {
  const prepared = prepareSshVerification(registry, payload, armoredSignature, options);
  if ('status' in prepared) return prepared;
  return prepared.finish(settleSignatureCheck(prepared.check, await runner.run(prepared.check.native)));
}

/** A verdict reached without the cryptography, or the check to run and what follows it. */
type PreparedSshVerification = SignatureVerdict | { check: PendingSignatureCheck; finish: (check: SignatureCheck) => SignatureVerdict };

function prepareSshVerification(registry: SshRegistry, payload: Uint8Array, armoredSignature: string, options: SshVerifyOptions): PreparedSshVerification {
  const namespace = options.namespace ?? 'git';
  let blob;
  try {
    blob = parseSshsigBlob(dearmor(armoredSignature));
  } catch (error) {
    if (error instanceof WireFormatError) return { status: 'E', format: 'ssh', reason: 'malformed_signature', detail: error.message };
    throw error;
  }

  const signing = signingKeyFor(blob.publicKey);
  if ('error' in signing) {
    const error = signing.error;
    const reason = error instanceof UnsupportedKeyError ? 'unsupported_algorithm' : 'malformed_signature';
    return {
      status: 'E',
      format: 'ssh',
      reason,
      detail: error instanceof WireFormatError || error instanceof UnsupportedKeyError ? error.message : `unreadable signing key: ${error.message}`,
    };
  }
  const key = signing.key;
  const facts: KeyFacts = { key: signing.fingerprint, hashAlgorithm: blob.hashAlgorithm };
  const plain = (status: StatusLetter, reason: VerdictReason, detail: string): SignatureVerdict => ({
    status,
    format: 'ssh',
    reason,
    key: facts.key,
    hashAlgorithm: facts.hashAlgorithm,
    detail: signing.certificateNote ? `${detail}; ${signing.certificateNote}` : detail,
  });

  if (!(SSHSIG_HASH_ALGORITHMS as readonly string[]).includes(blob.hashAlgorithm)) {
    return {
      status: 'E',
      format: 'ssh',
      reason: 'unsupported_algorithm',
      key: facts.key,
      detail: `SSHSIG hash algorithm ${JSON.stringify(blob.hashAlgorithm.slice(0, 40))} (ssh-keygen accepts sha256 and sha512)`,
    };
  }
  if (blob.namespace !== namespace) {
    return plain('B', 'wrong_namespace', `signature made for namespace ${JSON.stringify(blob.namespace.slice(0, 64))}, not ${JSON.stringify(namespace)}`);
  }
  const caCheck = signing.certificateCheck;
  if (caCheck && !caCheck.valid) {
    return plain(caCheck.problem === 'invalid' ? 'B' : 'E', REASON_OF_PROBLEM[caCheck.problem], `the CA's signature on the certificate: ${caCheck.detail}`);
  }

  const messageHash = oneShotHash(blob.hashAlgorithm, payload, 'buffer');
  const check = prepareSignatureCheck(key, blob.signature, signedData(namespace, blob.hashAlgorithm, messageHash));
  if (!isPending(check)) return afterCheck(registry, options, namespace, signing, facts, plain, check);
  return { check, finish: (settled) => afterCheck(registry, options, namespace, signing, facts, plain, settled) };
}

function afterCheck(
  registry: SshRegistry,
  options: SshVerifyOptions,
  namespace: string,
  signing: SigningKey,
  facts: KeyFacts,
  plain: (status: StatusLetter, reason: VerdictReason, detail: string) => SignatureVerdict,
  check: SignatureCheck,
): SignatureVerdict {
  const key = signing.key;
  if (!check.valid) return plain(check.problem === 'invalid' ? 'B' : 'E', REASON_OF_PROBLEM[check.problem], check.detail);
  if (check.skFlags !== undefined && registry.requireUserPresence && (check.skFlags & SK_USER_PRESENCE) === 0) {
    // ssh-keygen accepts this; sshd would not. A signature nobody touched the key for could
    // come from malware on the signer's machine, which is what a FIDO key exists to rule out.
    return plain(
      'B',
      'invalid',
      `FIDO signature made without user presence (flags 0x${check.skFlags.toString(16).padStart(2, '0')}): the security key was not touched`,
    );
  }

  const millis = options.at.getTime();
  if (!Number.isFinite(millis)) throw new SignetError('INTERNAL', 'verifySshSignature: options.at is not a valid date');
  const at = Math.max(0, Math.floor(millis / 1000));
  const candidates = candidateLines(registryIndex(registry), key);
  const build = new VerdictBuilder(facts, signing, candidates, namespace, at, options.committerEmail);

  // git consults the revocation file only on the find-principals path; a revoked key is R for us either way.
  const revocation = registry.revoked ? revocationOf(registry.revoked, key) : undefined;
  if (revocation) return build.make('R', 'revoked_key', `good signature by a revoked key: ${revocation}`, undefined, true);

  const found = findPrincipals(candidates, key, at);
  if (found && found.principals.length > 0) return principalVerdict(build, found, candidates, key, namespace, at);
  if (!found) {
    const expired = expiredVerdict(build, candidates, key, namespace, at);
    if (expired) return expired;
  }
  return build.make('U', 'unknown_key', `good signature, but ${whyUnknown(found, candidates, key, signing.fingerprint, at)}`);
}

function principalVerdict(
  build: VerdictBuilder,
  found: FoundPrincipals,
  candidates: SignerEntry[],
  key: SshPublicKey,
  namespace: string,
  at: number,
): SignatureVerdict {
  let signer: string | undefined;
  const identities: string[] = [];
  for (let index = 0; index < found.principals.length; index++) {
    const principal = found.principals[index]!;
    if (lineForPrincipal(candidates, key, principal, namespace, at) === undefined) continue;
    signer ??= principal;
    const email = principal.toLowerCase();
    if (LITERAL_EMAIL.test(email) && !identities.includes(email)) identities.push(email);
  }
  if (signer !== undefined) return build.make('G', 'valid', undefined, { signer, identities });
  // find-principals named the key, but `verify -I` fails for every principal it printed.
  if (!lineAllowsNamespace(found.entry, namespace)) {
    return build.make(
      'B',
      'wrong_namespace',
      `${where(found.entry)} allows this key only in namespaces ${JSON.stringify(found.entry.namespaceList)}, not ${JSON.stringify(namespace)}`,
    );
  }
  return build.make(
    'B',
    'not_signing_key',
    `${where(found.entry)} lists this key, but none of its principals (${found.principals.join(', ')}) is allowed to sign (ssh-keygen -Y verify -I fails for each)`,
  );
}

/** Y when some line would allow the key but for the time (git says U: find-principals skips it). */
function expiredVerdict(build: VerdictBuilder, candidates: SignerEntry[], key: SshPublicKey, namespace: string, at: number): SignatureVerdict | undefined {
  const expired = findPrincipals(
    candidates.filter((entry) => lineAllowsNamespace(entry, namespace)),
    key,
    at,
    true,
  );
  if (!expired) return undefined;
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
  const detail = `good signature, but not by a key valid at ${formatTime(at)}: ${why}`;
  return build.make('Y', 'expired_key', detail, keyExpiredAt === undefined ? undefined : { keyExpiredAt }, true);
}

function whyUnknown(found: FoundPrincipals | undefined, candidates: SignerEntry[], key: SshPublicKey, fingerprint: string, at: number): string {
  if (found) return `${where(found.entry)} lists this key without principals`;
  if (key.certificate && candidates.some((entry) => entry.signer.certAuthority)) {
    const problem = certificateProblem(key.certificate, at, undefined, true);
    return problem
      ? `the certificate's CA is trusted, but ${problem}`
      : `the certificate's CA is trusted, but none of its principals (${key.certificate.principals.join(', ')}) is allowed`;
  }
  if (candidates.length > 0) {
    return `the allowed signers list this key only for other namespaces (${candidates.map((entry) => `${where(entry)}: ${entry.namespaceList ?? ''}`).join('; ')})`;
  }
  return `key ${fingerprint} is not in the allowed signers`;
}

/** Exposed for tests and benchmarks: forget cached signing keys. */
export function clearSigningKeyCache(): void {
  keyCache.clear();
}
