/**
 * How long a verdict judged at the clock stays true: the app's verdict memo
 * (src/checks/verdict-memo.ts) reuses one only while no instant that the verifiers compare the
 * clock with has been reached since it was made.
 *
 * The instants, as the verifiers use them (all in whole seconds):
 * - OpenPGP (src/core/openpgp/decide.ts): a signing key's creation ("created in the future") and
 *   expiry, a user ID's certification expiry (identities), and the signature's own expiry
 *   (creation + expiration subpacket); a revocation counts whatever the time.
 * - SSH, judged at the clock in the app: an allowed_signers line's valid-after and valid-before.
 *   A signature by an SSH certificate carries its own validity window: never reused.
 * - X.509 and keyless verdicts depend on certificates, CRLs and the trusted root's validity
 *   windows inside the signature and the registry: never reused.
 * - An unsigned commit has no time at all.
 * A predicate over seconds flips at an instant b or at b + 1, so a verdict judged in second t1
 * holds through second t2 when no instant lies in [t1 - 1, t2]: `until` is the first second at
 * which that is no longer known.
 */
import { Buffer } from 'node:buffer';
import { decodeArmor } from './openpgp/armor.ts';
import { readDetachedSignature } from './openpgp/signature-packet.ts';
import { asLoadedRegistry } from './openpgp/registry.ts';
import { dearmor, parseSshsigBlob } from './ssh/sshsig.ts';
import { parseCommit, parseTag, type ExtractedSignature, type ObjectHash } from './git/signed-object.ts';

import type { SignatureVerdict } from './verdict.ts';
import type { CommitResult, KeyRegistries } from './verify-object.ts';

/** The instants (seconds) in a registry that an OpenPGP or SSH verdict may be compared with. */
export interface RegistryInstants {
  openpgp: number[];
  ssh: number[];
}

export function registryInstants(registries: KeyRegistries): RegistryInstants {
  const openpgp: number[] = [];
  for (const record of asLoadedRegistry(registries.openpgp).records()) {
    openpgp.push(record.createdAt);
    if (record.expiresAt !== undefined) openpgp.push(record.expiresAt);
    if (record.revokedAt !== undefined) openpgp.push(record.revokedAt);
    for (const uid of record.owner.userIds) if (uid.certificationExpiresAt !== undefined) openpgp.push(uid.certificationExpiresAt);
  }
  const ssh: number[] = [];
  for (const signer of registries.ssh.signers) {
    if (signer.validAfter !== undefined) ssh.push(signer.validAfter);
    if (signer.validBefore !== undefined) ssh.push(signer.validBefore);
  }
  return { openpgp, ssh };
}

/** No reuse at all: the verdict holds only for the second it was judged in. */
const NEVER = -Infinity;

/**
 * The first second (exclusive) through which `result`, judged at `judgedAt` from `raw` (the
 * commit object) with registries whose instants are `instants`, is known to stay the same.
 * Anything unexpected (a signature that does not parse here) answers "not reusable".
 */
export function verdictUntil(raw: Uint8Array, hash: ObjectHash, result: CommitResult, instants: RegistryInstants, judgedAt: Date): number {
  const t1 = Math.floor(judgedAt.getTime() / 1000);
  let commit;
  try {
    commit = parseCommit(raw, hash);
  } catch {
    return NEVER;
  }
  if (commit.mergetags.length !== result.mergetags.length) return NEVER;
  let until = signatureUntil(commit.signature, result.verdict, instants, t1);
  for (const [index, tagBytes] of commit.mergetags.entries()) {
    let tag;
    try {
      tag = parseTag(tagBytes, hash);
    } catch {
      return NEVER;
    }
    until = Math.min(until, signatureUntil(tag.signature, result.mergetags[index]!.verdict, instants, t1));
  }
  return until;
}

function signatureUntil(signature: ExtractedSignature | undefined, verdict: SignatureVerdict, instants: RegistryInstants, t1: number): number {
  switch (verdict.format) {
    case 'none':
      return Infinity;
    case 'openpgp': {
      const own = signature ? openPgpSignatureExpiry(signature.armored) : undefined;
      if (own === undefined) return NEVER;
      return firstInstantFrom([...instants.openpgp, ...own], t1);
    }
    case 'ssh':
      if (!signature || sshSignedByCertificate(signature.armored) !== false) return NEVER;
      return firstInstantFrom(instants.ssh, t1);
    default:
      return NEVER;
  }
}

/** The earliest instant at or after t1 - 1 (Infinity when none). */
function firstInstantFrom(instants: number[], t1: number): number {
  let first = Infinity;
  for (const instant of instants) if (instant >= t1 - 1 && instant < first) first = instant;
  return first;
}

/** The signature's own expiry instant ([] when it never expires); undefined when it does not read here. */
function openPgpSignatureExpiry(armored: string): number[] | undefined {
  const decoded = decodeArmor(armored);
  if (!decoded.ok) return undefined;
  const read = readDetachedSignature(decoded.bytes);
  if (read.kind !== 'signature') return undefined;
  const { createdAt, expiresAfter } = read.signature;
  if (!expiresAfter) return [];
  return [(createdAt ?? 0) + expiresAfter];
}

/** Whether the SSH signature's key is a certificate; undefined when it does not read. */
function sshSignedByCertificate(armored: string): boolean | undefined {
  try {
    const { publicKey } = parseSshsigBlob(dearmor(armored));
    const length = ((publicKey[0]! << 24) | (publicKey[1]! << 16) | (publicKey[2]! << 8) | publicKey[3]!) >>> 0;
    if (length > publicKey.length - 4) return undefined;
    return Buffer.from(publicKey.subarray(4, 4 + length))
      .toString('latin1')
      .includes('-cert-');
  } catch {
    return undefined;
  }
}
