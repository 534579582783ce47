/**
 * SSH public key blobs (RFC 4253 §6.6, RFC 5656, RFC 8709, OpenSSH PROTOCOL.u2f and
 * PROTOCOL.certkeys): plain keys and OpenSSH certificates, parsed strictly.
 */
import { WireFormatError, WireReader, WireWriter } from './wire.ts';

export type KeyAlgorithm = 'ed25519' | 'sk-ed25519' | 'ecdsa' | 'sk-ecdsa' | 'rsa' | 'dsa';
export type EcdsaCurve = 'nistp256' | 'nistp384' | 'nistp521';

/** A key type this module can read but not verify with, or does not know at all. */
export class UnsupportedKeyError extends Error {
  /** `weak`: a type OpenSSH knows but refuses at this size (RSA under 1024 bits). */
  readonly weak: boolean;
  constructor(message: string, weak = false) {
    super(message);
    this.name = 'UnsupportedKeyError';
    this.weak = weak;
  }
}

interface KeyTypeInfo {
  algorithm: KeyAlgorithm;
  plainType: string;
  curve?: EcdsaCurve;
  certificate: boolean;
}

const CERT_SUFFIX = '-cert-v01@openssh.com';

const PLAIN_TYPES: Record<string, Omit<KeyTypeInfo, 'plainType' | 'certificate'>> = {
  'ssh-ed25519': { algorithm: 'ed25519' },
  'sk-ssh-ed25519@openssh.com': { algorithm: 'sk-ed25519' },
  'ecdsa-sha2-nistp256': { algorithm: 'ecdsa', curve: 'nistp256' },
  'ecdsa-sha2-nistp384': { algorithm: 'ecdsa', curve: 'nistp384' },
  'ecdsa-sha2-nistp521': { algorithm: 'ecdsa', curve: 'nistp521' },
  'sk-ecdsa-sha2-nistp256@openssh.com': { algorithm: 'sk-ecdsa', curve: 'nistp256' },
  'ssh-rsa': { algorithm: 'rsa' },
  'ssh-dss': { algorithm: 'dsa' },
};

const KEY_TYPES = new Map<string, KeyTypeInfo>();
for (const [name, info] of Object.entries(PLAIN_TYPES)) {
  KEY_TYPES.set(name, { ...info, plainType: name, certificate: false });
  // Certificate names put the suffix before any @domain: sk-ssh-ed25519-cert-v01@openssh.com.
  const certName = name.replace(/@openssh\.com$/, '') + CERT_SUFFIX;
  KEY_TYPES.set(certName, { ...info, plainType: name, certificate: true });
}

/** Key type names OpenSSH knows (plain and certificate); anything else is unsupported. */
export function isKnownKeyType(name: string): boolean {
  return KEY_TYPES.has(name);
}

/** Bytes of one coordinate / scalar per curve. */
export const CURVE_BYTES: Record<EcdsaCurve, number> = { nistp256: 32, nistp384: 48, nistp521: 66 };

/** OpenSSH refuses RSA moduli under 1024 bits (SSH_RSA_MINIMUM_MODULUS_SIZE). */
const RSA_MINIMUM_BITS = 1024;
/** OpenSSH refuses certificates with more principals than this (SSHKEY_CERT_MAX_PRINCIPALS). */
const MAX_CERT_PRINCIPALS = 256;

export const CERT_TYPE_USER = 1;
export const CERT_TYPE_HOST = 2;

export interface SshCertificate {
  serial: bigint;
  /** 1 user, 2 host. */
  certType: number;
  keyId: string;
  principals: string[];
  /** Seconds since the epoch; `validBefore` is exclusive, as OpenSSH checks it. */
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: string[];
  extensions: string[];
  /** The CA key (always a plain key). */
  signatureKey: SshPublicKey;
  /** The CA's signature, in SSH signature encoding. */
  signature: Uint8Array;
  /** The bytes the CA signed: the certificate blob up to its signature. */
  signedBytes: Uint8Array;
}

export interface SshPublicKey {
  /** The type name as the blob carries it (`ssh-ed25519-cert-v01@openssh.com` for a certificate). */
  type: string;
  /** The type of the key itself (a certificate's certified key). */
  plainType: string;
  algorithm: KeyAlgorithm;
  /** Canonical encoding of the whole key (the certificate blob for certificates, as OpenSSH keeps it). */
  blob: Uint8Array;
  /** Canonical encoding of the plain public key: what fingerprints hash and revocation lists name. */
  plainBlob: Uint8Array;
  curve?: EcdsaCurve;
  /** Ed25519: the 32-byte key; ECDSA: the uncompressed point (0x04 ‖ X ‖ Y). */
  point?: Uint8Array;
  rsa?: { e: Uint8Array; n: Uint8Array; bits: number };
  /** FIDO keys: the application (relying party) string, e.g. `ssh:`. */
  application?: string;
  certificate?: SshCertificate;
}

function bitLength(magnitude: Uint8Array): number {
  if (magnitude.length === 0) return 0;
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0] as number));
}

interface KeyFields {
  curve?: EcdsaCurve;
  point?: Uint8Array;
  rsa?: { e: Uint8Array; n: Uint8Array; bits: number };
  application?: string;
  dsa?: Uint8Array[];
}

function readKeyFields(reader: WireReader, info: KeyTypeInfo, what: string): KeyFields {
  switch (info.algorithm) {
    case 'ed25519':
    case 'sk-ed25519': {
      const point = reader.bytesString();
      if (point.length !== 32) throw new WireFormatError(`${what}: Ed25519 key of ${point.length} bytes`);
      return info.algorithm === 'sk-ed25519' ? { point, application: reader.text() } : { point };
    }
    case 'ecdsa':
    case 'sk-ecdsa': {
      const curve = info.curve as EcdsaCurve;
      const named = reader.text();
      if (named !== curve) throw new WireFormatError(`${what}: curve ${named} in a ${info.plainType} key`);
      const point = reader.bytesString();
      const size = CURVE_BYTES[curve];
      if (point[0] === 0x02 || point[0] === 0x03) {
        // OpenSSH itself always writes uncompressed points; a compressed one would also change the
        // key's fingerprint, so it is refused rather than silently normalised.
        throw new UnsupportedKeyError(`${what}: compressed EC points are not supported`);
      }
      if (point.length !== 1 + 2 * size || point[0] !== 0x04) throw new WireFormatError(`${what}: malformed ${curve} point`);
      return info.algorithm === 'sk-ecdsa' ? { curve, point, application: reader.text() } : { curve, point };
    }
    case 'rsa': {
      const e = reader.mpint();
      const n = reader.mpint();
      const bits = bitLength(n);
      if (bits < RSA_MINIMUM_BITS) throw new UnsupportedKeyError(`${what}: RSA key of ${bits} bits (OpenSSH requires at least ${RSA_MINIMUM_BITS})`, true);
      if (e.length === 0 || ((e[e.length - 1] as number) & 1) === 0) throw new WireFormatError(`${what}: invalid RSA exponent`);
      return { rsa: { e, n, bits } };
    }
    case 'dsa':
      return { dsa: [reader.mpint(), reader.mpint(), reader.mpint(), reader.mpint()] };
  }
}

function writeKeyFields(writer: WireWriter, info: KeyTypeInfo, fields: KeyFields): void {
  switch (info.algorithm) {
    case 'ed25519':
      writer.string(fields.point as Uint8Array);
      return;
    case 'sk-ed25519':
      writer.string(fields.point as Uint8Array).string(fields.application as string);
      return;
    case 'ecdsa':
      writer.string(fields.curve as string).string(fields.point as Uint8Array);
      return;
    case 'sk-ecdsa':
      writer
        .string(fields.curve as string)
        .string(fields.point as Uint8Array)
        .string(fields.application as string);
      return;
    case 'rsa': {
      const rsa = fields.rsa as { e: Uint8Array; n: Uint8Array };
      writer.mpint(rsa.e).mpint(rsa.n);
      return;
    }
    case 'dsa':
      for (const part of fields.dsa as Uint8Array[]) writer.mpint(part);
      return;
  }
}

function readNameList(bytes: Uint8Array, what: string): string[] {
  // Critical options and extensions: (name, data) pairs, names in strictly increasing order.
  const reader = new WireReader(bytes, what);
  const names: string[] = [];
  while (reader.remaining > 0) {
    const name = reader.text();
    reader.bytesString();
    const previous = names[names.length - 1];
    if (previous !== undefined && !(name > previous)) throw new WireFormatError(`${what}: options out of order or repeated`);
    names.push(name);
  }
  return names;
}

function readCertificate(reader: WireReader, blob: Uint8Array, what: string): SshCertificate {
  const serial = reader.u64();
  const certType = reader.u32();
  if (certType !== CERT_TYPE_USER && certType !== CERT_TYPE_HOST) throw new WireFormatError(`${what}: unknown certificate type ${certType}`);
  const keyId = reader.text();
  const principalReader = new WireReader(reader.bytesString(), `${what} principals`);
  const principals: string[] = [];
  while (principalReader.remaining > 0) {
    if (principals.length >= MAX_CERT_PRINCIPALS) throw new WireFormatError(`${what}: more than ${MAX_CERT_PRINCIPALS} principals`);
    principals.push(principalReader.text());
  }
  const validAfter = reader.u64();
  const validBefore = reader.u64();
  const criticalOptions = readNameList(reader.bytesString(), `${what} critical options`);
  const extensions = readNameList(reader.bytesString(), `${what} extensions`);
  reader.bytesString(); // reserved
  const signatureKeyBlob = reader.bytesString();
  const signedBytes = blob.subarray(0, reader.position);
  const signature = reader.bytesString();
  reader.end();
  const signatureKey = parsePublicKeyBlob(signatureKeyBlob, `${what} CA key`);
  if (signatureKey.certificate) throw new WireFormatError(`${what}: signed by a certificate, not a CA key`);
  return { serial, certType, keyId, principals, validAfter, validBefore, criticalOptions, extensions, signatureKey, signature, signedBytes };
}

/**
 * Parses a public key blob. Throws WireFormatError on malformed input and UnsupportedKeyError on
 * key types OpenSSH does not know (or refuses, such as RSA under 1024 bits).
 */
export function parsePublicKeyBlob(blob: Uint8Array, what = 'public key'): SshPublicKey {
  const reader = new WireReader(blob, what);
  const type = reader.text();
  const info = KEY_TYPES.get(type);
  if (!info) throw new UnsupportedKeyError(`${what}: unknown key type ${JSON.stringify(type.slice(0, 64))}`);
  if (info.certificate) reader.bytesString(); // nonce
  const fields = readKeyFields(reader, info, what);
  const plainWriter = new WireWriter().string(info.plainType);
  writeKeyFields(plainWriter, info, fields);
  const plainBlob = plainWriter.finish();
  let certificate: SshCertificate | undefined;
  if (info.certificate) {
    certificate = readCertificate(reader, blob, what);
  } else {
    reader.end();
  }
  const key: SshPublicKey = {
    type,
    plainType: info.plainType,
    algorithm: info.algorithm,
    // Certificates are kept verbatim (OpenSSH compares and re-sends the certificate blob as is).
    blob: certificate ? blob : plainBlob,
    plainBlob,
  };
  if (fields.curve) key.curve = fields.curve;
  if (fields.point) key.point = fields.point;
  if (fields.rsa) key.rsa = fields.rsa;
  if (fields.application !== undefined) key.application = fields.application;
  if (certificate) key.certificate = certificate;
  return key;
}
