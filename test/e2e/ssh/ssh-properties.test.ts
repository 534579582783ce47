/**
 * Properties (fast-check): whatever happens to a signature on the way (bits flipped, bytes cut
 * or added, armor garbled, random input), verification returns a verdict (never throws) and
 * never says G. A sample of mutants is also shown to ssh-keygen, which must refuse them too.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshRegistry, parseAllowedSigners, verifySshSignature, type SshRegistry } from '../../../src/core/ssh/index.ts';
import type { SignatureVerdict } from '../../../src/core/verdict.ts';
import { armor, dearmorLoosely, fidoSshsig, makeFidoKey } from '../../helpers/ssh-forge.ts';
import { SshKeygen } from '../../helpers/ssh-keygen.ts';

const PAYLOAD = Buffer.from(
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1 +0000\ncommitter A <a@example.com> 1 +0000\n\nproperty\n',
);
const AT = new Date(Date.UTC(2025, 0, 1));
/** The SSHSIG version field (bytes 6-9). OpenSSH accepts versions 0 and 1, so 1 → 0 is no change. */
const VERSION_BYTES = [6, 7, 8, 9];

let keygen: SshKeygen;
let registry: SshRegistry;
const signatures: Record<string, string> = {};

beforeAll(() => {
  keygen = new SshKeygen('ssh-props');
  const lines: string[] = [];
  for (const [name, type, bits] of [
    ['ed25519', 'ed25519'],
    ['ecdsa', 'ecdsa', 256],
    ['rsa', 'rsa', 2048],
  ] as const) {
    const made = keygen.keygen(name, type, bits);
    lines.push(`a@example.com ${made.publicLine}`);
    signatures[name] = keygen.sign(made.privatePath, PAYLOAD);
  }
  const ca = keygen.keygen('ca', 'ed25519');
  lines.push(`*@example.com cert-authority ${ca.publicLine}`);
  const user = keygen.keygen('user', 'ecdsa', 384);
  keygen.run(['-q', '-s', ca.privatePath, '-I', 'user', '-n', 'a@example.com', '-V', '20200101:20300101', `${user.privatePath}.pub`]);
  signatures['certificate'] = keygen.sign(`${user.privatePath}-cert.pub`, PAYLOAD);
  const fido = makeFidoKey('ecdsa');
  lines.push(`a@example.com ${fido.publicLine}`);
  signatures['fido'] = fidoSshsig(fido, PAYLOAD);
  registry = createSshRegistry(parseAllowedSigners(lines.join('\n'), 'allowed_signers'));
  for (const [name, signature] of Object.entries(signatures)) {
    const verdict = verifySshSignature(registry, PAYLOAD, signature, { at: AT });
    if (verdict.status !== 'G') throw new Error(`fixture ${name} is not G: ${JSON.stringify(verdict)}`);
  }
});

afterAll(() => keygen?.remove());

const NAMES = ['ed25519', 'ecdsa', 'rsa', 'certificate', 'fido'];

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'duplicate'; at: number; count: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);

/** The mutated blob, or undefined when the mutation would change nothing that matters. */
function apply(blob: Buffer, m: Mutation): Buffer | undefined {
  const at = m.at % blob.length;
  switch (m.kind) {
    case 'flip': {
      if (VERSION_BYTES.includes(at)) return undefined;
      const out = Buffer.from(blob);
      out.writeUInt8(out.readUInt8(at) ^ (1 << m.bit), at);
      return out;
    }
    case 'set': {
      if (VERSION_BYTES.includes(at) || blob[at] === m.value) return undefined;
      const out = Buffer.from(blob);
      out.writeUInt8(m.value, at);
      return out;
    }
    case 'truncate':
      return blob.subarray(0, at);
    case 'insert':
      return Buffer.concat([blob.subarray(0, at), Buffer.from(m.bytes), blob.subarray(at)]);
    case 'delete':
      return Buffer.concat([blob.subarray(0, at), blob.subarray(at + m.count)]);
    case 'duplicate':
      return Buffer.concat([blob.subarray(0, at + m.count), blob.subarray(at)]);
  }
}

function verdictOf(signature: string, payload: Uint8Array = PAYLOAD): SignatureVerdict {
  const verdict = verifySshSignature(registry, payload, signature, { at: AT, committerEmail: 'a@example.com' });
  expect(verdict.format).toBe('ssh');
  expect(typeof verdict.reason).toBe('string');
  return verdict;
}

describe('mutated signatures never crash and are never G', () => {
  it.each(NAMES)('%s: byte-level mutations of the SSHSIG blob', (name) => {
    const blob = dearmorLoosely(signatures[name] as string);
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
        let mutated: Buffer | undefined = blob;
        for (const m of mutations) mutated = mutated && mutated.length > 0 ? apply(mutated, m) : mutated;
        if (!mutated || mutated.equals(blob)) return;
        expect(verdictOf(armor(mutated)).status).not.toBe('G');
      }),
      { numRuns: 1500 },
    );
  });

  it.each(NAMES)('%s: character-level damage to the armor', (name) => {
    const text = signatures[name] as string;
    const original = dearmorLoosely(text);
    const chars = fc.constantFrom(...'ABCabc+/=019-\n\r\t #!\u00e9'.split(''));
    fc.assert(
      fc.property(fc.nat(), chars, fc.boolean(), (position, char, insert) => {
        const at = position % text.length;
        const mutated = insert ? text.slice(0, at) + char + text.slice(at) : text.slice(0, at) + char + text.slice(at + 1);
        const verdict = verdictOf(mutated);
        // White space moved around inside the body, text after the footer, or version 1 → 0
        // (which OpenSSH accepts too) change nothing.
        if (verdict.status === 'G') {
          const body = mutated.slice(mutated.indexOf('\n') + 1, mutated.indexOf('\n-----END SSH SIGNATURE-----'));
          const decoded = Buffer.from(body.replace(/\s+/g, ''), 'base64');
          expect(decoded.readUInt32BE(6)).toBeLessThanOrEqual(1);
          decoded.writeUInt32BE(1, 6);
          expect(decoded).toEqual(original);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('random text and random bytes are verdicts, not exceptions', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (text) => {
        expect(verdictOf(text).status).toBe('E');
        expect(verdictOf(`-----BEGIN SSH SIGNATURE-----\n${text}\n-----END SSH SIGNATURE-----\n`).status).not.toBe('G');
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(verdictOf(armor(Buffer.concat([Buffer.from('SSHSIG'), bytes]))).status).not.toBe('G');
      }),
      { numRuns: 500 },
    );
  });

  it('any change to the payload is B', () => {
    fc.assert(
      fc.property(fc.constantFrom(...NAMES), fc.nat(), fc.integer({ min: 1, max: 255 }), (name, position, xor) => {
        const payload = Buffer.from(PAYLOAD);
        const at = position % payload.length;
        payload.writeUInt8(payload.readUInt8(at) ^ xor, at);
        expect(verdictOf(signatures[name] as string, payload)).toMatchObject({ status: 'B', reason: 'invalid' });
      }),
      { numRuns: 300 },
    );
  });
});

describe('ssh-keygen agrees on a sample of mutants', () => {
  it('refuses what we refuse; both accept version 0', () => {
    const random = fc.sample(fc.tuple(fc.constantFrom(...NAMES), mutation), { numRuns: 40, seed: 7 });
    let compared = 0;
    for (const [name, m] of random) {
      const mutated = apply(dearmorLoosely(signatures[name] as string), m);
      if (!mutated) continue;
      const signature = armor(mutated);
      expect(verdictOf(signature).status).not.toBe('G');
      expect(keygen.checkNovalidate(PAYLOAD, signature), `${name} ${JSON.stringify(m)}`).toBe(false);
      compared++;
    }
    expect(compared).toBeGreaterThan(30);
    const versionZero = dearmorLoosely(signatures['ed25519'] as string);
    versionZero.writeUInt32BE(0, 6);
    expect(keygen.checkNovalidate(PAYLOAD, armor(versionZero))).toBe(true);
    expect(verdictOf(armor(versionZero)).status).toBe('G');
  });
});
