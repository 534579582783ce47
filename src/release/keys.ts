/**
 * The release signing keys from the app's environment. Each setting is either the key itself
 * (armored / PEM text in the variable) or a path to a file holding it. Secrets stay in memory;
 * errors name the variable, never its content.
 */
import type { Signer } from '../core/sign/signer.ts';
import { loadCosignSigner } from '../sign/cosign-signer.ts';
import { loadOpenPgpSigner, type OpenPgpSigner } from '../sign/openpgp-signer.ts';

export const RELEASE_OPENPGP_KEY_ENV = 'SIGNET_RELEASE_OPENPGP_KEY';
export const RELEASE_OPENPGP_PASSPHRASE_ENV = 'SIGNET_RELEASE_OPENPGP_PASSPHRASE';
export const RELEASE_COSIGN_KEY_ENV = 'SIGNET_RELEASE_COSIGN_KEY';

export interface ReleaseSigners {
  openpgp?: OpenPgpSigner;
  cosign?: Signer;
}

function keyRef(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value.trim() === '') return undefined;
  return value.trimStart().startsWith('-----BEGIN') ? `env://${name}` : value.trim();
}

/** Loads what is configured; none configured is an empty set (the comment says so). Throws SignetError on a bad key. */
export async function loadReleaseSigners(env: NodeJS.ProcessEnv, cwd: string): Promise<ReleaseSigners> {
  const context = { env, cwd };
  const openpgpRef = keyRef(env, RELEASE_OPENPGP_KEY_ENV);
  const cosignRef = keyRef(env, RELEASE_COSIGN_KEY_ENV);
  return {
    ...(openpgpRef ? { openpgp: await loadOpenPgpSigner(openpgpRef, context, RELEASE_OPENPGP_PASSPHRASE_ENV) } : {}),
    ...(cosignRef ? { cosign: await loadCosignSigner(cosignRef, context) } : {}),
  };
}
