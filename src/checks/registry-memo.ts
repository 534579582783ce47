/**
 * Parsed registries of the trust sets checks met lately, for the verdict memo
 * (src/checks/verdict-memo.ts): checks under the same trust key (every key file's bytes, the
 * forge accounts' keys) share one build.
 *
 * Bounded: at most `maxRegistries` trust sets and `maxRegistryBytes`, least recently used out
 * first. A registry is charged what its inputs are estimated to take parsed: anyone who can edit
 * a policy (its key files) or upload keys to their own forge account chooses their size, and a
 * trust set larger than the bound alone is built for its check and not kept.
 */
import type { CheckRegistries, ForgeAccountKeys, PolicyKeyFiles } from '../forge/forge-keys.ts';

export interface RegistryMemoOptions {
  maxRegistries?: number;
  maxRegistryBytes?: number;
}

export interface RegistryMemoStatistics {
  /** Checks whose registries were built from key files / answered from the memo. */
  registriesBuilt: number;
  registriesReused: number;
  /** Registries built and not kept: their trust set alone is larger than `maxRegistryBytes`. */
  registriesUnkept: number;
  /** What the kept registries are charged. */
  registryBytes: number;
}

interface RegistryEntry {
  registries: Promise<CheckRegistries>;
  size: number;
}

/** Counted: a trust set is a policy keyring plus the forge keys of a check's committers. */
export const DEFAULT_MEMO_REGISTRIES = 64;
export const DEFAULT_MEMO_REGISTRY_BYTES = 64 * 1024 * 1024;
/**
 * Parsed registries per byte of their inputs (measured: 3.7 for an armored OpenPGP keyring of 60
 * keys, 7.2 for a 500-line allowed_signers file), on the safe side.
 */
const REGISTRY_EXPANSION = 8;
/** Per registry, besides its inputs: the map key and the record. */
const REGISTRY_OVERHEAD = 320;

/** The bytes a trust set's registries are parsed from: its key files and its forge accounts' keys. */
export function trustInputBytes(files: PolicyKeyFiles, accounts: ForgeAccountKeys[]): number {
  let bytes = JSON.stringify(accounts).length;
  for (const keyring of files.keyrings) bytes += keyring.text.length;
  bytes += files.allowedSigners?.text.length ?? 0;
  bytes += files.revokedKeys?.bytes.length ?? 0;
  for (const root of files.x509Roots ?? []) bytes += root.text.length;
  for (const crl of files.crls ?? []) bytes += crl.bytes.length;
  bytes += files.trustedRoot?.text.length ?? 0;
  return bytes;
}

/** A bound of the memo: a whole number of at least `least`, else a RangeError naming it. */
export function bound(name: string, value: number, least: number): number {
  if (!Number.isSafeInteger(value) || value < least)
    throw new RangeError(`the verdict memo's ${name} must be a whole number of at least ${least}, not ${value}`);
  return value;
}

export class RegistryMemo {
  private readonly registries = new Map<string, RegistryEntry>();
  private readonly maxRegistries: number;
  private readonly maxRegistryBytes: number;
  private registryBytes = 0;
  private readonly counts = { registriesBuilt: 0, registriesReused: 0, registriesUnkept: 0 };

  constructor(options: RegistryMemoOptions = {}) {
    this.maxRegistries = bound('maxRegistries', options.maxRegistries ?? DEFAULT_MEMO_REGISTRIES, 1);
    this.maxRegistryBytes = bound('maxRegistryBytes', options.maxRegistryBytes ?? DEFAULT_MEMO_REGISTRY_BYTES, 0);
  }

  get statistics(): RegistryMemoStatistics {
    return { ...this.counts, registryBytes: this.registryBytes };
  }

  /**
   * The registries of a trust set, built once: the key covers every byte they are built from.
   * A build that fails is forgotten, so the next check reports the same error again.
   * `inputBytes` (trustInputBytes) sizes them.
   */
  async registriesFor(key: string, build: () => Promise<CheckRegistries>, inputBytes = 0): Promise<CheckRegistries> {
    const found = this.registries.get(key);
    if (found) {
      this.registries.delete(key);
      this.registries.set(key, found);
      this.counts.registriesReused++;
      return found.registries;
    }
    this.counts.registriesBuilt++;
    const size = REGISTRY_EXPANSION * inputBytes + REGISTRY_OVERHEAD;
    if (size > this.maxRegistryBytes) {
      this.counts.registriesUnkept++;
      return build();
    }
    const entry: RegistryEntry = { registries: build(), size };
    this.registries.set(key, entry);
    this.registryBytes += size;
    entry.registries.catch(() => this.registries.get(key) === entry && this.remove(key, entry));
    while (this.registries.size > this.maxRegistries || this.registryBytes > this.maxRegistryBytes) {
      const [oldest, old] = this.registries.entries().next().value!;
      this.remove(oldest, old);
    }
    return entry.registries;
  }

  private remove(key: string, entry: RegistryEntry): void {
    this.registries.delete(key);
    this.registryBytes -= entry.size;
  }
}
