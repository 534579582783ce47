import { readFileSync } from 'node:fs';
import { SignetError } from '../core/errors.ts';
import { loadOpenPgpRegistry } from '../core/openpgp/index.ts';
import { createSshRegistry, parseAllowedSigners, parseRevokedKeys } from '../core/ssh/index.ts';
import type { KeyRegistries } from '../core/verify-object.ts';

export interface RegistryFiles {
  keyrings: string[];
  allowedSigners?: string | undefined;
  revokedKeys?: string | undefined;
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

/** Reads the key files a verification trusts; any unreadable or malformed file is an error. */
export async function loadRegistries(files: RegistryFiles): Promise<KeyRegistries> {
  const keyrings = files.keyrings.map((path) => ({ name: path, text: readKeyFile(path, 'OpenPGP keyring').toString('latin1') }));
  const allowed = files.allowedSigners ? parseAllowedSigners(readKeyFile(files.allowedSigners, 'allowed signers file').toString('utf8'), files.allowedSigners) : [];
  const revoked = files.revokedKeys ? parseRevokedKeys(readKeyFile(files.revokedKeys, 'revoked keys file'), files.revokedKeys) : undefined;
  return {
    openpgp: await loadOpenPgpRegistry(keyrings),
    ssh: createSshRegistry(allowed, revoked),
  };
}
