/**
 * Builds SSH keys and SSHSIG signatures by hand with node:crypto, for what this machine's
 * ssh-keygen cannot make (FIDO keys need a security key). Written from OpenSSH's PROTOCOL.u2f
 * and PROTOCOL.sshsig; the tests prove each format with ssh-keygen before relying on it.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export function sshString(value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value);
  const out = Buffer.alloc(4 + bytes.length);
  out.writeUInt32BE(bytes.length);
  bytes.copy(out, 4);
  return out;
}

export function sshMpint(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const value = Buffer.from(magnitude.subarray(start));
  return sshString(value.length > 0 && ((value[0] as number) & 0x80) !== 0 ? Buffer.concat([Buffer.of(0), value]) : value);
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

const sha = (algorithm: string, data: Uint8Array): Buffer => createHash(algorithm).update(data).digest();

export function armor(blob: Uint8Array): string {
  const body = Buffer.from(blob).toString('base64').replace(/.{70}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN SSH SIGNATURE-----\n${body}\n-----END SSH SIGNATURE-----\n`;
}

export interface FidoKey {
  type: 'sk-ssh-ed25519@openssh.com' | 'sk-ecdsa-sha2-nistp256@openssh.com';
  application: string;
  privateKey: KeyObject;
  /** The SSH public key blob. */
  blob: Buffer;
  /** `type base64 comment`, as a .pub file holds it. */
  publicLine: string;
}

export function makeFidoKey(kind: 'ed25519' | 'ecdsa', application = 'ssh:'): FidoKey {
  if (kind === 'ed25519') {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const point = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
    const type = 'sk-ssh-ed25519@openssh.com' as const;
    const blob = Buffer.concat([sshString(type), sshString(point), sshString(application)]);
    return { type, application, privateKey, blob, publicLine: `${type} ${blob.toString('base64')} fido-ed25519` };
  }
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
  const type = 'sk-ecdsa-sha2-nistp256@openssh.com' as const;
  const blob = Buffer.concat([sshString(type), sshString('nistp256'), sshString(point), sshString(application)]);
  return { type, application, privateKey, blob, publicLine: `${type} ${blob.toString('base64')} fido-ecdsa` };
}

/** The bytes an SSHSIG signature covers. */
export function sshsigSignedData(payload: Uint8Array, namespace: string, hashAlgorithm: 'sha256' | 'sha512'): Buffer {
  return Buffer.concat([Buffer.from('SSHSIG'), sshString(namespace), sshString(''), sshString(hashAlgorithm), sshString(sha(hashAlgorithm, payload))]);
}

export interface FidoSignOptions {
  namespace?: string;
  hashAlgorithm?: 'sha256' | 'sha512';
  flags?: number;
  counter?: number;
  /** Sign over another application than the key's (a forgery attempt). */
  signedApplication?: string;
}

/** The SSH signature (string type ‖ signature ‖ flags ‖ counter) a security key would return. */
export function fidoSignature(key: FidoKey, data: Uint8Array, options: FidoSignOptions = {}): Buffer {
  const flags = options.flags ?? 0x01;
  const counter = options.counter ?? 1;
  const message = Buffer.concat([
    sha('sha256', Buffer.from(options.signedApplication ?? key.application)),
    Buffer.of(flags),
    u32(counter),
    sha('sha256', data),
  ]);
  if (key.type === 'sk-ssh-ed25519@openssh.com') {
    return Buffer.concat([sshString(key.type), sshString(sign(null, message, key.privateKey)), Buffer.of(flags), u32(counter)]);
  }
  const rs = sign('sha256', message, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  const inner = Buffer.concat([sshMpint(rs.subarray(0, 32)), sshMpint(rs.subarray(32))]);
  return Buffer.concat([sshString(key.type), sshString(inner), Buffer.of(flags), u32(counter)]);
}

export function sshsigBlob(publicKeyBlob: Uint8Array, namespace: string, hashAlgorithm: string, signature: Uint8Array, version = 1): Buffer {
  return Buffer.concat([
    Buffer.from('SSHSIG'),
    u32(version),
    sshString(publicKeyBlob),
    sshString(namespace),
    sshString(''),
    sshString(hashAlgorithm),
    sshString(signature),
  ]);
}

/** An armored SSHSIG signature by a FIDO key, as `ssh-keygen -Y sign` with a security key makes it. */
export function fidoSshsig(key: FidoKey, payload: Uint8Array, options: FidoSignOptions = {}): string {
  const namespace = options.namespace ?? 'git';
  const hashAlgorithm = options.hashAlgorithm ?? 'sha512';
  const signature = fidoSignature(key, sshsigSignedData(payload, namespace, hashAlgorithm), options);
  return armor(sshsigBlob(key.blob, namespace, hashAlgorithm, signature));
}

/** Reads an armored signature back into its blob (no checks: for building variants). */
export function dearmorLoosely(armored: string): Buffer {
  return Buffer.from(armored.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

export interface PlainKey {
  type: string;
  blob: Buffer;
  publicLine: string;
  privateKey: KeyObject;
}

/** A plain Ed25519, ECDSA or RSA key as an SSH public key blob, with its node:crypto private key. */
export function makePlainKey(kind: 'ed25519' | 'ecdsa-p256' | 'rsa', rsaBits = 2048): PlainKey {
  if (kind === 'ed25519') {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url'))]);
    return { type: 'ssh-ed25519', blob, publicLine: `ssh-ed25519 ${blob.toString('base64')}`, privateKey };
  }
  if (kind === 'ecdsa-p256') {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
    const blob = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(point)]);
    return { type: 'ecdsa-sha2-nistp256', blob, publicLine: `ecdsa-sha2-nistp256 ${blob.toString('base64')}`, privateKey };
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: rsaBits });
  const jwk = publicKey.export({ format: 'jwk' });
  const blob = Buffer.concat([sshString('ssh-rsa'), sshMpint(Buffer.from(jwk.e as string, 'base64url')), sshMpint(Buffer.from(jwk.n as string, 'base64url'))]);
  return { type: 'ssh-rsa', blob, publicLine: `ssh-rsa ${blob.toString('base64')}`, privateKey };
}

/** The SSH signature encoding of a signature by `key` over `data` (RSA: `rsaAlgorithm`). */
export function plainSignature(key: PlainKey, data: Uint8Array, rsaAlgorithm: 'rsa-sha2-512' | 'rsa-sha2-256' | 'ssh-rsa' = 'rsa-sha2-512'): Buffer {
  if (key.type === 'ssh-ed25519') return Buffer.concat([sshString(key.type), sshString(sign(null, data, key.privateKey))]);
  if (key.type === 'ecdsa-sha2-nistp256') {
    const rs = sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return Buffer.concat([sshString(key.type), sshString(Buffer.concat([sshMpint(rs.subarray(0, 32)), sshMpint(rs.subarray(32))]))]);
  }
  const hash = { 'rsa-sha2-512': 'sha512', 'rsa-sha2-256': 'sha256', 'ssh-rsa': 'sha1' }[rsaAlgorithm];
  return Buffer.concat([sshString(rsaAlgorithm), sshString(sign(hash, data, key.privateKey))]);
}
