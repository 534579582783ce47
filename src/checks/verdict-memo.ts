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
 * Bounded: at most `maxEntries` verdicts and `maxBytes` (their JSON's size plus a charge per
 * string, array and object, so an entry of many tiny strings costs what it holds); parsed
 * registries as src/checks/registry-memo.ts bounds them. Past a bound the least recently used
 * entry of the owner (installation) holding the most bytes goes first: one installation flooding
 * the memo with its own commits pushes out its own verdicts, not everyone else's.
 */
import { createHash } from 'node:crypto';
import type { ObjectHash } from '../core/git/signed-object.ts';
import { registryInstants, verdictUntil, type RegistryInstants } from '../core/verdict-horizon.ts';
import type { CommitResult } from '../core/verify-object.ts';
import type { CheckRegistries, ForgeAccountKeys, PolicyKeyFiles } from '../forge/forge-keys.ts';
import type { CommitVerdictCache } from '../git/verify-range.ts';
import { verdictKey } from '../store/verdict-cache.ts';
import { bound, RegistryMemo, type RegistryMemoOptions, type RegistryMemoStatistics } from './registry-memo.ts';

export interface VerdictMemoOptions extends RegistryMemoOptions {
  maxEntries?: number;
  maxBytes?: number;
}

/** Who a check's new verdicts count against (the GitHub installation, the GitLab project). */
export const DEFAULT_MEMO_OWNER = 'unnamed';

export interface VerdictMemoStatistics extends RegistryMemoStatistics {
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
  entries: number;
  bytes: number;
  /** Owners (installations) holding entries. */
  owners: number;
}

interface Entry {
  /** Who stored it: its bytes count against that owner when the memo is full. */
  owner: Owner;
  /** Deep-frozen: handed to every check as is, so a caller that wrote to it would throw, not poison it. */
  result: CommitResult;
  /** What it is charged against the byte bound. */
  size: number;
  judgedAtMs: number;
  /** First second (exclusive) through which the verdict is known to hold. */
  untilSecond: number;
}

/** One owner's entries, least recently used first, and their charged bytes. */
interface Owner {
  name: string;
  bytes: number;
  entries: Map<string, Entry>;
}

export const DEFAULT_MEMO_ENTRIES = 500_000;
export const DEFAULT_MEMO_BYTES = 128 * 1024 * 1024;
/** Per entry, besides its JSON: the map keys and the records (an estimate, on the safe side). */
const ENTRY_OVERHEAD = 320;
/**
 * Per string, array and object of the parsed verdict, besides the characters: V8's header and
 * the slot pointing at it. Measured: 2,000 entries of 200 distinct 3-character identities took
 * 1.9 times the JSON-only charge of the heap; with this charge, 0.6 times.
 */
const NODE_OVERHEAD = 40;
/** A full memo evicts down to this share of its bounds. */
const LOW_WATER = 0.99;

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
  private readonly owners = new Map<string, Owner>();
  private readonly registries: RegistryMemo;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private bytes = 0;
  private readonly counts = { hits: 0, misses: 0, expired: 0, stored: 0, unkept: 0, evicted: 0 };

  constructor(options: VerdictMemoOptions = {}) {
    this.maxEntries = bound('maxEntries', options.maxEntries ?? DEFAULT_MEMO_ENTRIES, 0);
    this.maxBytes = bound('maxBytes', options.maxBytes ?? DEFAULT_MEMO_BYTES, 0);
    this.registries = new RegistryMemo(options);
  }

  get statistics(): VerdictMemoStatistics {
    return { ...this.counts, ...this.registries.statistics, entries: this.entries.size, bytes: this.bytes, owners: this.owners.size };
  }

  /** The registries of a trust set, built once (src/checks/registry-memo.ts). */
  registriesFor(key: string, build: () => Promise<CheckRegistries>, inputBytes = 0): Promise<CheckRegistries> {
    return this.registries.registriesFor(key, build, inputBytes);
  }

  /**
   * One check's view: verdicts of this trust set judged at `now`. `read` gives a commit's bytes
   * (for the signature's own expiry) when a new verdict is kept. What the check verified itself
   * it also keeps for its own later questions (the forge e-mail rule asks first, then each
   * context): a verdict the memo may not keep (X.509, keyless) or has evicted since is not
   * verified again within the check, as without a memo.
   */
  forCheck(
    key: string,
    registries: CheckRegistries,
    now: Date,
    hash: ObjectHash,
    read: (oid: string) => Uint8Array,
    ownerName = DEFAULT_MEMO_OWNER,
  ): CommitVerdictCache {
    const nowMs = now.getTime();
    const nowSecond = Math.floor(nowMs / 1000);
    let instants: RegistryInstants | undefined;
    // Entries are named by the commit's bytes too, not by its id alone: isomorphic-git's fetch
    // hashes objects with plain SHA-1 (no collision detection), and one installation's colliding
    // twin of another's commit must not inherit its verdict.
    const names = new Map<string, string>();
    const own = new Map<string, CommitResult>();
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
        const mine = own.get(oid);
        if (mine) return mine;
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
        entry.owner.entries.delete(name);
        entry.owner.entries.set(name, entry);
        this.counts.hits++;
        return entry.result;
      },
      put: (result) => {
        own.set(result.commit, result);
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
        const copy = JSON.parse(json) as CommitResult;
        const size = 2 * (name.length + json.length) + ENTRY_OVERHEAD + NODE_OVERHEAD * deepFreeze(copy);
        const owner = this.owner(ownerName);
        const entry: Entry = { owner, result: copy, size, judgedAtMs: nowMs, untilSecond };
        this.entries.set(name, entry);
        owner.entries.set(name, entry);
        owner.bytes += size;
        this.bytes += size;
        this.counts.stored++;
        this.evict();
      },
    };
  }

  private owner(name: string): Owner {
    let owner = this.owners.get(name);
    if (!owner) {
      owner = { name, bytes: 0, entries: new Map() };
      this.owners.set(name, owner);
    }
    return owner;
  }

  private remove(name: string, entry: Entry): void {
    this.entries.delete(name);
    this.bytes -= entry.size;
    const { owner } = entry;
    owner.entries.delete(name);
    owner.bytes -= entry.size;
    if (owner.entries.size === 0) this.owners.delete(owner.name);
  }

  /**
   * Past a bound: least recently used entries of the owner holding the most bytes, down to a
   * little under the bounds at once, so the owners are scanned once per batch, not per verdict
   * (10,000 owners: 20,000 puts into a full memo took 2.0 s scanning per verdict, load 7).
   */
  private evict(): void {
    if (!this.over(1)) return;
    while (this.over(LOW_WATER)) {
      let largest: Owner | undefined;
      let second: Owner | undefined;
      for (const owner of this.owners.values()) {
        if (!largest || owner.bytes > largest.bytes) [second, largest] = [largest, owner];
        else if (!second || owner.bytes > second.bytes) second = owner;
      }
      const owner = largest!;
      do {
        const [name, entry] = owner.entries.entries().next().value!;
        this.remove(name, entry);
        this.counts.evicted++;
      } while (this.over(LOW_WATER) && owner.entries.size > 0 && owner.bytes >= (second?.bytes ?? 0));
    }
  }

  private over(fraction: number): boolean {
    return this.entries.size > 0 && (this.entries.size > this.maxEntries * fraction || this.bytes > this.maxBytes * fraction);
  }
}

/** Freezes every object and array under `value`; returns how many strings, arrays and objects it holds. */
function deepFreeze(value: unknown): number {
  if (typeof value === 'string') return 1;
  if (!value || typeof value !== 'object') return 0;
  Object.freeze(value);
  let nodes = 1;
  for (const child of Object.values(value)) nodes += deepFreeze(child);
  return nodes;
}
