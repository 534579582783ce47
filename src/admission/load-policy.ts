import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseAdmissionPolicy, policyHash, type AdmissionPolicy, type Authority } from '../core/admission/image-policy.ts';
import { SignetError } from '../core/errors.ts';
import { readPublicKey } from '../core/sign/cosign-key.ts';
import type { SigstoreTrust } from '../core/sigstore/trusted-root.ts';
import type { ImageTrust } from '../sign/oci/image-signing.ts';
import { loadKeylessTrust } from '../sign/keyless/trusted-root.ts';

export interface LoadedAdmissionPolicy {
  policy: AdmissionPolicy;
  /** What each key or keyless authority trusts. */
  keys: Map<Authority, ImageTrust>;
  /** Changes whenever the policy or any key it names changes: part of every cache key. */
  hash: string;
  file: string;
}

/**
 * Reads the policy file and every key it names (paths relative to the file). Keyless authorities
 * verify against the Sigstore trusted root: the public-good one shipped in signet, or
 * `trustedRootFile` for a private Sigstore; the root's content is part of the policy hash.
 */
export async function loadAdmissionPolicy(file: string, trustedRootFile?: string): Promise<LoadedAdmissionPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `cannot read policy ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const policy = parseAdmissionPolicy(text, file);
  const keys = new Map<Authority, ImageTrust>();
  const material: string[] = [];
  let keyless: SigstoreTrust | undefined;
  for (const entry of policy.policies) {
    for (const authority of entry.authorities) {
      if (authority.keyless) {
        keyless ??= await loadKeylessTrust(trustedRootFile, dirname(file));
        keys.set(authority, {
          keyless,
          identity: authority.keyless.identities.map((identity) => ({
            ...(identity.subject !== undefined ? { subject: identity.subject } : {}),
            ...(identity.subjectRegExp !== undefined ? { subjectRegExp: identity.subjectRegExp } : {}),
            ...(identity.issuer !== undefined ? { issuer: identity.issuer } : {}),
            ...(identity.issuerRegExp !== undefined ? { issuerRegExp: identity.issuerRegExp } : {}),
          })),
        });
        continue;
      }
      if (!authority.key) continue;
      let pem = authority.key.pem;
      const what = authority.key.path ? resolve(dirname(file), authority.key.path) : `${file}: policy ${entry.name}, authority ${authority.name}`;
      if (pem === undefined && authority.key.path) {
        try {
          pem = await readFile(what, 'utf8');
        } catch (error) {
          throw new SignetError(
            'CONFIG_INVALID',
            `${file}: policy ${entry.name}: cannot read key ${what}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          );
        }
      }
      keys.set(authority, readPublicKey(pem ?? '', what));
      material.push(pem ?? '');
    }
  }
  if (keyless) material.push(`trusted-root:${keyless.what}:${trustedRootFile ? await readFile(resolve(trustedRootFile), 'utf8') : 'public-good'}`);
  return { policy, keys, hash: policyHash(policy, material.join('\0')), file };
}
