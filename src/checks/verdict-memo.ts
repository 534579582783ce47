/**
 * The app's and the bot's memory of verdicts across checks, in the process: a second check of
 * the same commits under the same trust (another installation's copy of them, a rerun) reuses
 * each commit's verdict instead of verifying its signature again.
 *
 * Keyed exactly like `signet verify`'s cache (src/store/verdict-cache.ts, `verdictKey`: every key
 * file's content, the policy file's, the time basis) plus what only a check has — the forge
 * accounts' keys and verified e-mails, the hash algorithm — so a changed keyring, allowed_signers,
 * revoked-keys list, forge key or policy finds nothing and verifies again. Within a trust set an
 * entry is named by the commit's id and the SHA-256 of its bytes, so a verdict is a function of
 * the entry's name alone and may serve every installation that has the same trust
 * (docs/threat-model.md).
 *
 * Time: checks are judged at the clock, so an entry also holds when it was judged and the first
 * second it may stop being true (src/core/verdict-horizon.ts: a key's or signature's expiry, an
 * allowed_signers window); it answers only in between. X.509 and keyless verdicts are not kept.
 *
 * Bounded: at most `maxEntries` verdicts and `maxBytes` (their JSON's size), least recently used first
 * out; parsed registries for at most `maxRegistries` trust sets.
 */
import { createHash } from 'node:crypto';
import type { ObjectHash } from '../core/git/signed-object.ts';
import { registryInstants, verdictUntil, type RegistryInstants } from '../core/verdict-horizon.ts';
import type { CommitResult } from '../core/verify-object.ts';
import type { CheckRegistries, ForgeAccountKeys, PolicyKeyFiles } from '../forge/forge-keys.ts';
import type { CommitVerdictCache } from '../git/verify-range.ts';
import { verdictKey } from '../store/verdict-cache.ts';

export interface VerdictMemoOptions {
  maxEntries?: number;
  maxBytes?: number;
  maxRegistries?: number;
}

export interface VerdictMemoStatistics {
  /** Verdicts answered from the memo. */
  hits: number;
  /** Commits verified because the memo had nothing (or nothing still true) for them. */
  misses: number;
  /** Entries found but past their time (or judged after the clock now reads): verified again. */
  expired: number;
  /** Verdicts kept. */
  stored: number;
  /** Verdicts not kept: judged against the clock in a way that cannot be bounded (X.509, keyless, SSH certificates). */
  unkept: number;
  /** Entries pushed out by the bounds. */
  evicted: number;
  /** Checks whose registries were built from key files / answered from the memo. */
  registriesBuilt: number;
  registriesReused: number;
  entries: number;
  bytes: number;
}

interface Entry {
  /** Deep-frozen: handed to every check as is, so a caller that wrote to it would throw, not poison it. */
  result: CommitResult;
  /** Its JSON's length, for the byte bound. */
  size: number;
  judgedAtMs: number;
  /** First second (exclusive) through which the verdict is known to hold. */
  untilSecond: number;
}

interface RegistryEntry {
  registries: Promise<CheckRegistries>;
  instants?: RegistryInstants;
}

export const DEFAULT_MEMO_ENTRIES = 500_000;
export const DEFAULT_MEMO_BYTES = 128 * 1024 * 1024;
/** Counted, not sized: a trust set is a policy keyring plus the forge keys of a check's committers. */
const DEFAULT_REGISTRIES = 64;
/** Per entry, besides its JSON: the map key and the record (an estimate, on the safe side). */
const ENTRY_OVERHEAD = 256;

/** What a check's verdicts depend on besides the commit: the memo's key for one trust set. */
export interface TrustInputs {
  files: PolicyKeyFiles;
  policy: Uint8Array;
  accounts: ForgeAccountKeys[];
  hash: ObjectHash;
}

export function trustKey(inputs: TrustInputs): string {
  const base = verdictKey({ sources: inputs.files, policy: inputs.policy, verifier: 'signet-checks' });
  const hash = createHash('sha256');
  hash.update(`verdict-key:${base}\n`);
  hash.update(`hash:${inputs.hash}\n`);
  // Every field of every account in order: the SSH principals are the verified e-mails, and
  // trustedForAnyEmail changes which verdicts the e-mail rule leaves alone.
  const accounts = JSON.stringify(inputs.accounts.map((a) => [a.account, a.gpgKeys, a.sshSigningKeys, a.verifiedEmails, a.trustedForAnyEmail === true]));
  hash.update(`accounts:${Buffer.byteLength(accounts)}:`);
  hash.update(accounts);
  return hash.digest('hex');
}

export class VerdictMemo {
  private readonly entries = new Map<string, Entry>();
  private readonly registries = new Map<string, RegistryEntry>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly maxRegistries: number;
  private bytes = 0;
  private readonly counts = { hits: 0, misses: 0, expired: 0, stored: 0, unkept: 0, evicted: 0, registriesBuilt: 0, registriesReused: 0 };

  constructor(options: VerdictMemoOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MEMO_ENTRIES;
    this.maxBytes = options.maxBytes ?? DEFAULT_MEMO_BYTES;
    this.maxRegistries = options.maxRegistries ?? DEFAULT_REGISTRIES;
  }

  get statistics(): VerdictMemoStatistics {
    return { ...this.counts, entries: this.entries.size, bytes: this.bytes };
  }

  /**
   * The registries of a trust set, built once: the key covers every byte they are built from.
   * A build that fails is forgotten, so the next check reports the same error again.
   */
  async registriesFor(key: string, build: () => Promise<CheckRegistries>): Promise<CheckRegistries> {
    const found = this.registries.get(key);
    if (found) {
      this.registries.delete(key);
      this.registries.set(key, found);
      this.counts.registriesReused++;
      return found.registries;
    }
    this.counts.registriesBuilt++;
    const entry: RegistryEntry = { registries: build() };
    this.registries.set(key, entry);
    entry.registries.catch(() => this.registries.get(key) === entry && this.registries.delete(key));
    while (this.registries.size > this.maxRegistries) this.registries.delete(this.registries.keys().next().value!);
    return entry.registries;
  }

  /**
   * One check's view: verdicts of this trust set judged at `now`. `read` gives a commit's bytes
   * (for the signature's own expiry) when a new verdict is kept.
   */
  forCheck(key: string, registries: CheckRegistries, now: Date, hash: ObjectHash, read: (oid: string) => Uint8Array): CommitVerdictCache {
    const nowMs = now.getTime();
    const nowSecond = Math.floor(nowMs / 1000);
    let instants: RegistryInstants | undefined;
    // Entries are named by the commit's bytes too, not by its id alone: isomorphic-git's fetch
    // hashes objects with plain SHA-1 (no collision detection), and one installation's colliding
    // twin of another's commit must not inherit its verdict.
    const names = new Map<string, string>();
    const nameOf = (oid: string): string => {
      let name = names.get(oid);
      if (name === undefined) {
        name = `${key}\0${oid}\0${createHash('sha256').update(read(oid)).digest('base64')}`;
        names.set(oid, name);
      }
      return name;
    };
    return {
      get: (oid) => {
        const name = nameOf(oid);
        const entry = this.entries.get(name);
        if (!entry) {
          this.counts.misses++;
          return undefined;
        }
        // Judged later than this check's clock (another check's clock, or the clock stepped
        // back): a key not yet created then may be now: not the same judgement.
        if (nowMs < entry.judgedAtMs || nowSecond >= entry.untilSecond) {
          this.counts.expired++;
          this.counts.misses++;
          this.remove(name, entry);
          return undefined;
        }
        this.entries.delete(name);
        this.entries.set(name, entry);
        this.counts.hits++;
        return entry.result;
      },
      put: (result) => {
        instants ??= registryInstants(registries.registries);
        const untilSecond = verdictUntil(read(result.commit), hash, result, instants, now);
        if (untilSecond <= nowSecond) {
          this.counts.unkept++;
          return;
        }
        const name = nameOf(result.commit);
        const old = this.entries.get(name);
        if (old) this.remove(name, old);
        // A copy of its own (JSON: a verdict is plain data), frozen, so the caller's object stays the caller's.
        const json = JSON.stringify(result);
        const entry: Entry = { result: deepFreeze(JSON.parse(json) as CommitResult), size: json.length, judgedAtMs: nowMs, untilSecond };
        this.entries.set(name, entry);
        this.bytes += sizeOf(name, entry);
        this.counts.stored++;
        this.evict();
      },
    };
  }

  private remove(name: string, entry: Entry): void {
    this.entries.delete(name);
    this.bytes -= sizeOf(name, entry);
  }

  private evict(): void {
    while (this.entries.size > this.maxEntries || (this.bytes > this.maxBytes && this.entries.size > 0)) {
      const [name, entry] = this.entries.entries().next().value!;
      this.remove(name, entry);
      this.counts.evicted++;
    }
  }
}

function sizeOf(name: string, entry: Entry): number {
  return 2 * (name.length + entry.size) + ENTRY_OVERHEAD;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}
