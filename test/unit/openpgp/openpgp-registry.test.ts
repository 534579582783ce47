import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignetError } from '../../../src/core/errors.ts';
import { loadOpenPgpRegistry, verifyOpenPgpSignature } from '../../../src/core/openpgp/index.ts';
import { armor, concat, packet, readPackets } from '../../helpers/openpgp-craft.ts';
import { GpgHome } from '../../helpers/openpgp-gpg.ts';
import { commitPayload, day } from '../../helpers/openpgp-scenarios.ts';

const now = Math.floor(Date.now() / 1000);
let home: GpgHome;
let verifier: GpgHome;
let alice: string;
let bob: string;
let alicePublic: string;
let bobBeforeRevocation: string;
let bobAfterRevocation: string;
let aliceSignature: string;

async function loadError(sources: { name: string; text: string }[]): Promise<{ code: string; message: string }> {
  try {
    await loadOpenPgpRegistry(sources);
  } catch (error) {
    if (isSignetError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('loading succeeded');
}

beforeAll(async () => {
  [home, verifier] = await Promise.all([GpgHome.create(), GpgHome.create()]);
  const created = now - 10 * day;
  alice = await home.generate('Alice Example <Alice@Example.com>', 'ed25519', 'sign', '20d', created);
  await home.gpg(['--quick-add-uid', alice, 'Alice at Work <alice@work.example>'], { at: created + 10 });
  await home.gpg(['--quick-add-uid', alice, 'Alice Old <old@example.com>'], { at: created + 20 });
  await home.gpg(['--quick-revoke-uid', alice, 'Alice Old <old@example.com>'], { at: created + 30 });
  await home.gpg(['--quick-set-primary-uid', alice, 'Alice at Work <alice@work.example>'], { at: created + 40 });
  alicePublic = await home.exportPublic(alice);
  aliceSignature = await home.sign(alice, commitPayload, { at: now - 3600 });
  bob = await home.generate('Bob <bob@example.com>', 'rsa2048', 'sign', '0', created);
  bobBeforeRevocation = await home.exportPublic(bob);
  await home.revokePrimary(bob);
  bobAfterRevocation = await home.exportPublic(bob);
  await verifier.importKeys([alicePublic]);
  await verifier.trustUltimately([alice]);
});

afterAll(async () => {
  await Promise.all([home.dispose(), verifier.dispose()]);
});

describe('loading OpenPGP keyrings', () => {
  it('accepts an empty list; then every signature is by an unknown key', async () => {
    const registry = await loadOpenPgpRegistry([]);
    expect(registry.keys).toEqual([]);
    const verdict = await verifyOpenPgpSignature(registry, commitPayload, aliceSignature, { now: new Date() });
    expect(verdict).toMatchObject({ status: 'E', reason: 'unknown_key', key: alice });
  });

  it('lists keys with their live user IDs, e-mails, expiry and revocation', async () => {
    const registry = await loadOpenPgpRegistry([{ name: 'team.asc', text: alicePublic + bobAfterRevocation }]);
    const byFingerprint = new Map(registry.keys.map((key) => [key.fingerprint, key]));
    const aliceInfo = byFingerprint.get(alice);
    expect(aliceInfo?.userIds.sort()).toEqual(['Alice Example <Alice@Example.com>', 'Alice at Work <alice@work.example>']);
    expect(aliceInfo?.emails.sort()).toEqual(['alice@example.com', 'alice@work.example']);
    // gpg's own view of the expiry, from --with-colons (field 7 of the pub line).
    const colons = (await home.gpg(['--with-colons', '--list-keys', alice])).stdout.toString();
    const gpgExpiry = Number(
      colons
        .split('\n')
        .find((line) => line.startsWith('pub:'))
        ?.split(':')[6],
    );
    expect(aliceInfo?.expiresAt).toBe(gpgExpiry);
    expect(aliceInfo?.revokedAt).toBeUndefined();
    const bobInfo = byFingerprint.get(bob);
    // gpg makes the revocation certificate when it generates the key, so it dates from then.
    expect(bobInfo?.revokedAt).toBeGreaterThanOrEqual(now - 10 * day);
    expect(bobInfo?.expiresAt).toBeUndefined();
  });

  it('names the primary user ID gpg names, and matches committer e-mails case-insensitively', async () => {
    const registry = await loadOpenPgpRegistry([{ name: 'alice.asc', text: alicePublic }]);
    const gpg = await verifier.verify(aliceSignature, commitPayload);
    const verdict = await verifyOpenPgpSignature(registry, commitPayload, aliceSignature, { now: new Date(), committerEmail: 'ALICE@example.com' });
    expect(verdict.status).toBe(gpg.letter);
    expect(verdict.signer).toBe(gpg.userId);
    expect(verdict.identities?.sort()).toEqual(['alice@example.com', 'alice@work.example']);
    expect(verdict.emailMatches).toBe(true);
    const revokedAddress = await verifyOpenPgpSignature(registry, commitPayload, aliceSignature, { now: new Date(), committerEmail: 'old@example.com' });
    expect(revokedAddress.emailMatches).toBe(false);
    const notAsked = await verifyOpenPgpSignature(registry, commitPayload, aliceSignature, { now: new Date() });
    expect(notAsked.emailMatches).toBeUndefined();
  });

  it('accepts a key that names a designated revoker, as gpg does', async () => {
    const other = await GpgHome.create();
    const carol = await other.generate('Carol <carol@example.com>', 'ed25519', 'sign', '0', now - day);
    const revoker = await other.generate('Revoker <revoker@example.com>', 'ed25519', 'sign', '0', now - day);
    await other.editKey(carol, ['addrevoker', revoker, 'y', 'save']);
    const exported = await other.exportPublic(carol);
    const signature = await other.sign(carol, commitPayload, { at: now - 60 });
    const gpg = await other.verify(signature, commitPayload);
    await other.dispose();
    const registry = await loadOpenPgpRegistry([{ name: 'carol.asc', text: exported }]);
    const verdict = await verifyOpenPgpSignature(registry, commitPayload, signature, { now: new Date() });
    expect(verdict.status).toBe(gpg.letter);
    expect(verdict.status).toBe('G');
  });

  it('merges copies of one key from several files, as gpg --import does', async () => {
    const registry = await loadOpenPgpRegistry([
      { name: 'old.asc', text: bobBeforeRevocation },
      { name: 'new.asc', text: bobAfterRevocation },
    ]);
    expect(registry.keys).toHaveLength(1);
    expect(registry.keys[0]?.revokedAt).toBeDefined();
  });

  it('reads a binary keyring given as latin1 text', async () => {
    const binary = (await home.gpg(['--export', alice, bob])).stdout;
    const registry = await loadOpenPgpRegistry([{ name: 'keyring.gpg', text: binary.toString('latin1') }]);
    expect(registry.keys.map((key) => key.fingerprint).sort()).toEqual([alice, bob].sort());
  });

  it('refuses malformed files, naming the file', async () => {
    const binary = new Uint8Array((await home.gpg(['--export', alice])).stdout);
    const broken = armor(binary.subarray(0, 40), { label: 'PUBLIC KEY BLOCK' });
    const cases: { name: string; text: string; says: RegExp }[] = [
      { name: 'garbage.asc', text: 'hello world\n', says: /neither an armored OpenPGP public key block nor a binary keyring/ },
      { name: 'signature.asc', text: aliceSignature, says: /no "-----BEGIN PGP PUBLIC KEY BLOCK-----"/ },
      { name: 'cut.asc', text: alicePublic.slice(0, alicePublic.length / 2), says: /no "-----BEGIN PGP PUBLIC KEY BLOCK-----"/ },
      { name: 'broken.asc', text: broken, says: /cannot read the OpenPGP keys/ },
      { name: 'empty.asc', text: '', says: /neither an armored/ },
      { name: 'binary-junk.gpg', text: '\u00ff\u0001\u0002', says: /cannot read the OpenPGP keys/ },
    ];
    for (const source of cases) {
      const error = await loadError([{ name: 'fine.asc', text: alicePublic }, source]);
      expect(error.code, source.name).toBe('KEYRING_INVALID');
      expect(error.message, source.name).toMatch(new RegExp(`^${source.name.replace('.', '\\.')}: `));
      expect(error.message, source.name).toMatch(source.says);
      expect(error.message, source.name).not.toContain('\n');
    }
  });

  it('refuses private keys, keys gpg 2.2 cannot read and keys without a valid user ID', async () => {
    const secret = await home.exportSecret(alice);
    expect(await loadError([{ name: 'secret.asc', text: secret }])).toMatchObject({
      code: 'KEYRING_INVALID',
      message: expect.stringMatching(/^secret\.asc: .*private key/),
    });

    const { publicKey: v6 } = await openpgp.generateKey({
      type: 'curve25519',
      userIDs: [{ email: 'v6@example.com' }],
      config: { v6Keys: true },
      format: 'armored',
    });
    expect(await loadError([{ name: 'v6.asc', text: v6 }])).toMatchObject({
      code: 'KEYRING_INVALID',
      message: expect.stringMatching(/^v6\.asc: key [0-9A-F]{64} is a version 6 key/),
    });

    const curves = await GpgHome.create();
    const brainpool = await curves.generate('Brainpool <bp@example.com>', 'brainpoolP256r1', 'sign', '0');
    const brainpoolKey = await curves.exportPublic(brainpool);
    await curves.dispose();
    expect(await loadError([{ name: 'bp.asc', text: brainpoolKey }])).toMatchObject({
      code: 'KEYRING_INVALID',
      message: `bp.asc: key ${brainpool} cannot be used: it is on the elliptic curve brainpoolP256r1, which signet cannot check yet (gpg can)`,
    });

    // Alice's key with every user-ID signature (certifications and revocations) dropped: gpg refuses to import it.
    const binary = new Uint8Array((await home.gpg(['--export', alice])).stdout);
    const userIdSignature = (body: Uint8Array): boolean => ((body[1] ?? 0) >= 0x10 && (body[1] ?? 0) <= 0x13) || body[1] === 0x30;
    const withoutSelfSignatures = concat(
      readPackets(binary)
        .filter(({ tag, body }) => !(tag === 2 && userIdSignature(body)))
        .map(({ tag, body }) => packet(tag, body)),
    );
    const fresh = await GpgHome.create();
    const imported = await fresh.gpg(['--import'], { input: withoutSelfSignatures, allowFailure: true });
    await fresh.dispose();
    // gpg drops user IDs without signatures and then the key ("contains no user ID - skipped").
    expect(imported.stderr).toMatch(/no user ID - skipped|no valid user IDs/);
    const error = await loadError([{ name: 'nouid.gpg', text: Buffer.from(withoutSelfSignatures).toString('latin1') }]);
    expect(error).toMatchObject({
      code: 'KEYRING_INVALID',
      message: expect.stringMatching(/^nouid\.gpg: key [0-9A-F]{40} has no user ID with a valid self-signature/),
    });
  });
});
