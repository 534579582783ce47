/**
 * What the scheduled jobs look for in the key registries: keys about to expire, keys revoked
 * or removed, and the commits such keys signed after the fact. Pure: keys and verdicts in,
 * findings out.
 */
import type { StatusLetter } from '../verdict.ts';
import type { RegistryKeyReport } from './types.ts';

const DAY = 86_400;

export interface KeyExpiryFinding {
  key: RegistryKeyReport;
  expiresAt: number;
  /** Whole days from now to the expiry, rounded down; negative once expired. */
  daysLeft: number;
  state: 'expiring' | 'expired';
}

/** Keys (not revoked) that stop being usable for signing within `withinDays` of `now`, or already have. */
export function findExpiringKeys(keys: readonly RegistryKeyReport[], now: number, withinDays: number): KeyExpiryFinding[] {
  const findings: KeyExpiryFinding[] = [];
  for (const key of keys) {
    if (key.revoked || key.expiresAt === undefined) continue;
    if (key.expiresAt > now + withinDays * DAY) continue;
    findings.push({ key, expiresAt: key.expiresAt, daysLeft: Math.floor((key.expiresAt - now) / DAY), state: key.expiresAt <= now ? 'expired' : 'expiring' });
  }
  return findings.sort((a, b) => a.expiresAt - b.expiresAt || a.key.id.localeCompare(b.key.id));
}

/** A registry key as remembered between sweeps, so a key that disappears is still known. */
export interface RememberedKey {
  kind: 'openpgp' | 'ssh';
  id: string;
  names: string[];
  signingKeys: string[];
  /** ISO time the key was first seen in the registry. */
  firstSeen: string;
  /** ISO time a sweep first found the key gone from the registry. */
  removedAt?: string;
  /** Seconds; as the registry last said. */
  revokedAt?: number;
}

export interface RegistrySnapshot {
  keys: RememberedKey[];
}

/**
 * Merges what the registry holds now into the remembered snapshot: new keys are added, keys
 * gone since the last sweep are marked removed at `now` (the first sweep that noticed), and a key
 * that comes back loses its removal.
 */
export function updateSnapshot(previous: RegistrySnapshot | undefined, current: readonly RegistryKeyReport[], nowIso: string): RegistrySnapshot {
  const byId = new Map((previous?.keys ?? []).map((key) => [key.id, { ...key }]));
  const present = new Set<string>();
  for (const key of current) {
    present.add(key.id);
    const known = byId.get(key.id);
    const merged: RememberedKey = {
      kind: key.kind,
      id: key.id,
      names: key.names,
      signingKeys: [...new Set([...(known?.signingKeys ?? []), ...key.signingKeys])],
      firstSeen: known?.firstSeen ?? nowIso,
      ...(key.revokedAt !== undefined ? { revokedAt: key.revokedAt } : known?.revokedAt !== undefined ? { revokedAt: known.revokedAt } : {}),
    };
    byId.set(key.id, merged);
  }
  for (const key of byId.values()) if (!present.has(key.id) && key.removedAt === undefined) key.removedAt = nowIso;
  return { keys: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)) };
}

export interface WithdrawnKey {
  kind: 'openpgp' | 'ssh';
  id: string;
  names: string[];
  signingKeys: string[];
  how: 'revoked' | 'removed';
  /** Seconds since which the key must not be trusted; undefined: unknown, every use is suspect. */
  since?: number;
}

/** Keys the registry revoked, or that were removed from it, from a snapshot and revoked SSH keys. */
export function withdrawnKeys(snapshot: RegistrySnapshot, revokedSsh: ReadonlyArray<{ id: string; names: string[] }> = []): WithdrawnKey[] {
  const withdrawn: WithdrawnKey[] = [];
  for (const key of snapshot.keys) {
    const base = { kind: key.kind, id: key.id, names: key.names, signingKeys: key.signingKeys };
    if (key.revokedAt !== undefined) withdrawn.push({ ...base, how: 'revoked', since: key.revokedAt });
    else if (key.removedAt !== undefined) withdrawn.push({ ...base, how: 'removed', since: Math.floor(Date.parse(key.removedAt) / 1000) });
  }
  for (const key of revokedSsh) {
    // A revoked-keys file says that, not since when: every use of the key is suspect.
    if (!withdrawn.some((known) => known.id === key.id)) withdrawn.push({ kind: 'ssh', id: key.id, names: key.names, signingKeys: [key.id], how: 'revoked' });
  }
  return withdrawn;
}

export interface SweepCommit {
  oid: string;
  ref: string;
  committedAt: number;
  /** Signature creation time (OpenPGP); SSH signatures carry none. */
  signedAt?: number;
  status: StatusLetter;
  key?: string;
  primaryKey?: string;
  /** Seconds the server first accepted the commit (first-verdict record), when known. */
  acceptedAt?: number;
}

export type RevocationWhy = 'signed-after' | 'accepted-after' | 'time-unknown';

export interface RevocationFinding {
  key: WithdrawnKey;
  commit: string;
  ref: string;
  status: StatusLetter;
  /** The time the finding is about: signature time, else committer time (seconds). */
  signedAt: number;
  acceptedAt?: number;
  why: RevocationWhy;
}

/**
 * Commits signed by a withdrawn key after it was withdrawn. A signature time is the signer's
 * claim, so a commit signed "before" but first accepted by the server after is reported too:
 * a stolen key can sign with any date.
 */
export function findCommitsAfterWithdrawal(keys: readonly WithdrawnKey[], commits: readonly SweepCommit[]): RevocationFinding[] {
  const owner = new Map<string, WithdrawnKey>();
  for (const key of keys) {
    for (const id of [key.id, ...key.signingKeys]) {
      owner.set(id, key);
      // A signature by a key the registry no longer holds names its issuer, sometimes by long key id only.
      if (/^[0-9A-F]{40}$/.test(id)) owner.set(id.slice(-16), key);
    }
  }
  const findings: RevocationFinding[] = [];
  const seen = new Set<string>();
  for (const commit of commits) {
    if (commit.status === 'N') continue;
    const key = (commit.primaryKey && owner.get(commit.primaryKey)) || (commit.key && owner.get(commit.key));
    if (!key) continue;
    const signedAt = commit.signedAt ?? commit.committedAt;
    let why: RevocationWhy | undefined;
    if (key.since === undefined) why = 'time-unknown';
    else if (signedAt >= key.since) why = 'signed-after';
    else if (commit.acceptedAt !== undefined && commit.acceptedAt >= key.since) why = 'accepted-after';
    if (!why) continue;
    const dedupe = `${key.id}\0${commit.oid}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    findings.push({
      key,
      commit: commit.oid,
      ref: commit.ref,
      status: commit.status,
      signedAt,
      ...(commit.acceptedAt !== undefined ? { acceptedAt: commit.acceptedAt } : {}),
      why,
    });
  }
  return findings;
}
