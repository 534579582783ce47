import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asLoadedRegistry,
  loadOpenPgpRegistry,
  loadOpenPgpRegistryWithOpenPgpJs,
  readsNatively,
  type KeySourceText,
  type SigningKeyRecord,
} from '../../../src/core/openpgp/registry.ts';
import { GpgHome } from '../../helpers/openpgp-gpg.ts';
import { buildScenarios, day, type Scenario } from '../../helpers/openpgp-scenarios.ts';

/**
 * The native keyring reader (keyring-native.ts) against openpgp.js on keys made by gpg: for
 * every keyring the native reader takes, the registry (key list and every signing record:
 * fingerprints, times, flags, identities, key material) must equal the one openpgp.js builds.
 */
function comparable(record: SigningKeyRecord): object {
  const { native, packetBody, ...rest } = record;
  const key =
    'key' in native
      ? native.kind === 'dsa'
        ? native.key.export({ format: 'der', type: 'spki' }).toString('hex')
        : native.key.export({ format: 'jwk' })
      : native;
  return { ...rest, native: { kind: native.kind, key }, packetBody: Buffer.from(packetBody).toString('hex') };
}

async function both(sources: KeySourceText[]): Promise<{ native: unknown; reference: unknown }> {
  const native = asLoadedRegistry(await loadOpenPgpRegistry(sources));
  const reference = asLoadedRegistry(await loadOpenPgpRegistryWithOpenPgpJs(sources));
  return {
    native: { keys: native.keys, records: native.records().map(comparable) },
    reference: { keys: reference.keys, records: reference.records().map(comparable) },
  };
}

const now = Math.floor(Date.now() / 1000);
let scenarios: Scenario[] = [];
const extraHomes: GpgHome[] = [];
let certified: string;
let manyUids: string;
let withRevoker: string;

beforeAll(async () => {
  scenarios = await buildScenarios(now);
  // A key certified by another key, and one with several user IDs (a primary one, a revoked one).
  const home = await GpgHome.create();
  extraHomes.push(home);
  const signer = await home.generate('Signer <signer@example.com>', 'ed25519', 'sign', '0', now - 10 * day);
  const subject = await home.generate('Subject <subject@example.com>', 'nistp256', 'sign', '0', now - 9 * day);
  await home.gpg(['--default-key', signer, '--quick-sign-key', subject], { at: now - 8 * day });
  certified = await home.exportPublic(subject);
  const person = await home.generate('Many <one@example.com>', 'rsa2048', 'sign', '2y', now - 7 * day);
  await home.gpg(['--quick-add-uid', person, 'Many <two@example.com>'], { at: now - 6 * day });
  await home.gpg(['--quick-add-uid', person, 'Many <three@example.com>'], { at: now - 5 * day });
  await home.gpg(['--quick-set-primary-uid', person, 'Many <two@example.com>'], { at: now - 4 * day });
  await home.gpg(['--quick-revoke-uid', person, 'Many <three@example.com>'], { at: now - 3 * day });
  manyUids = await home.exportPublic(person);
  // A key naming a designated revoker (as Debian's archive keys do).
  const owner = await home.generate('Owner <owner@example.com>', 'ed25519', 'sign', '0', now - 2 * day);
  await home.editKey(owner, ['addrevoker', signer, 'y', 'save']);
  withRevoker = await home.exportPublic(owner);
  const packets = (await home.gpg(['--list-packets'], { input: withRevoker })).stdout.toString('utf8');
  if (!/revocation key/.test(packets)) throw new Error('gpg did not add the designated revoker');
}, 240_000);

afterAll(async () => {
  for (const home of [...scenarios.flatMap((scenario) => scenario.homes), ...extraHomes]) await home.dispose();
});

describe('native OpenPGP keyring reader', () => {
  it('builds the registry openpgp.js builds, key by key, on every gpg scenario', async () => {
    let native = 0;
    for (const [index, scenario] of scenarios.entries()) {
      const sources = scenario.publicKeys.map((text, key) => ({ name: `s${index}-${key}.asc`, text }));
      if (readsNatively(sources)) native++;
      const { native: ours, reference } = await both(sources);
      expect(ours, `scenario ${index} (${scenario.fingerprints.join(', ')})`).toEqual(reference);
    }
    // DSA keys and the like go to openpgp.js; the common ones must not.
    expect(native).toBeGreaterThanOrEqual(scenarios.length - 3);
  });

  it('reads third-party certifications, several user IDs, a primary and a revoked one, a designated revoker, as openpgp.js does', async () => {
    for (const text of [certified, manyUids, withRevoker]) {
      const sources = [{ name: 'k.asc', text }];
      expect(readsNatively(sources)).toBe(true);
      const { native: ours, reference } = await both(sources);
      expect(ours).toEqual(reference);
    }
    const registry = asLoadedRegistry(await loadOpenPgpRegistry([{ name: 'k.asc', text: manyUids }]));
    expect(registry.keys[0]?.userIds).toEqual(['Many <one@example.com>', 'Many <two@example.com>']);
    expect(registry.records()[0]?.owner.primaryUserId).toBe('Many <two@example.com>');
  });

  it('reads every block of a keyring holding many keys, and leaves a key given twice to openpgp.js', async () => {
    const all = scenarios
      .filter((scenario) => readsNatively(scenario.publicKeys.map((text) => ({ name: 'x', text }))))
      .flatMap((scenario) => scenario.publicKeys);
    const sources = [{ name: 'all.asc', text: all.join('\n') }];
    expect(readsNatively(sources)).toBe(true);
    const { native: ours, reference } = await both(sources);
    expect(ours).toEqual(reference);
    const twice = [
      { name: 'a.asc', text: all[0]! },
      { name: 'b.asc', text: all[0]! },
    ];
    expect(readsNatively(twice)).toBe(false);
  });

  it('leaves damaged armor, a bad self-signature and unusual packets to openpgp.js', async () => {
    const text = scenarios[2]!.publicKeys[0]!;
    const lines = text.split('\n');
    const bodyLine = lines.findIndex((line, index) => index > 2 && line.length > 40);
    // A flipped character in the body: the CRC no longer matches (openpgp.js does not check it).
    const flipped = [...lines];
    flipped[bodyLine] = (flipped[bodyLine]![10] === 'A' ? 'B' : 'A').padStart(11, flipped[bodyLine]!.slice(0, 10)) + flipped[bodyLine]!.slice(11);
    expect(readsNatively([{ name: 'f.asc', text: flipped.join('\n') }])).toBe(false);
    // The same damage with the CRC line removed: the self-signature or the key no longer checks.
    const noCrc = flipped.filter((line) => !/^=[A-Za-z0-9+/]{4}$/.test(line)).join('\n');
    expect(readsNatively([{ name: 'n.asc', text: noCrc }])).toBe(false);
    // Whatever openpgp.js then makes of it (a registry or a refusal), loadOpenPgpRegistry says the same.
    const outcome = (load: typeof loadOpenPgpRegistry) =>
      load([{ name: 'n.asc', text: noCrc }]).then(
        (registry) => asLoadedRegistry(registry).records().map(comparable),
        (error: Error) => error.message,
      );
    expect(await outcome(loadOpenPgpRegistry)).toEqual(await outcome(loadOpenPgpRegistryWithOpenPgpJs));
    // A binary keyring: openpgp.js.
    expect(readsNatively([{ name: 'bin.gpg', text: Buffer.from([0x99, 0, 1, 4]).toString('latin1') }])).toBe(false);
  });
});
