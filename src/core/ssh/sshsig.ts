/**
 * The SSHSIG format (OpenSSH PROTOCOL.sshsig): the armor, the signature blob, and the bytes a
 * signature covers.
 */
import { Buffer } from 'node:buffer';
import { decodeBase64Strict } from './base64.ts';
import { WireFormatError, WireReader } from './wire.ts';

// ssh-keygen 9.2 requires the header line to end in a bare LF (a CRLF header is "missing header").
const BEGIN = '-----BEGIN SSH SIGNATURE-----\n';
const END = '\n-----END SSH SIGNATURE-----';
const MAGIC = Buffer.from('SSHSIG');
/** Versions above 1 are refused, as sshsig.c refuses them (it accepts 0 too). */
const MAX_VERSION = 1;

export const SSHSIG_HASH_ALGORITHMS = ['sha256', 'sha512'] as const;
export type SshsigHashAlgorithm = (typeof SSHSIG_HASH_ALGORITHMS)[number];

export interface SshsigBlob {
  version: number;
  publicKey: Uint8Array;
  namespace: string;
  hashAlgorithm: string;
  /** The signature in SSH signature encoding: string(type) ‖ type-specific fields. */
  signature: Uint8Array;
}

/** The signature blob inside the armor, exactly as sshsig_dearmor() finds it; throws WireFormatError. */
export function dearmor(armored: string): Uint8Array {
  if (!armored.startsWith(BEGIN)) throw new WireFormatError('SSH signature armor: missing "-----BEGIN SSH SIGNATURE-----" header line');
  // The footer's own LF must follow the header's: the header line is consumed first.
  const end = armored.indexOf(END, BEGIN.length);
  if (end === -1) throw new WireFormatError('SSH signature armor: missing "-----END SSH SIGNATURE-----" footer');
  const body = armored.slice(BEGIN.length, end);
  const bytes = decodeBase64Strict(body);
  if (!bytes) throw new WireFormatError('SSH signature armor: the body is not valid base64');
  // A plain view: the wire reader's subarray calls are then V8's built-in, not Buffer's wrapper.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function parseSshsigBlob(blob: Uint8Array): SshsigBlob {
  for (let i = 0; i < MAGIC.length; i++) {
    if (blob[i] !== MAGIC[i]) throw new WireFormatError('SSH signature: no SSHSIG magic');
  }
  const reader = new WireReader(blob.subarray(MAGIC.length), 'SSH signature');
  const version = reader.u32();
  if (version > MAX_VERSION) throw new WireFormatError(`SSH signature: version ${version} (only ${MAX_VERSION} is known)`);
  const publicKey = reader.bytesString();
  const namespace = reader.text();
  reader.bytesString(); // reserved: ignored, and never part of the signed data
  const hashAlgorithm = reader.text();
  const signature = reader.bytesString();
  reader.end();
  return { version, publicKey, namespace, hashAlgorithm, signature };
}

const signedPrefixCache = new Map<string, Buffer>();

/**
 * The bytes the signer's key signed: "SSHSIG" ‖ string(namespace) ‖ string("") ‖
 * string(hash algorithm) ‖ string(H(message)).
 */
export function signedData(namespace: string, hashAlgorithm: string, messageHash: Uint8Array): Buffer {
  const cacheKey = `${namespace}\0${hashAlgorithm}`;
  let prefix = signedPrefixCache.get(cacheKey);
  if (!prefix) {
    const ns = Buffer.from(namespace, 'utf8');
    const alg = Buffer.from(hashAlgorithm, 'utf8');
    prefix = Buffer.alloc(MAGIC.length + 4 + ns.length + 4 + 4 + alg.length);
    let offset = MAGIC.copy(prefix, 0);
    offset = prefix.writeUInt32BE(ns.length, offset);
    offset += ns.copy(prefix, offset);
    offset = prefix.writeUInt32BE(0, offset);
    offset = prefix.writeUInt32BE(alg.length, offset);
    alg.copy(prefix, offset);
    if (signedPrefixCache.size < 64) signedPrefixCache.set(cacheKey, prefix);
  }
  const out = Buffer.allocUnsafe(prefix.length + 4 + messageHash.length);
  prefix.copy(out, 0);
  out.writeUInt32BE(messageHash.length, prefix.length);
  out.set(messageHash, prefix.length + 4);
  return out;
}
