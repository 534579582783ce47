/**
 * Properties (fast-check): whatever happens to a CMS signature (X.509 or gitsign) or to the
 * certificate inside it — bytes flipped, cut, added — verification returns a verdict (never
 * throws) and says G only when an independent peer agrees (`openssl cms -verify`, X.509) or
 * when every byte signet relies on (algorithms, signature, signed attributes, certificate,
 * log entry) is the original's, i.e. the mutation hit a field no signature covers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as asn1js from 'asn1js';
import { readLogEntry } from '../../../src/core/sigstore/log-entry-proto.ts';
import { readSignedMessage } from '../../../src/core/x509/cms.ts';
import { verifySignature, type KeyRegistries } from '../../../src/core/verify-object.ts';
import { tempDir } from '../../helpers/git.ts';
import { armorSignedMessage, dearmorSignedMessage, makeCmsFixture } from '../../helpers/cms-signatures.ts';
import type { TestCa } from '../../helpers/x509-gpgsm.ts';

const PAYLOAD = Buffer.from(
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1760000000 +0000\ncommitter A <a@example.com> 1760000000 +0000\n\nproperty\n',
);
const NOW = new Date();
const dir = tempDir('x509-props');
let ca: TestCa;
let registries: KeyRegistries;
const der: Record<'x509' | 'gitsign', Buffer> = { x509: Buffer.alloc(0), gitsign: Buffer.alloc(0) };

const armor = armorSignedMessage;
const dearmor = dearmorSignedMessage;

beforeAll(async () => {
  const fixture = await makeCmsFixture(dir.path, 'props', PAYLOAD);
  ({ ca, registries } = fixture);
  Object.assign(der, fixture.der);
}, 60_000);
afterAll(() => dir.remove());

async function verdictOf(bytes: Uint8Array): Promise<string> {
  const verdict = await verifySignature(registries, PAYLOAD, { kind: 'x509', armored: armor(bytes) }, false, { now: NOW, sshTime: NOW, signerTime: NOW });
  return verdict.status;
}

function opensslAccepts(bytes: Uint8Array): boolean {
  const sig = join(dir.path, 'mutant.der');
  const content = join(dir.path, 'payload');
  writeFileSync(sig, bytes);
  writeFileSync(content, PAYLOAD);
  return (
    spawnSync(
      'openssl',
      ['cms', '-verify', '-binary', '-inform', 'DER', '-in', sig, '-content', content, '-CAfile', ca.certificate, '-purpose', 'any', '-out', '/dev/null'],
      { stdio: 'ignore' },
    ).status === 0
  );
}

const REKOR = '1.3.6.1.4.1.57264.3.1';

/** The log entry as signet reads it (protobuf has several encodings of one entry: compare meaning). */
function logEntryOf(value: Uint8Array | undefined): string {
  if (!value) return 'none';
  const octets = asn1js.fromBER(value).result as asn1js.OctetString;
  return JSON.stringify(readLogEntry(new Uint8Array(octets.valueBlock.valueHexView)));
}

function checkedBytesUnchanged(originalBytes: Uint8Array, bytes: Uint8Array): boolean {
  try {
    const original = readSignedMessage(armor(originalBytes));
    const mutant = readSignedMessage(armor(bytes));
    const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
      (a === undefined && b === undefined) || (a !== undefined && b !== undefined && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0);
    return (
      original.digestAlgorithm === mutant.digestAlgorithm &&
      original.signatureAlgorithm === mutant.signatureAlgorithm &&
      same(original.signature, mutant.signature) &&
      same(original.signedAttributes, mutant.signedAttributes) &&
      same(original.certificates[0]?.der, mutant.certificates[0]?.der) &&
      logEntryOf(original.unsignedAttributes.get(REKOR)?.[0]) === logEntryOf(mutant.unsignedAttributes.get(REKOR)?.[0])
    );
  } catch {
    return false;
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(original: Buffer, m: Mutation): Buffer {
  const bytes = Buffer.from(original);
  const at = m.at % bytes.length;
  switch (m.kind) {
    case 'flip':
      bytes[at]! ^= 1 << m.bit;
      return bytes;
    case 'set':
      bytes[at] = m.value;
      return bytes;
    case 'cut':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)]);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(m.bytes), bytes.subarray(at)]);
  }
}

describe('mutated CMS signatures never crash and are never G unless a peer agrees', () => {
  it('the unmutated signatures are G (the property below is not vacuous)', async () => {
    expect(await verdictOf(der.x509)).toBe('G');
    expect(await verdictOf(der.gitsign)).toBe('G');
  });

  it('X.509 (openssl-made CMS): G only when openssl cms -verify also accepts', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const mutant = mutate(der.x509, m);
        const status = await verdictOf(mutant);
        // openssl also checks fields no signature covers (SignedData.digestAlgorithms); a G is
        // right when the peer accepts or when every byte signet relies on is the original's.
        if (status === 'G' && !opensslAccepts(mutant) && !checkedBytesUnchanged(der.x509, mutant))
          throw new Error(
            `G but openssl refuses: ${JSON.stringify(m)} at ${m.at % der.x509.length} of ${der.x509.length}: ${der.x509.subarray(Math.max(0, (m.at % der.x509.length) - 8), (m.at % der.x509.length) + 8).toString('hex')}`,
          );
      }),
      { numRuns: 400 },
    );
  });

  it('gitsign: G only when the mutation left every checked byte unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const mutant = mutate(der.gitsign, m);
        const status = await verdictOf(mutant);
        if (status === 'G') expect(checkedBytesUnchanged(der.gitsign, mutant)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('random bytes and a certificate-only blob are verdicts, never G', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
        expect(await verdictOf(bytes)).not.toBe('G');
      }),
      { numRuns: 200 },
    );
    expect(await verdictOf(dearmor(readFileSync(ca.certificate, 'latin1')))).not.toBe('G');
  });
});
