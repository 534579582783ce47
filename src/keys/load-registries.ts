import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SignetError } from '../core/errors.ts';
import { loadOpenPgpRegistry } from '../core/openpgp/index.ts';
import { createSshRegistry, parseAllowedSigners, parseRevokedKeys } from '../core/ssh/index.ts';
import type { KeyRegistries } from '../core/verify-object.ts';

export interface RegistryFiles {
  keyrings: string[];
  allowedSigners?: string | undefined;
  revokedKeys?: string | undefined;
}

/**
 * The key material itself, read once: plain data, so it can be handed to worker threads
 * (structured clone) and built into registries there without touching the files again.
 */
export interface RegistrySources {
  keyrings: Array<{ name: string; text: string }>;
  allowedSigners?: { name: string; text: string };
  revokedKeys?: { name: string; bytes: Uint8Array };
}

function readKeyFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new SignetError('KEYRING_INVALID', `${path}: cannot read ${what} (${why})`);
  }
}

/**
 * GnuPG 2.1+ keeps public keys in a keybox (pubring.kbx: "KBXf" at offset 8 of its first blob),
 * a format of its own that openpgp.js does not read: say how to export it instead.
 */
function refuseKeybox(path: string, bytes: Buffer): Buffer {
  if (bytes.length >= 12 && bytes.subarray(8, 12).toString('latin1') === 'KBXf') {
    throw new SignetError('KEYRING_INVALID', `${path}: is a GnuPG keybox, which signet does not read; export its keys and give that file: gpg --homedir ${dirname(resolve(path))} --armor --export > keys.asc, then --keyring keys.asc`);
  }
  return bytes;
}

export function readRegistrySources(files: RegistryFiles): RegistrySources {
  return {
    keyrings: files.keyrings.map((path) => ({ name: path, text: refuseKeybox(path, readKeyFile(path, 'OpenPGP keyring')).toString('latin1') })),
    ...(files.allowedSigners ? { allowedSigners: { name: files.allowedSigners, text: readKeyFile(files.allowedSigners, 'allowed signers file').toString('utf8') } } : {}),
    ...(files.revokedKeys ? { revokedKeys: { name: files.revokedKeys, bytes: new Uint8Array(readKeyFile(files.revokedKeys, 'revoked keys file')) } } : {}),
  };
}

/** Builds registries from key material; any malformed file is an error that names it. */
export async function buildRegistries(sources: RegistrySources): Promise<KeyRegistries> {
  const allowed = sources.allowedSigners ? parseAllowedSigners(sources.allowedSigners.text, sources.allowedSigners.name) : [];
  const revoked = sources.revokedKeys ? parseRevokedKeys(sources.revokedKeys.bytes, sources.revokedKeys.name) : undefined;
  return {
    openpgp: await loadOpenPgpRegistry(sources.keyrings),
    ssh: createSshRegistry(allowed, revoked),
  };
}

/** Reads the key files a verification trusts; any unreadable or malformed file is an error. */
export async function loadRegistries(files: RegistryFiles): Promise<KeyRegistries> {
  return buildRegistries(readRegistrySources(files));
}
