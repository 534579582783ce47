import type { KeyObject } from 'node:crypto';
import { isEncryptedCosignKey, readCosignPrivateKey, readPublicKey } from '../core/sign/cosign-key.ts';
import { createKeySigner, type Signer } from '../core/sign/signer.ts';
import { SignetError } from '../core/errors.ts';
import { readKeyMaterial, type KeySourceContext } from './key-source.ts';

/** The variable cosign reads the key password from; signet reads the same one. */
export const COSIGN_PASSWORD_ENV = 'COSIGN_PASSWORD';

/** A Signer over a cosign key file (or `env://NAME`), opened with `COSIGN_PASSWORD`. */
export async function loadCosignSigner(keyRef: string, context: KeySourceContext): Promise<Signer> {
  const { text, what } = await readKeyMaterial(keyRef, context);
  const password = context.env[COSIGN_PASSWORD_ENV];
  if (isEncryptedCosignKey(text) && password === undefined) {
    throw new SignetError('CONFIG_INVALID', `${what} is encrypted: set ${COSIGN_PASSWORD_ENV} (it may be empty)`);
  }
  const privateKey = await readCosignPrivateKey(text, password, what);
  return createKeySigner(privateKey, what);
}

/** `cosign.pub` (SPKI PEM) from a file or `env://NAME`. */
export async function loadPublicKey(keyRef: string, context: KeySourceContext): Promise<KeyObject> {
  const { text, what } = await readKeyMaterial(keyRef, context);
  if (text.includes('PRIVATE KEY-----')) throw new SignetError('CONFIG_INVALID', `${what} is a private key; verification takes the public key (cosign.pub)`);
  return readPublicKey(text, what);
}
