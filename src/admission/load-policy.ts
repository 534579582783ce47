import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseAdmissionPolicy, policyHash, type AdmissionPolicy, type Authority } from '../core/admission/image-policy.ts';
import { SignetError } from '../core/errors.ts';
import { readPublicKey } from '../core/sign/cosign-key.ts';

export interface LoadedAdmissionPolicy {
  policy: AdmissionPolicy;
  /** Public keys of key authorities. */
  keys: Map<Authority, KeyObject>;
  /** Changes whenever the policy or any key it names changes: part of every cache key. */
  hash: string;
  file: string;
}

/**
 * Reads the policy file and every key it names (paths relative to the file). Keyless authorities
 * are refused at start-up, with the reason, until keyless image verification is in this build:
 * a policy that cannot be enforced must not load as if it could.
 */
export async function loadAdmissionPolicy(file: string): Promise<LoadedAdmissionPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `cannot read policy ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const policy = parseAdmissionPolicy(text, file);
  const keys = new Map<Authority, KeyObject>();
  const material: string[] = [];
  for (const entry of policy.policies) {
    for (const authority of entry.authorities) {
      if (authority.keyless) {
        throw new SignetError('POLICY_INVALID', `${file}: policy ${entry.name}, authority ${authority.name}: keyless authorities are not verified by this build of signet admission (use key authorities)`);
      }
      if (!authority.key) continue;
      let pem = authority.key.pem;
      const what = authority.key.path ? resolve(dirname(file), authority.key.path) : `${file}: policy ${entry.name}, authority ${authority.name}`;
      if (pem === undefined && authority.key.path) {
        try {
          pem = await readFile(what, 'utf8');
        } catch (error) {
          throw new SignetError('CONFIG_INVALID', `${file}: policy ${entry.name}: cannot read key ${what}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
      }
      keys.set(authority, readPublicKey(pem ?? '', what));
      material.push(pem ?? '');
    }
  }
  return { policy, keys, hash: policyHash(policy, material.join('\0')), file };
}
