import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOpenPgpRegistry, verifyOpenPgpSignature, verifyOpenPgpSignatureWithOpenPgpJs, type OpenPgpRegistry } from '../../../src/core/openpgp/index.ts';
import {
  armor,
  concat,
  craftKey,
  craftSignaturePacket,
  fromBig,
  packet,
  rewriteBindingUnhashed,
  sub,
  toBig,
  type CraftKey,
  type CraftOptions,
  type Subpacket,
} from '../../helpers/openpgp-craft.ts';
import { expectedLetter, GpgHome, mapLimited } from '../../helpers/openpgp-gpg.ts';
import { commitPayload, day, tamper } from '../../helpers/openpgp-scenarios.ts';

// Signatures no ordinary signer makes, built packet by packet with secret keys gpg generated,
// and judged by gpg 2.2 itself: critical subpackets of every type, odd signature classes, hash
// and public-key algorithm fields, missing issuer or creation time, armor variants, broken
// back-signatures. Our letter must be the one gpg's status lines give git.

const now = Math.floor(Date.now() / 1000);
const signedAt = now - 3600;
const homes: GpgHome[] = [];

interface World {
  verifier: GpgHome;
  registry: OpenPgpRegistry;
}
let main: World;
let ed: CraftKey;
let rsa: CraftKey;
let p384: CraftKey;
let edSecretHome: GpgHome;
let edFingerprint: string;
const backsig: Record<'missing' | 'bad' | 'intact', { world: World; key: CraftKey }> = {} as never;

async function world(publicKeys: (string | Uint8Array)[], fingerprints: string[]): Promise<World> {
  const verifier = await GpgHome.create();
  homes.push(verifier);
  for (const key of publicKeys) await verifier.gpg(['--import'], { input: key });
  await verifier.trustUltimately(fingerprints);
  const registry = await loadOpenPgpRegistry(
    publicKeys.map((key, index) => ({ name: `k${index}`, text: typeof key === 'string' ? key : Buffer.from(key).toString('latin1') })),
  );
  return { verifier, registry };
}

beforeAll(async () => {
  const [edHome, rsaHome, pHome, subHome] = await Promise.all([GpgHome.create(), GpgHome.create(), GpgHome.create(), GpgHome.create()]);
  homes.push(edHome, rsaHome, pHome, subHome);
  edSecretHome = edHome;
  const created = now - 10 * day;
  const [edFpr, rsaFpr, pFpr, subPrimary] = await Promise.all([
    edHome.generate('Crafted Ed <ed@example.com>', 'ed25519', 'sign', '0', created),
    rsaHome.generate('Crafted Rsa <rsa@example.com>', 'rsa2048', 'sign', '0', created),
    pHome.generate('Crafted P384 <p384@example.com>', 'nistp384', 'sign', '0', created),
    subHome.generate('Crafted Sub <sub@example.com>', 'ed25519', 'cert', '0', created),
  ]);
  edFingerprint = edFpr;
  const subFpr = await subHome.addSubkey(subPrimary, 'ed25519', 'sign', '0', created);
  [ed, rsa, p384] = await Promise.all([
    craftKey(await edHome.exportSecret(edFpr), edFpr),
    craftKey(await rsaHome.exportSecret(rsaFpr), rsaFpr),
    craftKey(await pHome.exportSecret(pFpr), pFpr),
  ]);
  main = await world([await edHome.exportPublic(edFpr), await rsaHome.exportPublic(rsaFpr), await pHome.exportPublic(pFpr)], [edFpr, rsaFpr, pFpr]);

  const subKey = await craftKey(await subHome.exportSecret(subPrimary), subFpr);
  const binary = (await subHome.gpg(['--export', subPrimary])).stdout;
  const variants = {
    intact: new Uint8Array(binary),
    missing: rewriteBindingUnhashed(binary, (subpackets) => subpackets.filter((subpacket) => subpacket.type !== 32)),
    bad: rewriteBindingUnhashed(binary, (subpackets) =>
      subpackets.map((subpacket): Subpacket => {
        if (subpacket.type !== 32) return subpacket;
        const body = new Uint8Array(subpacket.body);
        body[body.length - 3] = (body[body.length - 3] ?? 0) ^ 0x01; // inside the back-signature's last MPI
        return { ...subpacket, body };
      }),
    ),
  };
  for (const name of ['intact', 'missing', 'bad'] as const) {
    backsig[name] = { world: await world([variants[name]], [subPrimary]), key: subKey };
  }
});

afterAll(async () => {
  await Promise.all(homes.map((home) => home.dispose()));
});

const ed25519Order = 2n ** 252n + 27742317777372353535851937790883648493n;
/** EdDSA MPIs hold S in its native little-endian encoding, 32 bytes before leading zeros are dropped. */
const fromLittleEndian = (mpiBytes: Uint8Array): bigint => {
  const padded = new Uint8Array(32);
  padded.set(mpiBytes, 32 - mpiBytes.length);
  return toBig(padded.reverse());
};
const littleEndian = (value: bigint): Uint8Array => {
  const bytes = fromBig(value);
  const padded = new Uint8Array(32);
  padded.set(bytes, 32 - bytes.length);
  return padded.reverse();
};

const sign = (key: CraftKey, options: Partial<CraftOptions> = {}, payload = commitPayload): Uint8Array =>
  craftSignaturePacket(key, payload, { createdAt: signedAt, ...options });

interface Case {
  name: string;
  signature: string;
  payload?: Uint8Array;
  in?: World;
}

async function judge(cases: Case[]): Promise<string[]> {
  // gpg runs are the slow part: ask gpg about several cases at once (readers of one keyring).
  const gpgLetters = await mapLimited(cases, 4, (testCase) =>
    (testCase.in ?? main).verifier.verify(testCase.signature, testCase.payload ?? commitPayload, now),
  );
  const problems: string[] = [];
  for (const [index, testCase] of cases.entries()) {
    const target = testCase.in ?? main;
    const payload = testCase.payload ?? commitPayload;
    const options = { now: new Date(now * 1000) };
    const gpg = gpgLetters[index];
    if (!gpg) throw new Error('missing gpg result');
    const ours = await verifyOpenPgpSignature(target.registry, payload, testCase.signature, options);
    const reference = await verifyOpenPgpSignatureWithOpenPgpJs(target.registry, payload, testCase.signature, options);
    if (process.env.SIGNET_SHOW)
      process.stdout.write(`${testCase.name.padEnd(60)} gpg ${gpg.letter} ours ${ours.status} ${ours.reason} ref ${reference.status} | ${ours.detail ?? ''}\n`);
    if (ours.status !== expectedLetter(gpg.letter))
      problems.push(`${testCase.name}: gpg ${gpg.letter}, ours ${ours.status} (${ours.detail ?? ''})\n${gpg.status}`);
    // The openpgp.js path may be stricter than gpg on these oddities, never more lenient.
    if (reference.status === 'G' && ours.status !== 'G') problems.push(`${testCase.name}: openpgp.js path says G, fast path ${ours.status}`);
  }
  return problems;
}

/** The armor of `bytes` (padded so its base64 ends in '='), its body lines rewritten by `edit`. */
function withPadding(bytes: Uint8Array, edit: (lines: string[]) => string[]): string {
  const padded = bytes.length % 3 === 0 ? concat([bytes, new Uint8Array([0x00])]) : bytes;
  const text = armor(padded, { crc: 'none' });
  const lines = text.split('\n');
  const start = lines.indexOf('') + 1;
  const end = lines.findIndex((line) => line.startsWith('-----END'));
  return [...lines.slice(0, start), ...edit(lines.slice(start, end)), ...lines.slice(end)].join('\n');
}

const typical = (type: number): Uint8Array => {
  const bodies: Record<number, number[]> = {
    3: [0, 0, 0, 0],
    4: [1],
    5: [1, 60],
    6: [120, 0],
    7: [1],
    9: [0, 0, 0, 0],
    11: [9, 8],
    12: [0x80, 22, ...new Array(20).fill(7)],
    21: [8, 10],
    22: [2, 1],
    23: [0x80],
    24: [...Buffer.from('hkps://keys.example.com')],
    25: [1],
    26: [...Buffer.from('https://example.com/policy')],
    27: [3],
    28: [...Buffer.from('ed@example.com')],
    29: [0, 114],
    30: [1],
    31: [22, 8, ...new Array(32).fill(1)],
    34: [2],
    35: [4, ...new Array(20).fill(3)],
    37: new Array(32).fill(5),
    38: [1, 2],
    39: [9, 2],
    40: [1],
  };
  return new Uint8Array(bodies[type] ?? [1, 2, 3, 4]);
};

describe('crafted signatures are judged as gpg 2.2 judges them', () => {
  it('baselines made by hand verify as good', async () => {
    expect(
      await judge([
        { name: 'hand-made Ed25519', signature: armor(sign(ed)) },
        { name: 'hand-made RSA', signature: armor(sign(rsa)) },
        { name: 'hand-made P-384 with SHA-384', signature: armor(sign(p384, { hashAlgorithm: 9 })) },
        { name: 'hand-made Ed25519, tampered payload', signature: armor(sign(ed)), payload: tamper(commitPayload) },
      ]),
    ).toEqual([]);
  });

  it('critical subpackets of every type, hashed and unhashed', async () => {
    const cases: Case[] = [];
    for (let type = 1; type <= 41; type += 1) {
      if (type === 2 || type === 33) continue;
      const extra: Subpacket = type === 20 ? sub.notation('test@example.com', 'x', true) : { type, body: typical(type), critical: true };
      if (type === 20) extra.critical = true;
      cases.push({
        name: `critical subpacket ${type} (hashed)`,
        signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(ed.fingerprint), extra] })),
      });
    }
    cases.push(
      {
        name: 'critical creation time',
        signature: armor(sign(ed, { hashed: [{ ...sub.created(signedAt), critical: true }, sub.issuerFingerprint(ed.fingerprint)] })),
      },
      {
        name: 'critical issuer fingerprint',
        signature: armor(sign(ed, { hashed: [sub.created(signedAt), { ...sub.issuerFingerprint(ed.fingerprint), critical: true }] })),
      },
      {
        name: 'critical private subpacket 100 (hashed)',
        signature: armor(
          sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(ed.fingerprint), { type: 100, body: new Uint8Array([1]), critical: true }] }),
        ),
      },
      {
        name: 'critical private subpacket 100 (unhashed)',
        signature: armor(sign(ed, { unhashed: [sub.issuerKeyId(ed.fingerprint), { type: 100, body: new Uint8Array([1]), critical: true }] })),
      },
      {
        name: 'non-critical unknown subpacket 100',
        signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(ed.fingerprint), { type: 100, body: new Uint8Array([1]) }] })),
      },
      {
        name: 'non-critical notation',
        signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(ed.fingerprint), sub.notation('test@example.com', 'x')] })),
      },
      {
        name: 'critical notation, tampered payload',
        signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(ed.fingerprint), sub.notation('test@example.com', 'x', true)] })),
        payload: tamper(commitPayload),
      },
    );
    expect(await judge(cases)).toEqual([]);
  });

  it('signature classes, digest prefix, algorithm fields', async () => {
    const cases: Case[] = [];
    for (const signatureType of [0x02, 0x10, 0x13, 0x18, 0x19, 0x1f, 0x20, 0x28, 0x30, 0x40, 0x50]) {
      cases.push({ name: `class 0x${signatureType.toString(16)}`, signature: armor(sign(ed, { signatureType })) });
    }
    cases.push(
      { name: 'stored digest prefix flipped', signature: armor(sign(ed, { flipLeft16: true })) },
      { name: 'RSA, stored digest prefix flipped', signature: armor(sign(rsa, { flipLeft16: true })) },
      { name: 'MD5 (RSA)', signature: armor(sign(rsa, { hashAlgorithm: 1 })) },
      { name: 'SHA-224 (Ed25519)', signature: armor(sign(ed, { hashAlgorithm: 11 })) },
      { name: 'SHA-512 (Ed25519)', signature: armor(sign(ed, { hashAlgorithm: 10 })) },
      { name: 'SHA-512 (RSA)', signature: armor(sign(rsa, { hashAlgorithm: 10 })) },
      { name: 'SHA3-256 (Ed25519)', signature: armor(sign(ed, { hashAlgorithm: 12 })) },
      { name: 'hash algorithm 99', signature: armor(sign(ed, { hashAlgorithm: 99 })) },
      { name: 'P-384 with SHA-256', signature: armor(sign(p384, { hashAlgorithm: 8 })) },
      { name: 'P-384 with SHA-1', signature: armor(sign(p384, { hashAlgorithm: 2 })) },
      { name: 'P-384 with SHA-512', signature: armor(sign(p384, { hashAlgorithm: 10 })) },
      { name: 'Ed25519 signature claiming RSA', signature: armor(sign(ed, { publicKeyAlgorithm: 1 })) },
      { name: 'Ed25519 signature claiming ECDSA', signature: armor(sign(ed, { publicKeyAlgorithm: 19 })) },
      { name: 'Ed25519 signature claiming algorithm 27', signature: armor(sign(ed, { publicKeyAlgorithm: 27 })) },
      {
        name: 'Ed25519 signature naming the RSA key as issuer',
        signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(rsa.fingerprint)], unhashed: [sub.issuerKeyId(rsa.fingerprint)] })),
      },
      {
        name: 'Ed25519 signature naming the P-384 key as issuer',
        signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(p384.fingerprint)], unhashed: [sub.issuerKeyId(p384.fingerprint)] })),
      },
      {
        name: 'RSA signature value plus the modulus',
        signature: armor(sign(rsa, { mapMpis: (mpis, key) => [fromBig(toBig(mpis[0] ?? new Uint8Array()) + (key.modulus ?? 0n))] })),
      },
      { name: 'RSA signature value zero', signature: armor(sign(rsa, { mapMpis: () => [new Uint8Array([0])] })) },
      {
        name: 'Ed25519 with S replaced by S + L',
        signature: armor(sign(ed, { mapMpis: ([r = new Uint8Array(), s = new Uint8Array()]) => [r, littleEndian(fromLittleEndian(s) + ed25519Order)] })),
      },
      {
        name: 'Ed25519 with S replaced by S + 2L',
        signature: armor(sign(ed, { mapMpis: ([r = new Uint8Array(), s = new Uint8Array()]) => [r, littleEndian(fromLittleEndian(s) + 2n * ed25519Order)] })),
      },
      { name: 'Ed25519 with one MPI missing', signature: armor(sign(ed, { mapMpis: ([r = new Uint8Array()]) => [r] })) },
      { name: 'Ed25519 with a third MPI', signature: armor(sign(ed, { mapMpis: (mpis) => [...mpis, new Uint8Array([1])] })) },
    );
    expect(await judge(cases)).toEqual([]);
  });

  it('issuer and time subpackets where they are missing or misplaced', async () => {
    const fpr = ed.fingerprint;
    expect(
      await judge([
        { name: 'no issuer at all', signature: armor(sign(ed, { hashed: [sub.created(signedAt)], unhashed: [] })) },
        { name: 'issuer key ID only (unhashed)', signature: armor(sign(ed, { hashed: [sub.created(signedAt)], unhashed: [sub.issuerKeyId(fpr)] })) },
        { name: 'issuer fingerprint only (hashed)', signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(fpr)], unhashed: [] })) },
        { name: 'issuer fingerprint only (unhashed)', signature: armor(sign(ed, { hashed: [sub.created(signedAt)], unhashed: [sub.issuerFingerprint(fpr)] })) },
        {
          name: 'unknown fingerprint, right key ID',
          signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(new Uint8Array(20).fill(9))], unhashed: [sub.issuerKeyId(fpr)] })),
        },
        { name: 'no creation time', signature: armor(sign(ed, { hashed: [sub.issuerFingerprint(fpr)] })) },
        {
          name: 'creation time only in the unhashed area',
          signature: armor(sign(ed, { hashed: [sub.issuerFingerprint(fpr)], unhashed: [sub.created(signedAt), sub.issuerKeyId(fpr)] })),
        },
        { name: 'expiry only in the unhashed area', signature: armor(sign(ed, { unhashed: [sub.issuerKeyId(fpr), sub.expires(60)] })) },
        { name: 'expired (hashed)', signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(fpr), sub.expires(60)] })) },
        { name: 'expiry zero means never', signature: armor(sign(ed, { hashed: [sub.created(signedAt), sub.issuerFingerprint(fpr), sub.expires(0)] })) },
        { name: 'made before the key existed', signature: armor(sign(ed, { createdAt: now - 11 * day })) },
        { name: 'made in the future', signature: armor(sign(ed, { createdAt: now + day })) },
      ]),
    ).toEqual([]);
  });

  it('armor and packet framing variants', async () => {
    const good = sign(ed);
    const marker = packet(10, new Uint8Array(Buffer.from('PGP')));
    const userId = packet(13, new Uint8Array(Buffer.from('x <x@example.com>')));
    const opaque = (await edSecretHome.gpg(['-u', edFingerprint, '--armor', '--sign'], { input: commitPayload, at: signedAt })).stdout.toString();
    const oldFormat = concat([new Uint8Array([0x88, good.length - 2]), good.subarray(2)]);
    expect(
      await judge([
        { name: 'armor checksum wrong', signature: armor(good, { crc: 'bad' }) },
        { name: 'armor without checksum', signature: armor(good, { crc: 'none' }) },
        { name: 'armor headers', signature: armor(good, { headers: ['Version: GnuPG v2', 'Comment: hello'] }) },
        { name: 'armor with CRLF line ends', signature: armor(good, { eol: '\r\n' }) },
        { name: 'text around the armor', signature: `some text\n${armor(good)}more text\n` },
        { name: 'armor labelled PGP MESSAGE', signature: armor(good, { label: 'MESSAGE' }) },
        { name: 'armor without END line', signature: armor(good).replace(/-----END PGP SIGNATURE-----\n$/, '') },
        { name: 'empty armor', signature: armor(new Uint8Array()) },
        { name: 'no armor at all', signature: 'not a signature' },
        { name: 'old-format packet header', signature: armor(oldFormat) },
        { name: 'marker packet before the signature', signature: armor(concat([marker, good])) },
        { name: 'user ID packet after the signature', signature: armor(concat([good, userId])) },
        { name: 'the same signature twice', signature: armor(concat([good, good])) },
        { name: 'signature packet cut short', signature: armor(good.subarray(0, good.length - 10)) },
        { name: 'trailing garbage byte', signature: armor(concat([good, new Uint8Array([0x00])])) },
        { name: 'opaque signed message given as the signature', signature: opaque },
        { name: 'base64 after the padding', signature: withPadding(good, (lines) => [...lines.slice(0, -1), `${lines.at(-1) ?? ''}QUJD`]) },
        { name: 'base64 line after the padded line', signature: withPadding(good, (lines) => [...lines, 'QUJD']) },
        { name: 'padding removed', signature: withPadding(good, (lines) => [...lines.slice(0, -1), (lines.at(-1) ?? '').replace(/=+$/, '')]) },
        { name: 'stray characters in the body', signature: armor(good).replace(/\n([A-Za-z0-9+/]{10})/, '\n$1!*') },
      ]),
    ).toEqual([]);
  });

  it('signing subkeys without a valid back-signature', async () => {
    const cases: Case[] = [];
    for (const name of ['intact', 'missing', 'bad'] as const) {
      const { world: target, key } = backsig[name];
      const signature = armor(craftSignaturePacket(key, commitPayload, { createdAt: signedAt }));
      cases.push({ name: `back-signature ${name}`, signature, in: target });
      cases.push({ name: `back-signature ${name}, tampered payload`, signature, payload: tamper(commitPayload), in: target });
    }
    expect(await judge(cases)).toEqual([]);
  });
});
