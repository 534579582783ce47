import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { formatChecksums, type ChecksumEntry } from '../core/sign/checksums.ts';
import { digestFile, type DigestOptions } from './file-digest.ts';
import type { OpenPgpSigner } from './openpgp-signer.ts';

export interface ChecksumsResult {
  entries: ChecksumEntry[];
  text: string;
  checksumsPath: string;
  signaturePath: string;
}

/**
 * `checksums.txt` in sha256sum's format (names as given, so `sha256sum --check` run from the same
 * directory finds them) and its armored detached signature `checksums.txt.asc`.
 */
export async function writeSignedChecksums(
  files: readonly string[],
  signer: OpenPgpSigner,
  options: { cwd: string; output: string } & Pick<DigestOptions, 'progressTo'>,
): Promise<ChecksumsResult> {
  const entries: ChecksumEntry[] = [];
  for (const name of files) {
    const { digest } = await digestFile(resolve(options.cwd, name), 'sha256', { ...options, label: name });
    entries.push({ name, sha256Hex: digest.toString('hex') });
  }
  const text = formatChecksums(entries);
  const checksumsPath = resolve(options.cwd, options.output);
  const signaturePath = `${checksumsPath}.asc`;
  await writeFile(checksumsPath, text);
  await writeFile(signaturePath, await signer.signDetached(Buffer.from(text, 'utf8')));
  return { entries, text, checksumsPath, signaturePath };
}
