import type * as openpgp from 'openpgp';
import { SignetError } from '../errors.ts';
import { primaryKeyFacts, subkeyFacts, type Keyblock, type PrimaryKeyFacts } from './key-facts.ts';
import { readKeyBlockNatively } from './keyring-native.ts';
import { gpgLikeConfig, gpgLikeFullConfig, openpgpjs, type OpenPgpModule } from './openpgpjs.ts';
import { minimumHashBits, nativeKeyFromPacketBody, uncheckableKey, type NativeKey } from './key-material.ts';

/** The contents of one keyring file: armored (one or more blocks) or binary read as latin1. */
export interface KeySourceText {
  name: string;
  text: string;
}

export interface OpenPgpKeyInfo {
  /** Primary key fingerprint, upper-case hex. */
  fingerprint: string;
  /** User IDs with a valid self-signature that are not revoked. */
  userIds: string[];
  /** Their e-mail addresses, lower-cased. */
  emails: string[];
  /** Key expiry, seconds since the epoch. */
  expiresAt?: number;
  /** Time of the first valid key revocation, seconds since the epoch. */
  revokedAt?: number;
}

export interface OpenPgpRegistry {
  readonly keys: ReadonlyArray<OpenPgpKeyInfo>;
  /**
   * Keys left out, one line each naming the file and the key (an unsupported curve, no valid
   * user ID, a version gpg 2.2 cannot read): as gpg skips a key it cannot use and keeps the
   * rest of the keyring. Callers print them as warnings.
   */
  readonly warnings: ReadonlyArray<string>;
}

/**
 * One (sub)key that can appear as the issuer of a data signature, with everything a
 * verification needs precomputed: status at time T is `expiresAt < T` and `revokedAt !== undefined`.
 */
export interface SigningKeyRecord {
  fingerprint: string;
  keyId: string;
  isPrimary: boolean;
  algorithm: number;
  createdAt: number;
  /** Effective expiry: the earlier of the (sub)key's own and the primary key's. */
  expiresAt?: number;
  /** Revoked itself, or its primary key is: gpg reports either as REVKEYSIG. */
  revokedAt?: number;
  canSign: boolean;
  crossCertification: 'good' | 'missing' | 'bad' | 'not-needed';
  native: NativeKey;
  /** The shortest digest (bits) gpg accepts with this key: DSA and ECDSA need one as long as their group order. */
  minimumHashBits: number;
  /** The key packet's body: openpgp.js reads it again when the fallback verifier needs the key. */
  packetBody: Uint8Array;
  owner: PrimaryKeyFacts;
  /** E-mails of the owner's live user IDs, ready for verdicts. */
  identities: string[];
  /** Whether some user-ID self-signature expires, so identities depend on the time. */
  identitiesExpire: boolean;
}

/** The loaded registry: the public `keys` list plus lookup indexes for the verifier. */
export class LoadedOpenPgpRegistry implements OpenPgpRegistry {
  readonly keys: ReadonlyArray<OpenPgpKeyInfo>;
  readonly warnings: ReadonlyArray<string>;
  private readonly byFingerprint = new Map<string, SigningKeyRecord>();
  private readonly byKeyId = new Map<string, SigningKeyRecord[]>();

  constructor(keys: OpenPgpKeyInfo[], records: SigningKeyRecord[], warnings: string[] = []) {
    this.keys = Object.freeze(keys);
    this.warnings = Object.freeze(warnings);
    for (const record of records) {
      this.byFingerprint.set(record.fingerprint, record);
      const list = this.byKeyId.get(record.keyId);
      if (list) list.push(record);
      else this.byKeyId.set(record.keyId, [record]);
    }
  }

  /** Every signing (sub)key record, in keyring order. */
  records(): SigningKeyRecord[] {
    return [...this.byFingerprint.values()];
  }

  /**
   * gpg looks the issuer up by fingerprint first and falls back to the key ID
   * (getkey.c, get_pubkey_for_sig). Returns the candidates in that order.
   */
  candidates(issuerFingerprint: string | undefined, issuerKeyId: string | undefined): SigningKeyRecord[] {
    if (issuerFingerprint) {
      const record = this.byFingerprint.get(issuerFingerprint);
      if (record) return [record];
    }
    const keyId = issuerKeyId ?? issuerFingerprint?.slice(-16);
    return keyId ? (this.byKeyId.get(keyId) ?? []) : [];
  }
}

export function asLoadedRegistry(registry: OpenPgpRegistry): LoadedOpenPgpRegistry {
  if (registry instanceof LoadedOpenPgpRegistry) return registry;
  throw new SignetError('INTERNAL', 'OpenPGP registry was not made by loadOpenPgpRegistry');
}

/**
 * An armored key block. Its BEGIN line must start a line, as for gpg (armor.c, is_armor_header):
 * in files concatenated without a final newline (`-----END…----------BEGIN…`) gpg reads the
 * first key only, and a key gpg never imports must not be trusted here either.
 */
const keyBlock = /^-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/gm;
const midLineBegin = /[^\n]-----BEGIN PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----/;

/** A warning for each source holding a key block gpg does not see (its BEGIN not at a line start). */
function unreadBlocks(sources: KeySourceText[]): SkippedKey[] {
  return sources
    .filter((source) => midLineBegin.test(source.text))
    .map((source) => ({
      source: source.name,
      message: `${source.name}: a "-----BEGIN PGP PUBLIC KEY BLOCK-----" that does not start a line (a file joined to the one before without a newline?) is not read, as gpg does not read it`,
    }));
}

async function readSource(openpgp: OpenPgpModule, source: KeySourceText): Promise<openpgp.Key[]> {
  const gpgLike = gpgLikeConfig(openpgp);
  const fail = (what: string): never => {
    throw new SignetError('KEYRING_INVALID', `${source.name}: ${what}`);
  };
  const blocks = source.text.match(keyBlock) ?? [];
  const keys: openpgp.Key[] = [];
  try {
    if (blocks.length > 0) {
      for (const block of blocks) {
        if (block.startsWith('-----BEGIN PGP PRIVATE')) fail('holds a private key block; a keyring for verification must hold public keys only');
        keys.push(...(await openpgp.readKeys({ armoredKeys: block, config: gpgLike })));
      }
    } else if (/-----BEGIN PGP /.test(source.text)) {
      fail('holds no "-----BEGIN PGP PUBLIC KEY BLOCK-----" (complete with its END line)');
    } else if (source.text.length > 0 && (source.text.charCodeAt(0) & 0x80) !== 0) {
      keys.push(...(await openpgp.readKeys({ binaryKeys: new Uint8Array(Buffer.from(source.text, 'latin1')), config: gpgLike })));
    } else {
      fail('is neither an armored OpenPGP public key block nor a binary keyring');
    }
  } catch (error) {
    if (error instanceof SignetError) throw error;
    fail(`cannot read the OpenPGP keys: ${oneLine(error)}`);
  }
  for (const key of keys) if (key.isPrivate()) fail(`key ${key.getFingerprint().toUpperCase()} is a private key; give its public key only`);
  if (keys.length === 0) fail('holds no OpenPGP key');
  return keys;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * The keys of every source read without openpgp.js (keyring-native.ts), or undefined when one
 * of them needs openpgp.js: then all are read with it, so that one reader decides a registry.
 */
function readNatively(sources: KeySourceText[]): Map<string, { key: Keyblock; source: string }> | undefined {
  const keys = new Map<string, { key: Keyblock; source: string }>();
  for (const source of sources) {
    const blocks = source.text.match(keyBlock);
    if (!blocks) return undefined;
    for (const block of blocks) {
      const read = block.startsWith('-----BEGIN PGP PUBLIC') ? readKeyBlockNatively(block) : undefined;
      if (!read) return undefined;
      for (const key of read) {
        const fingerprint = key.getFingerprint().toUpperCase();
        // The same key twice is merged, as `gpg --import` does: openpgp.js knows how.
        if (keys.has(fingerprint)) return undefined;
        keys.set(fingerprint, { key, source: source.name });
      }
    }
  }
  return keys;
}

export async function loadOpenPgpRegistry(sources: KeySourceText[]): Promise<OpenPgpRegistry> {
  // No keyring: no reason to load openpgp.js.
  if (sources.length === 0) return new LoadedOpenPgpRegistry([], []);
  const skipped = unreadBlocks(sources);
  return registryOf(sources, readNatively(sources) ?? (await readWithOpenPgpJs(sources, skipped)), skipped);
}

/** The same registry read with openpgp.js only: the reference the native reader is held to. */
export async function loadOpenPgpRegistryWithOpenPgpJs(sources: KeySourceText[]): Promise<OpenPgpRegistry> {
  if (sources.length === 0) return new LoadedOpenPgpRegistry([], []);
  const skipped = unreadBlocks(sources);
  return registryOf(sources, await readWithOpenPgpJs(sources, skipped), skipped);
}

/** Whether loadOpenPgpRegistry reads these sources without openpgp.js. */
export function readsNatively(sources: KeySourceText[]): boolean {
  return readNatively(sources) !== undefined;
}

/** A key left out of the registry, and why (one line, naming its file). */
interface SkippedKey {
  source: string;
  message: string;
}

async function readWithOpenPgpJs(sources: KeySourceText[], skipped: SkippedKey[]): Promise<Map<string, { key: Keyblock; source: string }>> {
  const openpgp = await openpgpjs();
  // The same key in several files is merged, as `gpg --import` does.
  const merged = new Map<string, { key: openpgp.Key; source: string }>();
  for (const source of sources) {
    for (const key of await readSource(openpgp, source)) {
      const version = (key.keyPacket as { version: number }).version;
      if (version !== 4) {
        skipped.push({
          source: source.name,
          message: `${source.name}: key ${key.getFingerprint().toUpperCase()} is a version ${version} key; gpg 2.2 and git's default verifier read version 4 keys only`,
        });
        continue;
      }
      const fingerprint = key.getFingerprint().toUpperCase();
      const seen = merged.get(fingerprint);
      if (seen) {
        try {
          seen.key = await seen.key.update(key as openpgp.PublicKey, null as unknown as Date, gpgLikeFullConfig(openpgp));
        } catch (error) {
          throw new SignetError('KEYRING_INVALID', `${source.name}: key ${fingerprint} cannot be merged with its copy in ${seen.source}: ${oneLine(error)}`);
        }
      } else {
        merged.set(fingerprint, { key, source: source.name });
      }
    }
  }

  return merged;
}

/**
 * The registry of the keys read. A key that cannot be used is skipped with a warning, the rest
 * kept (gpg --import does the same); a file none of whose keys can be used is an error, since
 * whoever listed it meant to trust something in it.
 */
async function registryOf(
  sources: KeySourceText[],
  merged: Map<string, { key: Keyblock; source: string }>,
  skipped: SkippedKey[],
): Promise<LoadedOpenPgpRegistry> {
  const infos: OpenPgpKeyInfo[] = [];
  const records: SigningKeyRecord[] = [];
  const kept = new Set<string>();
  for (const [fingerprint, { key, source }] of merged) {
    const uncheckable = uncheckableKey(key.keyPacket.write());
    if (uncheckable) {
      skipped.push({ source, message: `${source}: key ${fingerprint} cannot be used: ${uncheckable}` });
      continue;
    }
    const facts = await primaryKeyFacts(key);
    if (facts.userIds.length === 0) {
      // gpg refuses to import such a key ("no valid user IDs"), so nothing it signed could be G.
      skipped.push({ source, message: `${source}: key ${fingerprint} has no user ID with a valid self-signature` });
      continue;
    }
    kept.add(source);
    const live = facts.userIds.filter((uid) => !uid.revoked);
    infos.push({
      fingerprint,
      userIds: live.map((uid) => uid.userId),
      emails: [...new Set(live.flatMap((uid) => (uid.email ? [uid.email] : [])))],
      ...(facts.expiresAt !== undefined ? { expiresAt: facts.expiresAt } : {}),
      ...(facts.revokedAt !== undefined ? { revokedAt: facts.revokedAt } : {}),
    });
    const identities = [...new Set(live.flatMap((uid) => (uid.email ? [uid.email] : [])))];
    const identitiesExpire = live.some((uid) => uid.certificationExpiresAt !== undefined);
    const primaryPacket = key.keyPacket as openpgp.PublicKeyPacket;
    records.push({
      fingerprint,
      keyId: fingerprint.slice(-16),
      isPrimary: true,
      algorithm: primaryPacket.algorithm as number,
      createdAt: facts.createdAt,
      ...(facts.expiresAt !== undefined ? { expiresAt: facts.expiresAt } : {}),
      ...(facts.revokedAt !== undefined ? { revokedAt: facts.revokedAt } : {}),
      canSign: facts.canSign,
      crossCertification: 'not-needed',
      native: nativeKeyFromPacketBody(primaryPacket.write()),
      minimumHashBits: minimumHashBits(primaryPacket.write()),
      packetBody: primaryPacket.write(),
      owner: facts,
      identities,
      identitiesExpire,
    });
    for (const subkey of key.subkeys) {
      const sub = await subkeyFacts(key, subkey);
      if (!sub) continue;
      const expiresAt = earliest(sub.expiresAt, facts.expiresAt);
      const revokedAt = earliest(sub.revokedAt, facts.revokedAt);
      records.push({
        fingerprint: sub.fingerprint,
        keyId: sub.fingerprint.slice(-16),
        isPrimary: false,
        algorithm: sub.packet.algorithm as number,
        createdAt: sub.createdAt,
        ...(expiresAt !== undefined ? { expiresAt } : {}),
        ...(revokedAt !== undefined ? { revokedAt } : {}),
        canSign: sub.canSign,
        crossCertification: sub.canSign ? sub.crossCertification : 'not-needed',
        native: nativeKeyFromPacketBody(sub.packet.write()),
        minimumHashBits: minimumHashBits(sub.packet.write()),
        packetBody: sub.packet.write(),
        owner: facts,
        identities,
        identitiesExpire,
      });
    }
  }
  for (const source of sources) {
    const first = skipped.find((skip) => skip.source === source.name);
    if (first && !kept.has(source.name)) {
      throw new SignetError('KEYRING_INVALID', first.message);
    }
  }
  return new LoadedOpenPgpRegistry(
    infos,
    records,
    skipped.map((skip) => `skipped ${skip.message}`),
  );
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
