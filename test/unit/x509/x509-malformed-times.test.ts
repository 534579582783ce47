/**
 * Fixed cases beside x509-properties.test.ts: inputs on which verification threw ("Wrong input
 * string for conversion", asn1js's GeneralizedTime decoder) instead of returning a verdict, and
 * the strict time reading that replaced asn1js's lenient one. Each signature case threw before
 * the fix; each must now be an E verdict naming the field.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as asn1js from 'asn1js';
import { sigstoreCertificateProblem } from '../../../src/core/sigstore/gitsign.ts';
import { strictTime } from '../../../src/core/x509/ber-read.ts';
import { readSignedMessage } from '../../../src/core/x509/cms.ts';
import type { SignatureVerdict } from '../../../src/core/verdict.ts';
import { verifySignature, type KeyRegistries } from '../../../src/core/verify-object.ts';
import { tempDir } from '../../helpers/git.ts';
import { armorSignedMessage, dearmorSignedMessage, makeCmsFixture } from '../../helpers/cms-signatures.ts';

const PAYLOAD = Buffer.from(
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1760000000 +0000\ncommitter A <a@example.com> 1760000000 +0000\n\ntimes\n',
);
const NOW = new Date();
const dir = tempDir('x509-times');
let registries: KeyRegistries;
const der: Record<'x509' | 'gitsign', Buffer> = { x509: Buffer.alloc(0), gitsign: Buffer.alloc(0) };
/** A gitsign signature whose checkpoint signature's base64 ends in padding (it has spare bits). */
let paddedGitsign: Buffer | undefined;
const CHECKPOINT_LINE = '\u00e2\u0080\u0094 rekor.local '; // the em dash as latin1 bytes

const armor = armorSignedMessage;
const dearmor = dearmorSignedMessage;

beforeAll(async () => {
  const fixture = await makeCmsFixture(dir.path, 'times', PAYLOAD);
  const sigstore = fixture.sigstore;
  registries = fixture.registries;
  Object.assign(der, fixture.der);
  // ECDSA signatures vary in length, so about half the checkpoints end in '=': sign until one does.
  for (let attempt = 0; attempt < 30 && !paddedGitsign; attempt++) {
    const candidate = dearmor(await sigstore.sign(PAYLOAD));
    const text = candidate.toString('latin1');
    const end = text.indexOf('\n', text.indexOf(CHECKPOINT_LINE) + CHECKPOINT_LINE.length);
    if (text[end - 1] === '=') paddedGitsign = candidate;
  }
}, 60_000);
afterAll(() => dir.remove());

async function verdictOf(bytes: Uint8Array): Promise<SignatureVerdict> {
  return verifySignature(registries, PAYLOAD, { kind: 'x509', armored: armor(bytes) }, false, { now: NOW, sshTime: NOW, signerTime: NOW });
}

/** Replaces the `occurrence`-th element starting with `prefix` (tag, length, …) by `tag` and `text` of the same length. */
function retime(bytes: Buffer, prefix: string, tag: number, text: string, occurrence = 0): Buffer {
  const needle = Buffer.from(prefix, 'hex');
  let at = -1;
  for (let i = 0; i <= occurrence; i++) at = bytes.indexOf(needle, at + 1);
  if (at === -1) throw new Error(`test set-up: ${prefix} not found`);
  const length = bytes[at + needle.length - 1]!;
  if (text.length !== length) throw new Error(`test set-up: '${text}' is not ${length} bytes`);
  const copy = Buffer.from(bytes);
  copy[at + needle.length - 2] = tag;
  copy.write(text, at + needle.length, 'latin1');
  return copy;
}

// The signingTime attribute: its OID, the SET, then the time (UTCTime, 13 bytes).
const SIGNING_TIME = '06092a864886f70d01090531 0f 17 0d'.replace(/ /g, '');
// A Validity: SEQUENCE of two UTCTimes; the notAfter is the second time in it.
const VALIDITY_NOT_AFTER = (bytes: Buffer): string => {
  const at = bytes.indexOf(Buffer.from('301e170d', 'hex'));
  return bytes.subarray(at + 17, at + 19).toString('hex');
};
/** Where the value inside an extension's OCTET STRING starts (after the OID and any critical flag). */
function extensionInner(bytes: Buffer, oidHex: string): number {
  let at = bytes.indexOf(Buffer.from(oidHex, 'hex'));
  if (at === -1) throw new Error(`test set-up: extension ${oidHex} not found`);
  at += oidHex.length / 2;
  if (bytes[at] === 0x01) at += 3; // critical BOOLEAN
  if (bytes[at] !== 0x04) throw new Error('test set-up: extension value is not an OCTET STRING');
  return at + 2;
}
/** The element inside that OCTET STRING re-tagged GeneralizedTime, its content `X`s of the same length. */
function extensionAsTime(bytes: Buffer, oidHex: string): Buffer {
  const at = extensionInner(bytes, oidHex);
  const copy = Buffer.from(bytes);
  copy[at] = 0x18;
  copy.fill('X', at + 2, at + 2 + copy[at + 1]!);
  return copy;
}
const KEY_USAGE = '0603551d0f';
const SUBJECT_KEY_ID = '0603551d0e';

describe('malformed times in CMS signatures are E verdicts, not exceptions', () => {
  for (const kind of ['x509', 'gitsign'] as const) {
    it(`${kind}: an unconvertible GeneralizedTime as signingTime`, async () => {
      const mutant = retime(der[kind], SIGNING_TIME, 0x18, '261204155918X');
      const verdict = await verdictOf(mutant);
      expect(verdict).toMatchObject({ status: 'E', reason: 'malformed_signature' });
      expect(verdict.detail).toMatch(/Wrong input string for conversion/);
    });

    it(`${kind}: an unconvertible GeneralizedTime as the certificate's notAfter`, async () => {
      const original = der[kind];
      const notAfter = VALIDITY_NOT_AFTER(original);
      expect(notAfter).toBe('170d');
      const at = original.indexOf(Buffer.from('301e170d', 'hex')) + 17;
      const mutant = Buffer.from(original);
      mutant[at] = 0x18;
      mutant.write('261204155918X', at + 2, 'latin1');
      const verdict = await verdictOf(mutant);
      expect(verdict).toMatchObject({ status: 'E', reason: 'malformed_signature' });
    });

    it(`${kind}: a GeneralizedTime as keyUsage's value (pkijs decodes it lazily, in a getter)`, async () => {
      const mutant = extensionAsTime(der[kind], KEY_USAGE);
      expect(readBerThrows(mutant)).toBe(false); // the outer decode does not reach it: only the getter does
      const verdict = await verdictOf(mutant);
      expect(verdict).toMatchObject({ status: 'E', reason: 'malformed_signature' });
      expect(verdict.detail).toMatch(/extension 2\.5\.29\.15 is unreadable: .*Wrong input string/);
    });

    it(`${kind}: a GeneralizedTime in an extension signet keeps as bytes is a verdict, never G`, async () => {
      const verdict = await verdictOf(extensionAsTime(der[kind], SUBJECT_KEY_ID));
      expect(['E', 'U', 'B']).toContain(verdict.status);
    });

    it(`${kind}: a UTCTime notAfter in no valid form (asn1js made it a date in 1899)`, async () => {
      const original = der[kind];
      const at = original.indexOf(Buffer.from('301e170d', 'hex')) + 17;
      const mutant = Buffer.from(original);
      mutant.write('zzzzzzzzzzzzz', at + 2, 'latin1');
      const verdict = await verdictOf(mutant);
      expect(verdict).toMatchObject({ status: 'E', reason: 'malformed_signature' });
      expect(verdict.detail).toMatch(/notAfter is malformed/);
    });
  }

  // Anyone can make a certificate carrying Fulcio's extensions and sign with it: the issuer
  // extension's bytes are the signer's, and were decoded outside any guard.
  it.each([
    ['1.3.6.1.4.1.57264.1.8', 'DER:18:01:41', /1\.3\.6\.1\.4\.1\.57264\.1\.8 is not decodable \(Wrong input string/],
    ['1.3.6.1.4.1.57264.1.1', 'DER:ff:fe:41', /1\.3\.6\.1\.4\.1\.57264\.1\.1 is not UTF-8/],
  ])('a self-made certificate whose Fulcio issuer extension %s is unreadable', async (oid, value, detail) => {
    const key = `${dir.path}/self-${oid}.key`;
    const certificate = `${dir.path}/self-${oid}.pem`;
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], { stdio: 'ignore' });
    execFileSync('openssl', ['req', '-new', '-x509', '-key', key, '-out', certificate, '-days', '1', '-subj', '/CN=mallory', '-addext', `${oid}=${value}`], {
      stdio: 'ignore',
    });
    const signature = execFileSync(
      'openssl',
      ['cms', '-sign', '-binary', '-md', 'sha256', '-nosmimecap', '-signer', certificate, '-inkey', key, '-outform', 'DER'],
      { input: PAYLOAD, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const verdict = await verdictOf(signature);
    expect(verdict).toMatchObject({ status: 'E', reason: 'malformed_signature' });
    expect(verdict.detail).toMatch(detail);
  });

  // The checkpoint's signature line names its log; sigstore-js matched that name as a regular
  // expression (found by the property test: a flipped bit in the name stayed G).
  it.each([
    ['rekor.loca|', /which is not a log name/], // as a regexp: matches any URL
    ['rekor.loca(', /which is not a log name/], // as a regexp: a SyntaxError thrown out of the verifier
    ['rekor.loca.', /not a log of the trusted root/], // as a regexp: matches rekor.local
  ])('gitsign: a checkpoint signed in the name of %j', async (name, detail) => {
    const line = Buffer.from('\u2014 rekor.local ', 'utf8');
    const at = der.gitsign.indexOf(line);
    expect(at).toBeGreaterThan(0);
    const mutant = Buffer.from(der.gitsign);
    mutant.write(name, at + line.length - 1 - name.length, 'latin1');
    const verdict = await verdictOf(mutant);
    expect(verdict).toMatchObject({ status: 'E', reason: 'invalid' });
    expect(verdict.detail).toMatch(detail);
  });

  it('gitsign: a checkpoint signature in non-canonical base64 (same bytes, other text)', async () => {
    expect(paddedGitsign).toBeDefined();
    const original = paddedGitsign!;
    expect((await verdictOf(original)).status).toBe('G');
    const text = original.toString('latin1');
    const end = text.indexOf('\n', text.indexOf(CHECKPOINT_LINE) + CHECKPOINT_LINE.length);
    const last = end - (text[end - 2] === '=' ? 3 : 2); // the last character before the padding
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const mutant = Buffer.from(original);
    mutant.write(alphabet[alphabet.indexOf(text[last]!) ^ 1]!, last, 'latin1'); // a spare bit
    const signatureOf = (bytes: Buffer): string => {
      const t = bytes.toString('latin1');
      const start = t.indexOf(CHECKPOINT_LINE) + CHECKPOINT_LINE.length;
      return Buffer.from(t.slice(start, t.indexOf('\n', start)), 'base64').toString('hex');
    };
    expect(signatureOf(mutant)).toBe(signatureOf(original)); // the same signature bytes
    const verdict = await verdictOf(mutant);
    expect(verdict).toMatchObject({ status: 'E', reason: 'invalid' });
    expect(verdict.detail).toMatch(/not canonical base64/);
  });

  it('the unmutated signatures are G (the cases above are not vacuous)', async () => {
    expect((await verdictOf(der.x509)).status).toBe('G');
    expect((await verdictOf(der.gitsign)).status).toBe('G');
  });

  it('a Fulcio certificate time that @sigstore/core cannot read is reported, not thrown inside the verifier', () => {
    const certificate = Buffer.from(readSignedMessage(armor(der.gitsign)).certificates[0]!.der);
    expect(sigstoreCertificateProblem(certificate)).toBeUndefined();
    const at = certificate.indexOf(Buffer.from('301e170d', 'hex')) + 17;
    const mutant = Buffer.from(certificate);
    mutant.write('261204155918+', at + 2, 'latin1');
    expect(sigstoreCertificateProblem(mutant)).toMatch(/invalid time/);
  });
});

function readBerThrows(bytes: Uint8Array): boolean {
  try {
    asn1js.fromBER(bytes);
    return false;
  } catch {
    return true;
  }
}

describe('strictTime reads only the RFC 5280 forms', () => {
  const utc = (text: string): unknown => strictTime(asn1js.fromBER(Buffer.concat([Buffer.from([0x17, text.length]), Buffer.from(text, 'latin1')])).result);
  const generalized = (text: string): unknown => {
    try {
      return strictTime(asn1js.fromBER(Buffer.concat([Buffer.from([0x18, text.length]), Buffer.from(text, 'latin1')])).result);
    } catch {
      return 'asn1js threw';
    }
  };

  it('reads the two valid forms', () => {
    expect(utc('261204155918Z')).toEqual(new Date('2026-12-04T15:59:18Z'));
    expect(utc('500101000000Z')).toEqual(new Date('1950-01-01T00:00:00Z'));
    expect(generalized('20261204155918Z')).toEqual(new Date('2026-12-04T15:59:18Z'));
    expect(generalized('00050301000000Z')).toEqual(new Date('0005-03-01T00:00:00Z'));
  });

  it.each([
    ['utc', ''],
    ['utc', 'Z'],
    ['utc', '2612041559Z'], // no seconds
    ['utc', '261204155918+0100'],
    ['utc', '261304155918Z'], // month 13 (asn1js rolls it over)
    ['utc', '260230155918Z'], // 30 February
    ['utc', '261204245918Z'],
    ['utc', '261204155960Z'],
    ['utc', 'x261204155918Z'], // asn1js's pattern is not anchored
    ['utc', '20261204155918Z'],
    ['generalized', '20261204155918.5Z'], // fraction
    ['generalized', '20261204155918+0100'],
    ['generalized', '20261204155918'], // local time
    ['generalized', '261204155918Z'],
    ['generalized', `${'9'.repeat(120)}Z`],
  ])('refuses %s time %j', (kind, text) => {
    const read = kind === 'utc' ? utc(text) : generalized(text);
    expect(read).not.toBeInstanceOf(Date);
  });
});
