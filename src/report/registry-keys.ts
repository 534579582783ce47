/**
 * The keys of a registry as the reports and jobs see them: who, since when, until when, and
 * which (sub)key fingerprints their signatures carry. OpenPGP facts come from the same
 * self-signature checks the verifier uses (core/openpgp/key-facts.ts); SSH facts from the
 * allowed_signers options.
 */
import * as openpgp from 'openpgp';
import { primaryKeyFacts, subkeyFacts } from '../core/openpgp/key-facts.ts';
import { gpgLikeConfig } from '../core/openpgp/openpgpjs.ts';
import type { RegistryKeyReport } from '../core/report/types.ts';
import { fingerprintOfPlainBlob } from '../core/ssh/fingerprint.ts';
import { parseAllowedSigners, parseRevokedKeys } from '../core/ssh/index.ts';
import type { RevokedSshKeys } from '../core/ssh/revoked-keys.ts';
import { loadOpenPgpRegistry } from '../core/openpgp/index.ts';
import type { RegistrySources } from '../keys/load-registries.ts';

const keyBlock = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;

async function readKeys(text: string): Promise<openpgp.Key[]> {
  const blocks = text.match(keyBlock);
  if (blocks) return (await Promise.all(blocks.map((armoredKeys) => openpgp.readKeys({ armoredKeys, config: gpgLikeConfig(openpgp) })))).flat();
  return openpgp.readKeys({ binaryKeys: new Uint8Array(Buffer.from(text, 'latin1')), config: gpgLikeConfig(openpgp) });
}

export async function openPgpKeyReports(keyrings: RegistrySources['keyrings']): Promise<RegistryKeyReport[]> {
  if (keyrings.length === 0) return [];
  // The registry decides validity and merging exactly as verification does; the key packets
  // add what it does not keep (creation times, which subkeys can sign).
  const registry = await loadOpenPgpRegistry(keyrings);
  const details = new Map<string, { source: string; createdAt: number; signing: Array<{ fingerprint: string; createdAt: number; expiresAt?: number }> }>();
  for (const source of keyrings) {
    for (const key of await readKeys(source.text)) {
      const facts = await primaryKeyFacts(key);
      const fingerprint = facts.fingerprint.toUpperCase();
      const entry = details.get(fingerprint) ?? { source: source.name, createdAt: facts.createdAt, signing: [] };
      if (facts.canSign && facts.revokedAt === undefined) {
        entry.signing.push({ fingerprint, createdAt: facts.createdAt, ...(facts.expiresAt !== undefined ? { expiresAt: facts.expiresAt } : {}) });
      }
      for (const subkey of key.subkeys) {
        const sub = await subkeyFacts(key, subkey);
        if (!sub || !sub.canSign || sub.revokedAt !== undefined || sub.crossCertification !== 'good') continue;
        const expiresAt = earliest(sub.expiresAt, facts.expiresAt);
        entry.signing.push({ fingerprint: sub.fingerprint, createdAt: sub.createdAt, ...(expiresAt !== undefined ? { expiresAt } : {}) });
      }
      details.set(fingerprint, entry);
    }
  }
  return registry.keys.map((info) => {
    const detail = details.get(info.fingerprint);
    const signing = dedupe(detail?.signing ?? []);
    // A key can sign until its last signing (sub)key expires.
    const expiresAt =
      signing.length === 0 ? info.expiresAt : signing.some((s) => s.expiresAt === undefined) ? undefined : Math.max(...signing.map((s) => s.expiresAt!));
    const lastRotation = signing.length > 0 ? Math.max(...signing.map((s) => s.createdAt)) : detail?.createdAt;
    return {
      kind: 'openpgp' as const,
      id: info.fingerprint,
      names: info.userIds,
      source: detail?.source ?? keyrings[0]!.name,
      ...(detail ? { createdAt: detail.createdAt } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      revoked: info.revokedAt !== undefined,
      ...(info.revokedAt !== undefined ? { revokedAt: info.revokedAt } : {}),
      ...(lastRotation !== undefined ? { lastRotation } : {}),
      signingKeys: [...new Set([info.fingerprint, ...signing.map((s) => s.fingerprint)])],
      commitsInPeriod: 0,
    };
  });
}

function dedupe<T extends { fingerprint: string }>(items: T[]): T[] {
  return [...new Map(items.map((item) => [item.fingerprint, item])).values()];
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/** SSH keys named in revoked-keys: fingerprints of listed keys (KRL fingerprint sections too). */
export function revokedSshFingerprints(revoked: RevokedSshKeys | undefined): Set<string> {
  const fingerprints = new Set<string>(revoked?.sha256Fingerprints ?? []);
  for (const blob of revoked?.keys ?? []) fingerprints.add(fingerprintOfPlainBlob(Buffer.from(blob, 'base64')));
  return fingerprints;
}

/** One entry per SSH key of allowed_signers (lines listing the same key are merged). */
export function sshKeyReports(sources: RegistrySources): RegistryKeyReport[] {
  if (!sources.allowedSigners) return [];
  const lines = parseAllowedSigners(sources.allowedSigners.text, sources.allowedSigners.name);
  const revoked = revokedSshFingerprints(sources.revokedKeys ? parseRevokedKeys(sources.revokedKeys.bytes, sources.revokedKeys.name) : undefined);
  const byKey = new Map<string, RegistryKeyReport & { unlimited: boolean }>();
  for (const line of lines) {
    if (line.certAuthority) continue; // a CA vouches for certificates; it is not itself a signer's key
    const known = byKey.get(line.fingerprint);
    const entry = known ?? {
      kind: 'ssh' as const,
      id: line.fingerprint,
      names: [],
      source: `${line.source}:${line.line}`,
      revoked: revoked.has(line.fingerprint),
      signingKeys: [line.fingerprint],
      commitsInPeriod: 0,
      unlimited: false,
    };
    for (const name of line.principals) if (!entry.names.includes(name)) entry.names.push(name);
    // The key is usable until the last of its lines stops being valid.
    if (line.validBefore === undefined) entry.unlimited = true;
    else entry.expiresAt = Math.max(entry.expiresAt ?? 0, line.validBefore);
    if (line.validAfter !== undefined) entry.lastRotation = Math.max(entry.lastRotation ?? 0, line.validAfter);
    byKey.set(line.fingerprint, entry);
  }
  return [...byKey.values()].map(({ unlimited, ...entry }) => {
    if (unlimited) delete entry.expiresAt;
    return entry;
  });
}

export async function registryKeyReports(sources: RegistrySources): Promise<RegistryKeyReport[]> {
  return [...(await openPgpKeyReports(sources.keyrings)), ...sshKeyReports(sources)];
}
