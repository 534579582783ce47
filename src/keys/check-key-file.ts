import { SignetError } from '../core/errors.ts';
import { loadRegistries } from './load-registries.ts';

/**
 * For `signet policy check`: parses one key file the policy names, as the hook will, so a
 * malformed keyring or allowed_signers line is reported before it rejects every push.
 */
export async function checkKeyFileContents(
  absolutePath: string,
  kind: 'openpgp' | 'ssh_allowed_signers' | 'ssh_revoked_keys' | 'x509_roots' | 'x509_crls' | 'trusted_root',
): Promise<string | undefined> {
  try {
    if (kind === 'openpgp') await loadRegistries({ keyrings: [absolutePath] });
    else if (kind === 'ssh_allowed_signers') await loadRegistries({ keyrings: [], allowedSigners: absolutePath });
    else if (kind === 'x509_roots') await loadRegistries({ keyrings: [], x509Roots: [absolutePath] });
    else if (kind === 'trusted_root') await loadRegistries({ keyrings: [], trustedRoot: absolutePath });
    else if (kind === 'x509_crls') await loadRegistries({ keyrings: [], crls: [absolutePath] });
    else await loadRegistries({ keyrings: [], revokedKeys: absolutePath });
    return undefined;
  } catch (error) {
    if (error instanceof SignetError) return error.message;
    throw error;
  }
}
