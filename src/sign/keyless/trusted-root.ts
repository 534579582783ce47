import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SignetError } from '../../core/errors.ts';
import { parseTrustedRoot, type SigstoreTrust } from '../../core/sigstore/trusted-root.ts';
import { publicGoodTrustedRoot } from '../../keys/public-good-trusted-root.ts';

/**
 * The trusted root artifact verification uses: the public-good one shipped with signet
 * (verification stays offline), or a private Sigstore's own from --trusted-root (or policy
 * keys.trusted_root), read relative to `cwd`.
 */
export async function loadKeylessTrust(file: string | undefined, cwd: string): Promise<SigstoreTrust> {
  if (file === undefined) return publicGoodTrustedRoot('CONFIG_INVALID');
  const path = resolve(cwd, file);
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `--trusted-root ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseTrustedRoot(text, file, 'CONFIG_INVALID');
}
