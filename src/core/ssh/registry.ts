/**
 * The SSH root of trust: allowed_signers entries (in file order, which matters: ssh-keygen's
 * find-principals answers with the first matching line) indexed by key, plus revoked keys.
 */
import { Buffer } from 'node:buffer';
import { parsedKeys, type AllowedSigner } from './allowed-signers.ts';
import { parsePublicKeyBlob, type SshPublicKey } from './public-key.ts';
import type { RevokedSshKeys } from './revoked-keys.ts';

export interface SshRegistryOptions {
  /**
   * Require the user-presence (touch) flag on FIDO (`sk-*`) signatures. Default true, as sshd
   * requires it for logins; note ssh-keygen -Y verify (and so git) accepts untouched signatures.
   */
  requireUserPresence?: boolean;
}

export interface SshRegistry {
  readonly signers: readonly AllowedSigner[];
  readonly revoked?: RevokedSshKeys;
  readonly requireUserPresence: boolean;
}

export interface SignerEntry {
  signer: AllowedSigner;
  /** Position in the registry: lines are consulted in this order. */
  order: number;
  /** The principals field as written, for OpenSSH's pattern-list matching. */
  principalList: string;
  namespaceList?: string;
  key: SshPublicKey;
}

export interface RegistryIndex {
  /** Lines without cert-authority, by the key blob they list. */
  byKey: Map<string, SignerEntry[]>;
  /** cert-authority lines, by their plain key blob. */
  byCaKey: Map<string, SignerEntry[]>;
  /** The lines that concern a signing key, found once per (cached) parsed key. */
  candidates: WeakMap<SshPublicKey, SignerEntry[]>;
}

const indexes = new WeakMap<SshRegistry, RegistryIndex>();

/** Map keys for byte strings: one char per byte, cheap to build and exact to compare. */
export function byteKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function add(map: Map<string, SignerEntry[]>, key: string, entry: SignerEntry): void {
  const list = map.get(key);
  if (list) list.push(entry);
  else map.set(key, [entry]);
}

function buildIndex(signers: readonly AllowedSigner[]): RegistryIndex {
  const index: RegistryIndex = { byKey: new Map(), byCaKey: new Map(), candidates: new WeakMap() };
  signers.forEach((signer, order) => {
    const key = parsedKeys.get(signer) ?? parsePublicKeyBlob(signer.keyBlob, `${signer.source}:${signer.line} key`);
    const entry: SignerEntry = { signer, order, principalList: signer.principals.join(','), key };
    if (signer.namespaces) entry.namespaceList = signer.namespaces.join(',');
    if (signer.certAuthority) add(index.byCaKey, byteKey(key.plainBlob), entry);
    else add(index.byKey, byteKey(key.blob), entry);
  });
  return index;
}

export function createSshRegistry(allowed: AllowedSigner[], revoked?: RevokedSshKeys, options: SshRegistryOptions = {}): SshRegistry {
  const registry: SshRegistry = {
    signers: [...allowed],
    ...(revoked ? { revoked } : {}),
    requireUserPresence: options.requireUserPresence ?? true,
  };
  indexes.set(registry, buildIndex(registry.signers));
  return registry;
}

export function registryIndex(registry: SshRegistry): RegistryIndex {
  let index = indexes.get(registry);
  if (!index) {
    index = buildIndex(registry.signers);
    indexes.set(registry, index);
  }
  return index;
}
