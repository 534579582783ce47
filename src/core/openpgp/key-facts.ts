import type * as openpgp from 'openpgp';
import { gpgLikeFullConfig, openpgpjs } from './openpgpjs.ts';
import { canSignAlgorithm, PublicKeyAlgorithm } from './algorithms.ts';
import { NativeSignature, type NativeKeyblock, type NativeKeyPacket, type NativeSubkey } from './keyring-native.ts';

/**
 * What gpg 2.2 concludes about a key when it merges the self-signatures of a keyblock
 * (getkey.c, merge_selfsigs*), worked out once with openpgp.js checking each signature's
 * cryptography. Everything time-dependent is kept as instants so that "status at time T" is a
 * comparison, not a re-evaluation.
 */

/** Signature types (RFC 4880 §5.2.1), as openpgp.js numbers them. */
const SignatureType = {
  certGeneric: 0x10,
  key: 0x1f,
  keyRevocation: 0x20,
  subkeyBinding: 0x18,
  keyBinding: 0x19,
  subkeyRevocation: 0x28,
  certRevocation: 0x30,
} as const satisfies Record<string, number>;
const KEY_FLAG_SIGN_DATA = 0x02;

export interface UserIdFacts {
  userId: string;
  email?: string;
  /** Creation time of the newest valid self-certification (seconds). */
  certifiedAt: number;
  /** When that self-certification expires (seconds), if it does. */
  certificationExpiresAt?: number;
  primaryFlag: boolean;
  revoked: boolean;
}

export interface PrimaryKeyFacts {
  fingerprint: string;
  createdAt: number;
  /** Key expiry (seconds); absent: never. */
  expiresAt?: number;
  revokedAt?: number;
  /** Usage flags (RFC 4880 §5.2.3.21) as gpg derives them; `undefined` flags: from the algorithm. */
  canSign: boolean;
  userIds: UserIdFacts[];
  /** The user ID gpg prints in GOODSIG lines. */
  primaryUserId?: string;
}

export interface SubkeyFacts {
  fingerprint: string;
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
  canSign: boolean;
  /** Signing subkeys need a valid primary-key binding ("back-signature"); gpg refuses them otherwise. */
  crossCertification: 'good' | 'missing' | 'bad';
  packet: openpgp.PublicSubkeyPacket | NativeKeyPacket;
}

/**
 * A keyblock from either reader: openpgp.js's, or keyring-native.ts's (the same fields, its
 * signatures checked with node:crypto). The rules below are one code for both.
 */
export type Keyblock = openpgp.Key | NativeKeyblock;
type SignaturePacket = openpgp.SignaturePacket | NativeSignature;
type AnyKeyPacket = openpgp.PublicKeyPacket | openpgp.PublicSubkeyPacket | NativeKeyPacket;

const seconds = (date: Date | null): number => (date ? Math.floor(date.getTime() / 1000) : 0);

async function verifies(signature: SignaturePacket, key: AnyKeyPacket, type: number, data: object): Promise<boolean> {
  // The native reader has checked its signatures already (and hands any that fail to openpgp.js).
  if (signature instanceof NativeSignature) {
    signature.check(key as NativeKeyPacket, type, data as Parameters<NativeSignature['check']>[2]);
    return true;
  }
  const fullConfig = gpgLikeFullConfig(await openpgpjs());
  try {
    await alignDigestPrefix(signature, type, data);
    // `null` date: check the cryptography only; time is judged by the caller, as gpg does.
    await signature.verify(key as openpgp.PublicKeyPacket, type as openpgp.enums.signature, data, null as unknown as Date, false, fullConfig);
    return true;
  } catch (error) {
    // openpgp.js refuses self-signatures naming a designated revoker after checking their
    // cryptography; gpg accepts them (and so does a keyring that uses the feature).
    return error instanceof Error && /revoked with an authorized key/.test(error.message);
  }
}

/**
 * gpg judges a key signature by its cryptography alone: the two digest bytes stored in the
 * packet are a quick check it does not make, and published copies of real keys (GitHub's 2017
 * web-flow key among them) carry wrong ones. openpgp.js refuses such a signature before
 * checking it, so it is handed the right two bytes, computed as its own verify computes them.
 * The signature itself is still checked in full: the stored bytes carry no security.
 */
async function alignDigestPrefix(signature: openpgp.SignaturePacket, type: number, data: object): Promise<void> {
  const packet = signature as unknown as {
    hashed?: unknown;
    signedHashValue: Uint8Array;
    toHash(type: number, data: object, detached: boolean): Uint8Array;
    hash(type: number, data: object, toHash: Uint8Array): Promise<Uint8Array> | Uint8Array;
  };
  if (packet.hashed) return;
  const digest = await packet.hash(type, data, packet.toHash(type, data, false));
  if (digest instanceof Uint8Array && digest.length >= 2) packet.signedHashValue = digest.subarray(0, 2);
}

function newest<T extends { created: Date | null }>(signatures: T[]): T | undefined {
  let best: T | undefined;
  for (const signature of signatures) if (!best || seconds(signature.created) >= seconds(best.created)) best = signature;
  return best;
}

function flagsAllowSigning(signature: SignaturePacket | undefined): boolean | undefined {
  const flags = signature?.keyFlags;
  if (!flags || flags.length === 0) return undefined;
  return ((flags[0] ?? 0) & KEY_FLAG_SIGN_DATA) !== 0;
}

/** gpg infers usage from the algorithm when no key-flags subpacket says otherwise. */
function algorithmCanSign(algorithm: number): boolean {
  return canSignAlgorithm(algorithm) && algorithm !== PublicKeyAlgorithm.rsaEncrypt;
}

export function emailOf(userId: string): string | undefined {
  const angle = /<([^<>\s]+@[^<>\s]+)>\s*$/.exec(userId);
  if (angle?.[1]) return angle[1].toLowerCase();
  const bare = /^\s*([^\s<>@]+@[^\s<>@]+)\s*$/.exec(userId);
  return bare?.[1]?.toLowerCase();
}

export async function primaryKeyFacts(key: Keyblock): Promise<PrimaryKeyFacts> {
  const primary = key.keyPacket as openpgp.PublicKeyPacket;
  const algorithm = primary.algorithm as number;
  const createdAt = seconds(primary.created);

  const userIds: UserIdFacts[] = [];
  const uidSelfSignatures: { facts: UserIdFacts; signature: SignaturePacket }[] = [];
  for (const user of key.users) {
    if (!user.userID) continue; // user attributes (photos) carry no identity for us
    const data = { userID: user.userID, key: primary };
    const certifications: SignaturePacket[] = [];
    for (const signature of user.selfCertifications) {
      if (await verifies(signature, primary, signature.signatureType ?? SignatureType.certGeneric, data)) certifications.push(signature);
    }
    const latest = newest(certifications);
    if (!latest) continue; // no valid self-signature: gpg drops the user ID
    const revocations: SignaturePacket[] = [];
    for (const signature of user.revocationSignatures) {
      if (await verifies(signature, primary, SignatureType.certRevocation, data)) revocations.push(signature);
    }
    // gpg lets a newer self-signature undo a user-ID revocation (hired, fired, hired again);
    // at equal timestamps the revocation, which comes later in the keyblock, wins.
    const latestRevocation = newest(revocations);
    const revoked = latestRevocation !== undefined && seconds(latestRevocation.created) >= seconds(latest.created);
    const expiry = latest.signatureExpirationTime;
    const email = emailOf(user.userID.userID);
    const facts: UserIdFacts = {
      userId: user.userID.userID,
      ...(email ? { email } : {}),
      certifiedAt: seconds(latest.created),
      ...(expiry ? { certificationExpiresAt: seconds(latest.created) + expiry } : {}),
      primaryFlag: latest.isPrimaryUserID === true,
      revoked,
    };
    userIds.push(facts);
    uidSelfSignatures.push({ facts, signature: latest });
  }

  const directSignatures: SignaturePacket[] = [];
  for (const signature of (key as unknown as { directSignatures: SignaturePacket[] }).directSignatures ?? []) {
    if (await verifies(signature, primary, SignatureType.key, { key: primary })) directSignatures.push(signature);
  }
  const direct = newest(directSignatures);

  // Expiry: the direct-key signature's if it sets one, else the self-signature of the user ID
  // certified last (revoked ones excluded) — getkey.c's merge_selfsigs_main.
  const live = uidSelfSignatures.filter((entry) => !entry.facts.revoked);
  let expiryFrom: SignaturePacket | undefined = direct && direct.keyExpirationTime !== null ? direct : undefined;
  if (!expiryFrom) expiryFrom = newest(live.map((entry) => entry.signature));
  const lifetime = expiryFrom?.keyExpirationTime ?? 0;

  // Usage: the direct-key signature's flags, else those of the newest user-ID self-signature that has flags.
  let canSign = flagsAllowSigning(direct);
  if (canSign === undefined) {
    const withFlags = live.filter((entry) => entry.signature.keyFlags && entry.signature.keyFlags.length > 0);
    canSign = flagsAllowSigning(newest(withFlags.map((entry) => entry.signature)));
  }

  let revokedAt: number | undefined;
  for (const signature of key.revocationSignatures) {
    if (await verifies(signature, primary, SignatureType.keyRevocation, { key: primary })) {
      revokedAt = Math.min(revokedAt ?? Infinity, seconds(signature.created));
    }
  }

  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    createdAt,
    ...(lifetime > 0 ? { expiresAt: createdAt + lifetime } : {}),
    ...(revokedAt !== undefined ? { revokedAt } : {}),
    canSign: canSign ?? algorithmCanSign(algorithm),
    userIds,
    ...pickPrimaryUserId(userIds),
  };
}

/**
 * gpg prints the primary user ID: among valid, unrevoked ones, those whose newest
 * self-signature sets the primary flag, else all; the newest self-signature wins, the first
 * in the keyblock on a tie.
 */
function pickPrimaryUserId(userIds: UserIdFacts[]): { primaryUserId?: string } {
  const live = userIds.filter((uid) => !uid.revoked);
  const flagged = live.filter((uid) => uid.primaryFlag);
  const pool = flagged.length > 0 ? flagged : live.length > 0 ? live : userIds;
  let best: UserIdFacts | undefined;
  for (const uid of pool) if (!best || uid.certifiedAt > best.certifiedAt) best = uid;
  return best ? { primaryUserId: best.userId } : {};
}

export async function subkeyFacts(key: Keyblock, subkey: openpgp.Subkey | NativeSubkey): Promise<SubkeyFacts | undefined> {
  const primary = key.keyPacket as openpgp.PublicKeyPacket;
  const packet = subkey.keyPacket as openpgp.PublicSubkeyPacket;
  const algorithm = packet.algorithm as number;
  const data = { key: primary, bind: packet };
  const bindings: SignaturePacket[] = [];
  for (const signature of subkey.bindingSignatures) {
    if (await verifies(signature, primary, SignatureType.subkeyBinding, data)) bindings.push(signature);
  }
  const binding = newest(bindings);
  if (!binding) return undefined; // gpg does not import a subkey without a valid binding

  // A valid subkey revocation counts whatever its date (getkey.c: "the date on a revocation
  // sig does not matter").
  let revokedAt: number | undefined;
  for (const signature of subkey.revocationSignatures) {
    if (await verifies(signature, primary, SignatureType.subkeyRevocation, data)) {
      revokedAt = Math.min(revokedAt ?? Infinity, seconds(signature.created));
    }
  }
  const canSign = flagsAllowSigning(binding) ?? algorithmCanSign(algorithm);
  let crossCertification: SubkeyFacts['crossCertification'] = 'missing';
  if (canSign && binding.embeddedSignature) {
    crossCertification = (await verifies(binding.embeddedSignature, packet, SignatureType.keyBinding, data)) ? 'good' : 'bad';
  }
  const createdAt = seconds(packet.created);
  const lifetime = binding.keyExpirationTime ?? 0;
  return {
    fingerprint: subkey.getFingerprint().toUpperCase(),
    createdAt,
    ...(lifetime > 0 ? { expiresAt: createdAt + lifetime } : {}),
    ...(revokedAt !== undefined ? { revokedAt } : {}),
    canSign,
    crossCertification,
    packet,
  };
}
