import { createPrivateKey, createPublicKey, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa';
import { SignetError } from '../errors.ts';
import { decodePem, encodePem, fromBase64, isRecord, parseJson, toBase64 } from './encoding.ts';

/** cosign ≥ 2 writes this label; cosign 1.x wrote `ENCRYPTED COSIGN PRIVATE KEY`. Both read the same. */
export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
const ENCRYPTED_LABELS = new Set([SIGSTORE_PRIVATE_KEY_LABEL, 'ENCRYPTED COSIGN PRIVATE KEY']);

/** cosign's (go-tuf's "encrypted" package) parameters; a 32-byte salt, a 24-byte secretbox nonce. */
export const COSIGN_SCRYPT_PARAMS = { N: 32768, r: 8, p: 1 } as const;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function deriveKey(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  // Node caps scrypt memory at 32 MiB; N=32768, r=8 needs 128·N·r = 32 MiB plus a little.
  const maxmem = 128 * params.N * params.r * (params.p + 1) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { N: params.N, r: params.r, p: params.p, maxmem }, (error, key) => {
      if (error) reject(new SignetError('KEYRING_INVALID', `cannot derive the key-encryption key: ${error.message}`));
      else resolve(key);
    });
  });
}

function passwordBytes(password: string | Uint8Array): Uint8Array {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}

/** True when `text` is a password-protected cosign key (as opposed to a plain PKCS#8 PEM). */
export function isEncryptedCosignKey(text: string): boolean {
  return [...ENCRYPTED_LABELS].some((label) => text.includes(`-----BEGIN ${label}-----`));
}

/**
 * Opens a cosign private key: `ENCRYPTED SIGSTORE/COSIGN PRIVATE KEY` (scrypt + nacl secretbox
 * over PKCS#8), or an unencrypted `PRIVATE KEY` / `EC PRIVATE KEY` PEM. `what` names the key in
 * errors (a path or `env://NAME`), never its content.
 */
export async function readCosignPrivateKey(text: string, password: string | Uint8Array | undefined, what: string): Promise<KeyObject> {
  if (!isEncryptedCosignKey(text)) {
    try {
      return createPrivateKey({ key: text, format: 'pem' });
    } catch {
      throw new SignetError('KEYRING_INVALID', `${what} is not a cosign or PEM private key`);
    }
  }
  const block = decodePem(text, what);
  if (!ENCRYPTED_LABELS.has(block.label)) throw new SignetError('KEYRING_INVALID', `${what}: unexpected PEM block '${block.label}'`);
  if (password === undefined) throw new SignetError('KEYRING_INVALID', `${what} is encrypted and no password was given`);
  const envelope = parseJson(block.body, what);
  const kdf = isRecord(envelope) && isRecord(envelope.kdf) ? envelope.kdf : undefined;
  const params = kdf && isRecord(kdf.params) ? kdf.params : undefined;
  const cipher = isRecord(envelope) && isRecord(envelope.cipher) ? envelope.cipher : undefined;
  if (
    !isRecord(envelope) ||
    kdf?.name !== 'scrypt' ||
    !params ||
    cipher?.name !== 'nacl/secretbox' ||
    typeof kdf.salt !== 'string' ||
    typeof cipher.nonce !== 'string' ||
    typeof envelope.ciphertext !== 'string' ||
    typeof params.N !== 'number' ||
    typeof params.r !== 'number' ||
    typeof params.p !== 'number'
  ) {
    throw new SignetError('KEYRING_INVALID', `${what}: unsupported key encryption (expected scrypt + nacl/secretbox)`);
  }
  // Refuse absurd work factors from a hostile file before spending memory on them.
  if (params.N > 1 << 20 || params.r > 32 || params.p > 16) throw new SignetError('KEYRING_INVALID', `${what}: scrypt parameters out of range`);
  const key = await deriveKey(passwordBytes(password), fromBase64(kdf.salt, `${what} salt`), { N: params.N, r: params.r, p: params.p });
  const nonce = fromBase64(cipher.nonce, `${what} nonce`);
  if (nonce.length !== 24) throw new SignetError('KEYRING_INVALID', `${what}: secretbox nonce must be 24 bytes`);
  let pkcs8: Uint8Array;
  try {
    pkcs8 = xsalsa20poly1305(key, nonce).decrypt(fromBase64(envelope.ciphertext, `${what} ciphertext`));
  } catch {
    throw new SignetError('KEYRING_INVALID', `${what}: wrong password (or a corrupt key file)`);
  }
  try {
    return createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  } catch {
    throw new SignetError('KEYRING_INVALID', `${what}: decrypted content is not a PKCS#8 private key`);
  }
}

/** Encrypts a private key the way `cosign generate-key-pair` does. */
export async function encryptCosignPrivateKey(
  privateKey: KeyObject,
  password: string | Uint8Array,
  options: { params?: ScryptParams; salt?: Uint8Array; nonce?: Uint8Array } = {},
): Promise<string> {
  const params = options.params ?? COSIGN_SCRYPT_PARAMS;
  const salt = options.salt ?? randomBytes(32);
  const nonce = options.nonce ?? randomBytes(24);
  const key = await deriveKey(passwordBytes(password), salt, params);
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const ciphertext = xsalsa20poly1305(key, nonce).encrypt(pkcs8);
  // Field order and names as go-tuf's encrypted package marshals them.
  const envelope = {
    kdf: { name: 'scrypt', params: { N: params.N, r: params.r, p: params.p }, salt: toBase64(salt) },
    cipher: { name: 'nacl/secretbox', nonce: toBase64(nonce) },
    ciphertext: toBase64(ciphertext),
  };
  return encodePem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from(JSON.stringify(envelope), 'utf8'));
}

/** `cosign.pub`: the SPKI `PUBLIC KEY` PEM. */
export function publicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

export function readPublicKey(text: string | Uint8Array, what: string): KeyObject {
  try {
    const key = createPublicKey({ key: Buffer.from(text), format: 'pem' });
    return key;
  } catch {
    throw new SignetError('KEYRING_INVALID', `${what} is not a PEM public key`);
  }
}
