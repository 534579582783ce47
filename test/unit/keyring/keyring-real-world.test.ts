/**
 * Keyrings as they are published, read as gpg reads them (issue 13, class 3): a key on a curve
 * signet cannot check among usable ones, self-signatures whose 16-bit digest prefix is wrong,
 * key files joined without a final newline. gpg (--import, --verify) is the judge of each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignetError } from '../../../src/core/errors.ts';
import { verifyOpenPgpSignature } from '../../../src/core/openpgp/index.ts';
import { loadOpenPgpRegistry, loadOpenPgpRegistryWithOpenPgpJs, readsNatively, type KeySourceText } from '../../../src/core/openpgp/registry.ts';
import { armor, concat, packet, readPackets } from '../../helpers/openpgp-craft.ts';
import { GpgHome } from '../../helpers/openpgp-gpg.ts';
import { commitPayload, day } from '../../helpers/openpgp-scenarios.ts';

const now = Math.floor(Date.now() / 1000);
const homes: GpgHome[] = [];
let signer: GpgHome;
let good: string;
let rsa: string;
let k1: string;
let goodPublic: string;
let rsaPublic: string;
let k1Public: string;

beforeAll(async () => {
  signer = await GpgHome.create();
  homes.push(signer);
  const created = now - 10 * day;
  good = await signer.generate('Good <good@example.com>', 'ed25519', 'sign', '0', created);
  rsa = await signer.generate('Web Flow <web-flow@example.com>', 'rsa2048', 'sign', '0', created);
  k1 = await signer.generate('Coin <coin@example.com>', 'secp256k1', 'sign', '0', created);
  [goodPublic, rsaPublic, k1Public] = await Promise.all([signer.exportPublic(good), signer.exportPublic(rsa), signer.exportPublic(k1)]);
}, 60_000);

afterAll(async () => {
  await Promise.all(homes.map((home) => home.dispose()));
});

/** A fresh gpg home that imported `keys`; returns it and what gpg said. */
async function gpgImporting(keys: string | Uint8Array): Promise<{ home: GpgHome; stderr: string; listed: string[] }> {
  const home = await GpgHome.create();
  homes.push(home);
  const { stderr } = await home.gpg(['--import'], { input: keys, allowFailure: true });
  const { stdout } = await home.gpg(['--with-colons', '--list-keys'], { allowFailure: true });
  const listed = stdout
    .toString('utf8')
    .split('\n')
    .filter((line) => line.startsWith('fpr:'))
    .map((line) => line.split(':')[9] ?? '');
  return { home, stderr, listed };
}

async function bothReaders(sources: KeySourceText[]): Promise<Array<{ fingerprints: string[]; warnings: readonly string[] }>> {
  return Promise.all(
    [loadOpenPgpRegistry(sources), loadOpenPgpRegistryWithOpenPgpJs(sources)].map(async (loading) => {
      const registry = await loading;
      return { fingerprints: registry.keys.map((key) => key.fingerprint), warnings: registry.warnings };
    }),
  );
}

/** Every v4 signature packet of a binary key with its two stored digest bytes flipped (or more). */
function spoilDigestPrefixes(binary: Uint8Array, alsoSignature = false): Uint8Array {
  return concat(
    readPackets(binary).map(({ tag, body }) => {
      if (tag !== 2 || body[0] !== 4) return packet(tag, body);
      const copy = new Uint8Array(body);
      const hashedEnd = 6 + ((copy[4]! << 8) | copy[5]!);
      const prefixAt = hashedEnd + 2 + ((copy[hashedEnd]! << 8) | copy[hashedEnd + 1]!);
      copy[prefixAt] = copy[prefixAt]! ^ 0xff;
      copy[prefixAt + 1] = copy[prefixAt + 1]! ^ 0x5a;
      if (alsoSignature) copy[copy.length - 2] = copy[copy.length - 2]! ^ 0x01;
      return packet(tag, copy);
    }),
  );
}

describe('a key signet cannot use, among keys it can', () => {
  it('is skipped with one warning naming it; every other key is kept', async () => {
    const file = `${k1Public}${goodPublic}${rsaPublic}`;
    // gpg (libgcrypt) reads secp256k1 keys: it imports all three.
    expect((await gpgImporting(file)).listed).toEqual(expect.arrayContaining([k1, good, rsa]));
    for (const read of await bothReaders([{ name: 'mixed.asc', text: file }])) {
      expect(read.fingerprints.sort()).toEqual([good, rsa].sort());
      expect(read.warnings).toEqual([
        `skipped mixed.asc: key ${k1} cannot be used: it is on the elliptic curve secp256k1, which signet cannot check yet (gpg can)`,
      ]);
    }
  });

  it('leaves its signatures unverifiable (E), never good, while the other keys verify', async () => {
    const registry = await loadOpenPgpRegistry([{ name: 'mixed.asc', text: `${k1Public}${goodPublic}` }]);
    const byK1 = await verifyOpenPgpSignature(registry, commitPayload, await signer.sign(k1, commitPayload), { now: new Date() });
    expect(byK1).toMatchObject({ status: 'E', reason: 'unknown_key' });
    const byGood = await verifyOpenPgpSignature(registry, commitPayload, await signer.sign(good, commitPayload), { now: new Date() });
    expect(byGood).toMatchObject({ status: 'G', key: good });
  });

  it('still refuses a file none of whose keys can be used, in one line naming it', async () => {
    await expect(
      loadOpenPgpRegistry([
        { name: 'coin.asc', text: k1Public },
        { name: 'good.asc', text: goodPublic },
      ]),
    ).rejects.toSatisfy(
      (error: unknown) =>
        isSignetError(error) &&
        error.code === 'KEYRING_INVALID' &&
        error.message === `coin.asc: key ${k1} cannot be used: it is on the elliptic curve secp256k1, which signet cannot check yet (gpg can)`,
    );
  });
});

describe('a self-signature whose digest prefix is wrong', () => {
  it.each(['rsa', 'ed25519'] as const)('is judged by its signature, as gpg judges it (%s)', async (kind) => {
    const fingerprint = kind === 'rsa' ? rsa : good;
    const binary = new Uint8Array((await signer.gpg(['--export', fingerprint])).stdout);
    const spoiled = armor(spoilDigestPrefixes(binary), { label: 'PUBLIC KEY BLOCK' });
    const imported = await gpgImporting(spoiled);
    expect(imported.listed).toEqual([fingerprint]);
    const sources = [{ name: 'published.asc', text: spoiled }];
    expect(readsNatively(sources)).toBe(true);
    for (const read of await bothReaders(sources)) expect(read.fingerprints).toEqual([fingerprint]);
    // A signature by the key: gpg with the key imported and signet with the registry agree.
    const signature = await signer.sign(fingerprint, commitPayload);
    await imported.home.trustUltimately([fingerprint]);
    expect((await imported.home.verify(signature, commitPayload)).letter).toBe('G');
    expect(await verifyOpenPgpSignature(await loadOpenPgpRegistry(sources), commitPayload, signature, { now: new Date() })).toMatchObject({
      status: 'G',
      key: fingerprint,
    });
  });

  it('does not make a self-signature that does not verify acceptable', async () => {
    const binary = new Uint8Array((await signer.gpg(['--export', rsa])).stdout);
    const forged = armor(spoilDigestPrefixes(binary, true), { label: 'PUBLIC KEY BLOCK' });
    const imported = await gpgImporting(forged);
    expect(imported.listed).toEqual([]);
    expect(imported.stderr).toMatch(/no valid user IDs|skipped/);
    for (const load of [loadOpenPgpRegistry, loadOpenPgpRegistryWithOpenPgpJs]) {
      await expect(load([{ name: 'forged.asc', text: forged }])).rejects.toThrow(`forged.asc: key ${rsa} has no user ID with a valid self-signature`);
    }
  });
});

describe('key files joined without a final newline', () => {
  it('are read as gpg reads them: the block whose BEGIN does not start a line is not read', async () => {
    const joined = `${goodPublic.trimEnd()}${rsaPublic}`;
    expect(joined).toContain('-----END PGP PUBLIC KEY BLOCK----------BEGIN PGP PUBLIC KEY BLOCK-----');
    const imported = await gpgImporting(joined);
    expect(imported.listed).toEqual([good]);
    for (const read of await bothReaders([{ name: 'joined.asc', text: joined }])) {
      expect(read.fingerprints).toEqual([good]);
      expect(read.warnings).toEqual([expect.stringMatching(/^skipped joined\.asc: a "-----BEGIN PGP PUBLIC KEY BLOCK-----" that does not start a line/)]);
    }
    // The key gpg never imported signs nothing good here either.
    const signature = await signer.sign(rsa, commitPayload);
    expect((await imported.home.verify(signature, commitPayload)).letter).toBe('E');
    expect(
      await verifyOpenPgpSignature(await loadOpenPgpRegistry([{ name: 'joined.asc', text: joined }]), commitPayload, signature, { now: new Date() }),
    ).toMatchObject({ status: 'E', reason: 'unknown_key' });
  });
});
