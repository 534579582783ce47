/**
 * Reads an armored OpenPGP public keyring without openpgp.js, for keyrings as gpg writes them:
 * v4 keys on RSA, ECDSA (NIST curves) and Ed25519, user IDs, subkeys, and self-signatures whose
 * cryptography node:crypto checks. The keyblocks it builds have the shape key-facts.ts reads, so
 * the rules that turn self-signatures into key facts are the same code for both readers.
 *
 * Importing openpgp.js costs a cold process about 55 ms (its cipher tables and 0.8 MB of code)
 * before it has read a key; a verify run that only needs the common case no longer pays it.
 * Anything this reader does not cover, or would judge differently from openpgp.js, returns
 * `undefined`, and the registry is read with openpgp.js instead: other packet types and
 * versions, DSA and ElGamal, designated revokers, critical subpackets, repeated subpackets,
 * damaged armor, and every self-signature that does not verify (openpgp.js then decides what
 * that means). test/keyring-native.test.ts holds the two readers equal on keys made by gpg.
 */
import { Buffer } from 'node:buffer';
import { hash as oneShotHash } from 'node:crypto';
import { runNativeCheck } from '../native-verify.ts';
import { supportedHash } from './algorithms.ts';
import { crc24 } from './armor.ts';
import { nativeKeyFromPacketBody, type NativeKey } from './key-material.ts';
import { parseSignatureBody, readPacketHeader, readUint32, scanSubpackets, type ParsedSignature, type SubpacketSink } from './signature-packet.ts';
import { bytesToBig, checkCryptography } from './verify-fast.ts';

const TAG_SIGNATURE = 2;
const TAG_PUBLIC_KEY = 6;
const TAG_USER_ID = 13;
const TAG_PUBLIC_SUBKEY = 14;
const TAG_USER_ATTRIBUTE = 17;

const SIG_CERT_GENERIC = 0x10;
const SIG_CERT_POSITIVE = 0x13;
const SIG_SUBKEY_BINDING = 0x18;
const SIG_KEY_BINDING = 0x19;
const SIG_DIRECT = 0x1f;
const SIG_KEY_REVOCATION = 0x20;
const SIG_SUBKEY_REVOCATION = 0x28;
const SIG_CERT_REVOCATION = 0x30;

const ALGORITHM_EDDSA_LEGACY = 22;

/** Subpacket types openpgp.js reads; a critical one of any other type makes it refuse the signature. */
const CRITICAL_UNDERSTOOD = new Set([2, 3, 7, 9, 11, 12, 16, 21, 22, 23, 25, 27, 30, 32, 33]);
/** Subpacket types openpgp.js reads from the unhashed area; the rest of that area it ignores. */
const UNHASHED_READ = new Set([16, 32, 33]);

/** Thrown inside the reader for anything left to openpgp.js; never escapes it. */
class NotCovered extends Error {}

function notCovered(what: string): never {
  throw new NotCovered(what);
}

/** A v4 public (sub)key packet. */
export class NativeKeyPacket {
  readonly algorithm: number;
  readonly created: Date;
  readonly version = 4;
  readonly fingerprint: string;
  readonly keyId: string;
  /** 0x99, the two-byte length and the body: what signatures over this key hash (RFC 4880 §5.2.4). */
  readonly forHash: Uint8Array;
  private nativeKey: NativeKey | undefined;

  constructor(readonly body: Uint8Array) {
    if (body.length < 6 || body[0] !== 4) notCovered('not a version 4 key');
    this.created = new Date(readUint32(body, 1) * 1000);
    this.algorithm = body[5]!;
    const forHash = new Uint8Array(3 + body.length);
    forHash[0] = 0x99;
    forHash[1] = body.length >> 8;
    forHash[2] = body.length & 0xff;
    forHash.set(body, 3);
    this.forHash = forHash;
    this.fingerprint = oneShotHash('sha1', forHash, 'hex');
    this.keyId = this.fingerprint.slice(-16).toUpperCase();
  }

  write(): Uint8Array {
    return this.body;
  }

  native(): NativeKey {
    this.nativeKey ??= nativeKeyFromPacketBody(this.body);
    return this.nativeKey;
  }
}

/** What key-facts.ts passes to `verify` as the signed data. */
interface SignedData {
  key: NativeKeyPacket;
  userID?: { userID: string; bytes: Uint8Array };
  bind?: NativeKeyPacket;
}

/** A v4 signature packet with the fields openpgp.js exposes and key-facts.ts reads. */
export class NativeSignature implements SubpacketSink {
  readonly signatureType: number;
  created: Date | null = null;
  keyExpirationTime: number | null = null;
  signatureExpirationTime: number | null = null;
  keyFlags: number[] | null = null;
  isPrimaryUserID: boolean | null = null;
  embeddedSignature: NativeSignature | null = null;
  /** Every issuer the packet names (issuer key IDs and fingerprints), upper-case key IDs. */
  readonly issuerKeyIds = new Set<string>();
  private readonly parsed: ParsedSignature;
  private readonly seen = new Set<number>();
  private good = false;

  constructor(body: Uint8Array) {
    // The packet's layout as the data-signature path reads it; the subpackets again below, by
    // openpgp.js's rules, which differ from gpg's.
    const read = parseSignatureBody(body);
    if (read.kind !== 'signature' || read.signature.version !== 4 || read.signature.mpis.length === 0) notCovered('unusual signature packet');
    const parsed = read.signature;
    const hashedEnd = parsed.hashedPart.length;
    const unhashedEnd = hashedEnd + 2 + ((body[hashedEnd]! << 8) | body[hashedEnd + 1]!);
    // gpg ignores bytes after the signature values; openpgp.js may not: leave those to it.
    let valuesEnd = unhashedEnd + 2;
    for (const mpi of parsed.mpis) valuesEnd += 2 + mpi.length;
    if (valuesEnd !== body.length) notCovered('bytes after the signature values');
    this.signatureType = parsed.signatureType;
    this.parsed = parsed;
    scanSubpackets(body, 6, hashedEnd, true, this);
    scanSubpackets(body, hashedEnd + 2, unhashedEnd, false, this);
  }

  /** Issued by this key, by another, or unclear (no issuer, or several). */
  issuedBy(keyId: string): boolean | undefined {
    if (this.issuerKeyIds.size !== 1) return undefined;
    return this.issuerKeyIds.has(keyId);
  }

  /**
   * openpgp.js's SignaturePacket.verify for a key signature checked at no particular time,
   * returning when the signature is good. Every signature that is not plainly good is
   * NotCovered, so that openpgp.js, not this reader, judges the keyring.
   */
  check(key: NativeKeyPacket, signatureType: number, data: SignedData): void {
    // Each signature is checked once, against the one key and data it can belong to (as
    // openpgp.js caches a verified key signature).
    if (this.good) return;
    const signature = this.parsed;
    if (this.issuedBy(key.keyId) !== true) notCovered('issuer');
    if (signature.publicKeyAlgorithm !== key.algorithm) notCovered('algorithm');
    const hash = supportedHash(signature.hashAlgorithm);
    if (!hash) notCovered('hash algorithm');
    // openpgp.js refuses EdDSA signatures over digests shorter than SHA-256.
    if (key.algorithm === ALGORITHM_EDDSA_LEGACY && signature.hashAlgorithm !== 8 && signature.hashAlgorithm !== 9 && signature.hashAlgorithm !== 10)
      notCovered('weak EdDSA hash');
    const native = key.native();
    if (native.kind !== 'ed25519' && native.kind !== 'ecdsa' && native.kind !== 'rsa') notCovered('key material');
    const signed = signedBytes(signatureType, data);
    // The two digest bytes stored in the packet are not compared: gpg does not (and
    // key-facts.ts hands openpgp.js the right ones), only the signature itself counts.
    // Values gpg and openpgp.js may take differently (an EdDSA S of 2^252 or more, stored
    // little-endian, which the fast path reduces; an RSA value not below the modulus).
    const s = signature.mpis[1];
    if (native.kind === 'ed25519' && (!s || s.length > 32 || (s.length === 32 && s[31]! >= 0x10))) notCovered('EdDSA S');
    if (native.kind === 'rsa' && bytesToBig(signature.mpis[0]!) >= bytesToBig(native.modulus)) notCovered('RSA value');
    const check = checkCryptography(native, signature, signed);
    const good = typeof check === 'boolean' ? check : runNativeCheck(check) === true;
    if (!good) notCovered('signature does not verify');
    this.good = true;
  }

  /** One subpacket, read as openpgp.js reads it (SubpacketSink). */
  note(type: number, critical: boolean, data: Uint8Array, hashed: boolean): void {
    if (critical && !CRITICAL_UNDERSTOOD.has(type)) notCovered('critical subpacket');
    // A designated revoker (12) changes nothing here: openpgp.js, after checking such a
    // self-signature, reports "revoked with an authorized key", which key-facts.ts counts as
    // good; a revocation the revoker itself issued is not by this key and goes to openpgp.js.
    if (!hashed && !UNHASHED_READ.has(type)) return;
    if (type === 16 || type === 33) {
      if (type === 16 && data.length !== 8) notCovered('issuer');
      if (type === 33 && (data.length !== 21 || data[0] !== 4)) notCovered('issuer fingerprint');
      this.issuerKeyIds.add(
        Buffer.from(data.subarray(data.length - 8))
          .toString('hex')
          .toUpperCase(),
      );
      return;
    }
    // openpgp.js keeps the last of a repeated subpacket, gpg the first: leave those to openpgp.js.
    if (this.seen.has(type)) notCovered('repeated subpacket');
    this.seen.add(type);
    switch (type) {
      case 2:
        if (data.length !== 4) notCovered('creation time');
        this.created = new Date(readUint32(data, 0) * 1000);
        break;
      case 3:
        if (data.length !== 4) notCovered('signature expiry');
        this.signatureExpirationTime = readUint32(data, 0);
        break;
      case 9:
        if (data.length !== 4) notCovered('key expiry');
        this.keyExpirationTime = readUint32(data, 0);
        break;
      case 25:
        if (data.length !== 1) notCovered('primary user ID');
        this.isPrimaryUserID = data[0] !== 0;
        break;
      case 27:
        if (data.length === 0) notCovered('key flags');
        this.keyFlags = [...data];
        break;
      case 32:
        this.embeddedSignature = new NativeSignature(data);
        break;
      default:
        break;
    }
  }
}

function signedBytes(signatureType: number, data: SignedData): Uint8Array {
  if ((signatureType >= SIG_CERT_GENERIC && signatureType <= SIG_CERT_POSITIVE) || signatureType === SIG_CERT_REVOCATION) {
    if (!data.userID) notCovered('certification without a user ID');
    const uid = data.userID.bytes;
    const header = new Uint8Array([0xb4, (uid.length >>> 24) & 0xff, (uid.length >>> 16) & 0xff, (uid.length >>> 8) & 0xff, uid.length & 0xff]);
    return Buffer.concat([data.key.forHash, header, uid]);
  }
  if (signatureType === SIG_DIRECT || signatureType === SIG_KEY_REVOCATION) return data.key.forHash;
  if (signatureType === SIG_SUBKEY_BINDING || signatureType === SIG_SUBKEY_REVOCATION || signatureType === SIG_KEY_BINDING) {
    if (!data.bind) notCovered('binding without a subkey');
    return Buffer.concat([data.key.forHash, data.bind.forHash]);
  }
  return notCovered(`signature type ${signatureType}`);
}

export class NativeUser {
  readonly selfCertifications: NativeSignature[] = [];
  readonly revocationSignatures: NativeSignature[] = [];
  /** null for a user attribute (a photo): key-facts.ts skips those. */
  readonly userID: { userID: string; bytes: Uint8Array } | null;

  constructor(bytes: Uint8Array | null) {
    this.userID = bytes ? { userID: decodeUserId(bytes), bytes } : null;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A user ID that is not valid UTF-8 is left to openpgp.js (it decodes with replacement characters). */
function decodeUserId(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return notCovered('user ID is not UTF-8');
  }
}

export class NativeSubkey {
  readonly bindingSignatures: NativeSignature[] = [];
  readonly revocationSignatures: NativeSignature[] = [];

  constructor(readonly keyPacket: NativeKeyPacket) {}

  getFingerprint(): string {
    return this.keyPacket.fingerprint;
  }
}

/** One keyblock, shaped as key-facts.ts and the registry read openpgp.js keys. */
export class NativeKeyblock {
  readonly users: NativeUser[] = [];
  readonly subkeys: NativeSubkey[] = [];
  readonly directSignatures: NativeSignature[] = [];
  readonly revocationSignatures: NativeSignature[] = [];

  constructor(readonly keyPacket: NativeKeyPacket) {}

  getFingerprint(): string {
    return this.keyPacket.fingerprint;
  }

  isPrivate(): boolean {
    return false;
  }
}

/**
 * The keys of one armored public key block, or undefined when openpgp.js must read it. Every
 * self-signature is checked here, so that any that fails sends the block to openpgp.js.
 */
export function readKeyBlockNatively(block: string): NativeKeyblock[] | undefined {
  try {
    const keys = readPackets(dearmorKeyBlock(block));
    for (const key of keys) checkSelfSignatures(key);
    return keys;
  } catch (error) {
    if (error instanceof NotCovered) return undefined;
    throw error;
  }
}

const KEY_BLOCK =
  /^-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(?:[A-Za-z][A-Za-z0-9-]*: [^\r\n]*\r?\n)*\r?\n((?:[A-Za-z0-9+/]+={0,2}\r?\n)+)(?:=([A-Za-z0-9+/]{4})\r?\n)?-----END PGP PUBLIC KEY BLOCK-----$/;

function dearmorKeyBlock(block: string): Uint8Array {
  const match = KEY_BLOCK.exec(block);
  if (!match) notCovered('armor');
  const data = match[1]!.replace(/\r?\n/g, '');
  // Padding only at the very end, in whole quads.
  if (data.length % 4 !== 0 || /=[^=]/.test(data)) notCovered('armor');
  const bytes = Buffer.from(data, 'base64');
  if (match[2] !== undefined) {
    const crc = Buffer.from(match[2], 'base64');
    if (((crc[0]! << 16) | (crc[1]! << 8) | crc[2]!) !== crc24(bytes)) notCovered('armor checksum');
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** openpgp.js's packetListToStructure, for the packet sequences this reader covers. */
function readPackets(bytes: Uint8Array): NativeKeyblock[] {
  const keys: NativeKeyblock[] = [];
  let key: NativeKeyblock | undefined;
  let user: NativeUser | undefined;
  let subkey: NativeSubkey | undefined;
  for (let offset = 0; offset < bytes.length;) {
    const header = readPacketHeader(bytes, offset);
    if (header.kind !== 'ok') notCovered('packet header');
    const { tag, bodyStart, bodyEnd } = header;
    // readPacketHeader clamps a length that runs past the data, as gpg reads signatures.
    if (header.truncated) notCovered('truncated packet');
    const body = bytes.subarray(bodyStart, bodyEnd);
    offset = bodyEnd;
    if (tag === TAG_PUBLIC_KEY) {
      key = new NativeKeyblock(new NativeKeyPacket(body));
      keys.push(key);
      user = undefined;
      subkey = undefined;
      continue;
    }
    if (!key) notCovered('no key packet first');
    if (tag === TAG_USER_ID || tag === TAG_USER_ATTRIBUTE) {
      user = new NativeUser(tag === TAG_USER_ID ? body : null);
      key.users.push(user);
      subkey = undefined;
    } else if (tag === TAG_PUBLIC_SUBKEY) {
      subkey = new NativeSubkey(new NativeKeyPacket(body));
      key.subkeys.push(subkey);
      user = undefined;
    } else if (tag === TAG_SIGNATURE) {
      placeSignature(key, user, subkey, new NativeSignature(body));
    } else {
      notCovered(`packet type ${tag}`);
    }
  }
  if (keys.length === 0) notCovered('no key');
  return keys;
}

function placeSignature(key: NativeKeyblock, user: NativeUser | undefined, subkey: NativeSubkey | undefined, signature: NativeSignature): void {
  const type = signature.signatureType;
  const primaryId = key.keyPacket.keyId;
  if (type >= SIG_CERT_GENERIC && type <= SIG_CERT_POSITIVE) {
    if (!user) notCovered('certification without a user');
    const self = signature.issuedBy(primaryId);
    if (self === undefined) notCovered('certification issuer');
    // Certifications by other keys play no part in the key's facts (openpgp.js: otherCertifications).
    if (self) user.selfCertifications.push(signature);
  } else if (type === SIG_CERT_REVOCATION) {
    if (!user) notCovered('revocation without a user');
    if (signature.issuedBy(primaryId) !== true) notCovered('revocation issuer');
    user.revocationSignatures.push(signature);
  } else if (type === SIG_DIRECT) {
    key.directSignatures.push(signature);
  } else if (type === SIG_KEY_REVOCATION) {
    key.revocationSignatures.push(signature);
  } else if (type === SIG_SUBKEY_BINDING) {
    if (!subkey) notCovered('binding without a subkey');
    subkey.bindingSignatures.push(signature);
  } else if (type === SIG_SUBKEY_REVOCATION) {
    if (!subkey) notCovered('revocation without a subkey');
    subkey.revocationSignatures.push(signature);
  } else {
    notCovered(`signature type ${type}`);
  }
}

/** Checks every self-signature key-facts.ts will look at; any that is not good is NotCovered. */
function checkSelfSignatures(key: NativeKeyblock): void {
  const primary = key.keyPacket;
  for (const user of key.users) {
    if (!user.userID) continue;
    const data = { key: primary, userID: user.userID };
    for (const signature of user.selfCertifications) signature.check(primary, signature.signatureType, data);
    for (const signature of user.revocationSignatures) signature.check(primary, SIG_CERT_REVOCATION, data);
  }
  for (const signature of key.directSignatures) signature.check(primary, SIG_DIRECT, { key: primary });
  for (const signature of key.revocationSignatures) signature.check(primary, SIG_KEY_REVOCATION, { key: primary });
  for (const subkey of key.subkeys) {
    const data = { key: primary, bind: subkey.keyPacket };
    for (const signature of subkey.bindingSignatures) {
      signature.check(primary, SIG_SUBKEY_BINDING, data);
      if (signature.embeddedSignature) signature.embeddedSignature.check(subkey.keyPacket, SIG_KEY_BINDING, data);
    }
    for (const signature of subkey.revocationSignatures) signature.check(primary, SIG_SUBKEY_REVOCATION, data);
  }
}
