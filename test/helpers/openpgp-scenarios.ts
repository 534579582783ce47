import { GpgHome } from './openpgp-gpg.ts';

/**
 * Keys and signatures made by real gpg, one GNUPGHOME per scenario (so they can be made in
 * parallel), at faked times so that expiry is deterministic relative to `now`.
 */

export interface SignatureCase {
  name: string;
  signature: string;
  payload: Uint8Array;
  /** Verification time, seconds. */
  at: number;
  /** Where openpgp.js deliberately answers otherwise than gpg (documented in verify-openpgpjs.ts). */
  openpgpJsDiffers?: string;
}

export interface Scenario {
  /** Public keys to put in the registry and the verifying gpg's keyring. */
  publicKeys: string[];
  fingerprints: string[];
  cases: SignatureCase[];
  homes: GpgHome[];
}

export const day = 86_400;

export const commitPayload = new TextEncoder().encode(
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n' +
    'parent 3f786850e387550fdab836ed7e6dc881de23001b\n' +
    'author Alice Example <alice@example.com> 1700000000 +0100\n' +
    'committer Alice Example <alice@example.com> 1700000000 +0100\n' +
    '\n' +
    'Add the release checklist\n\nSigned-off-by: Alice Example <alice@example.com>\n',
);

export function tamper(payload: Uint8Array): Uint8Array {
  const copy = new Uint8Array(payload);
  copy[copy.length - 2] = (copy[copy.length - 2] ?? 0) ^ 0x01;
  return copy;
}

type Builder = (now: number) => Promise<Scenario>;

function single(name: string, algorithm: string, options: { digest?: string; differs?: string } = {}): Builder {
  return async (now) => {
    const home = await GpgHome.create();
    const email = `${name}@example.com`;
    const fingerprint = await home.generate(`${name} signer <${email}>`, algorithm, 'sign', '0', now - 10 * day);
    const signature = await home.sign(fingerprint, commitPayload, { at: now - 3600, ...(options.digest ? { digest: options.digest } : {}) });
    return {
      publicKeys: [await home.exportPublic(fingerprint)],
      fingerprints: [fingerprint],
      homes: [home],
      cases: [
        {
          name: `${name}${options.digest ? ` ${options.digest}` : ''}: good`,
          signature,
          payload: commitPayload,
          at: now,
          ...(options.differs ? { openpgpJsDiffers: options.differs } : {}),
        },
        { name: `${name}${options.digest ? ` ${options.digest}` : ''}: tampered payload`, signature, payload: tamper(commitPayload), at: now },
      ],
    };
  };
}

export async function buildScenarios(now: number): Promise<Scenario[]> {
  const builders: Builder[] = [
    single('rsa2048', 'rsa2048'),
    single('rsa4096', 'rsa4096'),
    single('ed25519', 'ed25519'),
    single('p256', 'nistp256'),
    single('p384', 'nistp384'),
    single('p521', 'nistp521'),
    single('rsasha1', 'rsa2048', { digest: 'SHA1' }),
    // DSA keys node:crypto cannot load from JWK: their signatures take the openpgp.js path.
    single('dsa2048', 'dsa2048'),
    single('dsa3072', 'dsa3072'),
    single('edsha1', 'ed25519', { digest: 'SHA1', differs: 'openpgp.js refuses EdDSA over a hash shorter than 256 bits; gpg 2.2 accepts SHA-1' }),
    certOnlyWithSigningSubkey,
    expiringKey,
    revokedPrimary,
    revokedSubkey,
    nonSigningSubkey,
    expiringSignature,
    textMode,
    twoSignatures,
    expiredSubkey,
    changedExpiry,
  ];
  return Promise.all(builders.map((build) => build(now)));
}

async function certOnlyWithSigningSubkey(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const primary = await home.generate('Cert Only <certonly@example.com>', 'ed25519', 'cert', '0', now - 10 * day);
  const subkey = await home.addSubkey(primary, 'ed25519', 'sign', '0', now - 9 * day);
  const bySubkey = await home.sign(`${subkey}!`, commitPayload, { at: now - 3600 });
  // Forcing the certification-only primary key to sign: gpg refuses, so there is no such signature to make.
  return {
    publicKeys: [await home.exportPublic(primary)],
    fingerprints: [primary],
    homes: [home],
    cases: [
      { name: 'cert-only primary, signing subkey: good', signature: bySubkey, payload: commitPayload, at: now },
      { name: 'cert-only primary, signing subkey: tampered', signature: bySubkey, payload: tamper(commitPayload), at: now },
    ],
  };
}

async function expiringKey(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const created = now - 10 * day;
  const primary = await home.generate('Expiring <expiring@example.com>', 'ed25519', 'sign', '5d', created);
  const signature = await home.sign(primary, commitPayload, { at: created + day });
  return {
    publicKeys: [await home.exportPublic(primary)],
    fingerprints: [primary],
    homes: [home],
    cases: [
      { name: 'key expired now, signed while valid', signature, payload: commitPayload, at: now },
      { name: 'same signature checked while the key was valid', signature, payload: commitPayload, at: created + 2 * day },
      { name: 'expired key, tampered payload', signature, payload: tamper(commitPayload), at: now },
      { name: 'checked one second before the key expiry instant', signature, payload: commitPayload, at: created + 5 * day - 1 },
      { name: 'checked at the key expiry instant', signature, payload: commitPayload, at: created + 5 * day },
      { name: 'checked one second after the key expiry instant', signature, payload: commitPayload, at: created + 5 * day + 1 },
      { name: 'checked before the key existed', signature, payload: commitPayload, at: created - day },
      { name: 'checked after the key existed but before the signature was made', signature, payload: commitPayload, at: created + 3600 },
    ],
  };
}

async function revokedPrimary(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const primary = await home.generate('Revoked <revoked@example.com>', 'rsa2048', 'sign', '0', now - 10 * day);
  const signature = await home.sign(primary, commitPayload, { at: now - 5 * day });
  await home.revokePrimary(primary);
  return {
    publicKeys: [await home.exportPublic(primary)],
    fingerprints: [primary],
    homes: [home],
    cases: [
      { name: 'revoked primary key', signature, payload: commitPayload, at: now },
      { name: 'revoked primary key, tampered payload', signature, payload: tamper(commitPayload), at: now },
    ],
  };
}

async function revokedSubkey(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const primary = await home.generate('Sub Revoked <subrevoked@example.com>', 'ed25519', 'cert', '0', now - 10 * day);
  const first = await home.addSubkey(primary, 'ed25519', 'sign', '0', now - 10 * day);
  const second = await home.addSubkey(primary, 'nistp256/ecdsa', 'sign', '0', now - 10 * day);
  const byFirst = await home.sign(`${first}!`, commitPayload, { at: now - 5 * day });
  const bySecond = await home.sign(`${second}!`, commitPayload, { at: now - 5 * day });
  await home.revokeSubkey(primary, 1);
  return {
    publicKeys: [await home.exportPublic(primary)],
    fingerprints: [primary],
    homes: [home],
    cases: [
      { name: 'revoked signing subkey', signature: byFirst, payload: commitPayload, at: now },
      { name: 'sibling of a revoked subkey', signature: bySecond, payload: commitPayload, at: now },
    ],
  };
}

async function nonSigningSubkey(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const primary = await home.generate('Usage Changed <usage@example.com>', 'ed25519', 'sign', '0', now - 10 * day);
  const subkey = await home.addSubkey(primary, 'ed25519', 'sign', '0', now - 10 * day);
  const signature = await home.sign(`${subkey}!`, commitPayload, { at: now - 5 * day });
  // A newer binding signature takes the signing flag away (gpg --edit-key change-usage).
  await home.makeSubkeyAuthOnly(primary, 1);
  return {
    publicKeys: [await home.exportPublic(primary)],
    fingerprints: [primary],
    homes: [home],
    cases: [
      { name: 'subkey no longer certified for signing', signature, payload: commitPayload, at: now },
      { name: 'subkey no longer certified for signing, tampered payload', signature, payload: tamper(commitPayload), at: now },
    ],
  };
}

async function expiringSignature(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const primary = await home.generate('Sig Expiry <sigexpiry@example.com>', 'ed25519', 'sign', '0', now - 10 * day);
  const signedAt = now - 5 * day;
  const signature = await home.sign(primary, commitPayload, { at: signedAt, sigExpire: '1d' });
  const expiry = signedAt + day;
  return {
    publicKeys: [await home.exportPublic(primary)],
    fingerprints: [primary],
    homes: [home],
    cases: [
      { name: 'signature expired', signature, payload: commitPayload, at: now },
      { name: 'signature one second before its expiry', signature, payload: commitPayload, at: expiry - 1 },
      { name: 'signature at its expiry instant', signature, payload: commitPayload, at: expiry },
      { name: 'expired signature, tampered payload', signature, payload: tamper(commitPayload), at: now },
    ],
  };
}

async function textMode(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const primary = await home.generate('Text Mode <textmode@example.com>', 'ed25519', 'sign', '0', now - 10 * day);
  const signature = await home.sign(primary, commitPayload, { at: now - 3600, textmode: true });
  const text = new TextDecoder().decode(commitPayload);
  const crlf = new TextEncoder().encode(text.replace(/\n/g, '\r\n'));
  const doubleCr = new TextEncoder().encode(text.replace(/\n/g, '\r\r\n'));
  const trailingSpace = new TextEncoder().encode(text.replace(/\n/g, ' \n'));
  const noFinalNewline = commitPayload.subarray(0, commitPayload.length - 1);
  const rsaHome = await GpgHome.create();
  const rsa = await rsaHome.generate('Text Rsa <textrsa@example.com>', 'rsa3072', 'sign', '0', now - 10 * day);
  const rsaSignature = await rsaHome.sign(rsa, crlf, { at: now - 3600, textmode: true });
  return {
    publicKeys: [await home.exportPublic(primary), await rsaHome.exportPublic(rsa)],
    fingerprints: [primary, rsa],
    homes: [home, rsaHome],
    cases: [
      { name: 'canonical-text signature', signature, payload: commitPayload, at: now },
      { name: 'canonical-text signature, CRLF payload', signature, payload: crlf, at: now },
      {
        name: 'canonical-text signature, CR CR LF payload',
        signature,
        payload: doubleCr,
        at: now,
        openpgpJsDiffers: 'openpgp.js turns the first CR of CR CR LF into a line ending; gpg drops all CRs before LF',
      },
      { name: 'canonical-text signature, trailing spaces added', signature, payload: trailingSpace, at: now },
      { name: 'canonical-text signature, final newline dropped', signature, payload: noFinalNewline, at: now },
      { name: 'canonical-text RSA signature made over CRLF, LF payload', signature: rsaSignature, payload: commitPayload, at: now },
    ],
  };
}

async function twoSignatures(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const first = await home.generate('Two One <twoone@example.com>', 'ed25519', 'sign', '0', now - 10 * day);
  const second = await home.generate('Two Two <twotwo@example.com>', 'nistp256', 'sign', '0', now - 10 * day);
  const signature = await home.sign([first, second], commitPayload, { at: now - 3600 });
  return {
    publicKeys: [await home.exportPublic(first), await home.exportPublic(second)],
    fingerprints: [first, second],
    homes: [home],
    cases: [{ name: 'two signatures in one block', signature, payload: commitPayload, at: now }],
  };
}

async function expiredSubkey(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const created = now - 10 * day;
  const primary = await home.generate('Sub Expiry <subexpiry@example.com>', 'ed25519', 'cert', '0', created);
  const subkey = await home.addSubkey(primary, 'ed25519', 'sign', '3d', created);
  const signature = await home.sign(`${subkey}!`, commitPayload, { at: created + day });
  const primaryExpiring = await home.generate('Primary Expiry <primaryexpiry@example.com>', 'ed25519', 'cert', '4d', created);
  const longSubkey = await home.addSubkey(primaryExpiring, 'nistp384/ecdsa', 'sign', '0', created);
  const byLongSubkey = await home.sign(`${longSubkey}!`, commitPayload, { at: created + day });
  return {
    publicKeys: [await home.exportPublic(primary), await home.exportPublic(primaryExpiring)],
    fingerprints: [primary, primaryExpiring],
    homes: [home],
    cases: [
      { name: 'expired signing subkey', signature, payload: commitPayload, at: now },
      { name: 'signing subkey while valid', signature, payload: commitPayload, at: created + 2 * day },
      { name: 'unexpiring subkey of an expired primary key', signature: byLongSubkey, payload: commitPayload, at: now },
    ],
  };
}

async function changedExpiry(now: number): Promise<Scenario> {
  const home = await GpgHome.create();
  const created = now - 10 * day;
  // Expired after 2 days, then (while expired) given a new self-signature without expiry.
  const extended = await home.generate('Extended <extended@example.com>', 'ed25519', 'sign', '2d', created);
  const byExtended = await home.sign(extended, commitPayload, { at: created + day });
  await home.gpg(['--quick-set-expire', extended, '0'], { at: created + 5 * day });
  // Made without expiry, later shortened so that it has expired by now.
  const shortened = await home.generate('Shortened <shortened@example.com>', 'ed25519', 'cert', '0', created);
  const subkey = await home.addSubkey(shortened, 'ed25519', 'sign', '0', created);
  const bySubkey = await home.sign(`${subkey}!`, commitPayload, { at: created + day });
  await home.gpg(['--quick-set-expire', shortened, '1d', subkey], { at: created + 2 * day });
  return {
    publicKeys: [await home.exportPublic(extended), await home.exportPublic(shortened)],
    fingerprints: [extended, shortened],
    homes: [home],
    cases: [
      { name: 'expired key whose expiry was later removed', signature: byExtended, payload: commitPayload, at: now },
      { name: 'same key checked while it was expired', signature: byExtended, payload: commitPayload, at: created + 3 * day },
      { name: 'subkey whose expiry was later shortened into the past', signature: bySubkey, payload: commitPayload, at: now },
    ],
  };
}

/** A key the registry does not hold. */
export async function unknownKeyCase(now: number): Promise<{ home: GpgHome; case: SignatureCase }> {
  const home = await GpgHome.create();
  const fingerprint = await home.generate('Stranger <stranger@example.com>', 'ed25519', 'sign', '0', now - 10 * day);
  const signature = await home.sign(fingerprint, commitPayload, { at: now - 3600 });
  return { home, case: { name: 'key not in the registry', signature, payload: commitPayload, at: now } };
}
