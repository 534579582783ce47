/**
 * The policy and the key files it names, read from the repository's default branch through
 * the forge (never from the commits being checked: a pull request cannot loosen its own policy).
 */
import { posix } from 'node:path';
import { parsePolicy, type Policy } from '../core/policy/index.ts';
import { ForgeError } from './forge-error.ts';
import type { PolicyKeyFiles } from './forge-keys.ts';
import { keylessIdentitiesOf } from '../keys/load-registries.ts';

/** Reads one file of the default branch: its bytes, or undefined when it does not exist. */
export type DefaultBranchReader = (path: string) => Promise<Uint8Array | undefined>;

export interface LoadedPolicy {
  path: string;
  policy: Policy;
  /** The policy file's bytes (what the verdict memo is keyed by). */
  bytes: Uint8Array;
  files: PolicyKeyFiles;
}

/** The first of `candidates` that exists, parsed, with its key files; undefined when none exists. */
export async function loadPolicy(read: DefaultBranchReader, candidates: string[]): Promise<LoadedPolicy | undefined> {
  for (const path of candidates) {
    const bytes = await read(path);
    if (!bytes) continue;
    let policy: Policy;
    try {
      policy = parsePolicy(Buffer.from(bytes).toString('utf8'), path);
    } catch (error) {
      throw new ForgeError('policy', (error as Error).message);
    }
    const required = async (file: string, field: string): Promise<{ name: string; bytes: Uint8Array }> => {
      const resolved = resolveInRepository(path, file, field);
      const content = await read(resolved);
      if (!content) throw new ForgeError('policy', `${path}: ${field} names ${resolved}, which is not on the default branch`);
      return { name: resolved, bytes: content };
    };
    const keyrings = [];
    for (const [index, file] of policy.keys.openpgp.entries()) {
      const { name, bytes: content } = await required(file, `keys.openpgp[${index}]`);
      keyrings.push({ name, text: Buffer.from(content).toString('latin1') });
    }
    const files: PolicyKeyFiles = { keyrings };
    if (policy.keys.sshAllowedSigners) {
      const { name, bytes: content } = await required(policy.keys.sshAllowedSigners, 'keys.ssh_allowed_signers');
      files.allowedSigners = { name, text: Buffer.from(content).toString('utf8') };
    }
    if (policy.keys.sshRevokedKeys) files.revokedKeys = await required(policy.keys.sshRevokedKeys, 'keys.ssh_revoked_keys');
    // X.509 roots and CRLs, the trusted root and keyless identities: the same trust the hook reads.
    if (policy.keys.x509Roots?.length) {
      files.x509Roots = [];
      for (const [index, file] of policy.keys.x509Roots.entries()) {
        const { name, bytes: content } = await required(file, `keys.x509_roots[${index}]`);
        files.x509Roots.push({ name, text: Buffer.from(content).toString('latin1') });
      }
    }
    if (policy.keys.x509Crls?.length) {
      files.crls = [];
      for (const [index, file] of policy.keys.x509Crls.entries()) files.crls.push(await required(file, `keys.x509_crls[${index}]`));
    }
    if (policy.keys.trustedRoot) {
      const { name, bytes: content } = await required(policy.keys.trustedRoot, 'keys.trusted_root');
      files.trustedRoot = { name, text: Buffer.from(content).toString('utf8') };
    }
    const keyless = keylessIdentitiesOf(policy.keys.keyless);
    if (keyless) files.keylessIdentities = keyless;
    return { path, policy, bytes, files };
  }
  return undefined;
}

/** Key paths are relative to the policy file's directory; a leading `/` means the repository root. */
export function resolveInRepository(policyPath: string, file: string, field: string): string {
  const joined = file.startsWith('/') ? posix.normalize(file.slice(1)) : posix.normalize(posix.join(posix.dirname(policyPath), file));
  if (joined === '..' || joined.startsWith('../') || joined === '.' || joined === '') {
    throw new ForgeError('policy', `${policyPath}: ${field} (${file}) points outside the repository`);
  }
  return joined;
}
