import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import seeds from '@sigstore/tuf/seeds.json' with { type: 'json' };
import { SignetError } from '../../core/errors.ts';
import { keylessTrust, type KeylessTrust } from '../../core/sign/keyless.ts';

/**
 * The public-good Sigstore trusted root (Fulcio CAs, Rekor and CT log keys, TSA) as
 * @sigstore/tuf ships it in its seeds, embedded in signet at build time: verification stays
 * offline. A private Sigstore passes its own with --trusted-root (or policy keys.trusted_root).
 */
export function publicGoodTrustedRoot(): unknown {
  const target = (seeds as Record<string, { targets: Record<string, string> }>)['https://tuf-repo-cdn.sigstore.dev']?.targets['trusted_root.json'];
  if (!target) throw new SignetError('CONFIG_INVALID', 'the embedded Sigstore trusted root is missing from this build');
  return JSON.parse(Buffer.from(target, 'base64').toString('utf8')) as unknown;
}

export async function loadKeylessTrust(file: string | undefined, cwd: string): Promise<KeylessTrust> {
  if (file === undefined) return keylessTrust(publicGoodTrustedRoot(), 'the public-good Sigstore trusted root');
  const path = resolve(cwd, file);
  let text: Buffer;
  try {
    text = await readFile(path);
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `--trusted-root ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return keylessTrust(text, file);
}
