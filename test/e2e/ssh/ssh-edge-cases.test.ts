/**
 * The corners: what cannot be checked (E), armor and blob details, encodings OpenSSH tolerates,
 * and our documented refusals, each next to what ssh-keygen does with the same bytes.
 */
import { createHash, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshRegistry, parseAllowedSigners, sshFingerprint, verifySshSignature } from '../../../src/core/ssh/index.ts';
import type { SignatureVerdict } from '../../../src/core/verdict.ts';
import { armor, dearmorLoosely, makePlainKey, plainSignature, sshsigBlob, sshsigSignedData, sshString, type PlainKey } from '../../helpers/ssh-forge.ts';
import { SshKeygen } from '../../helpers/ssh-keygen.ts';

const PAYLOAD = Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nedge cases\n');
const AT = new Date(Date.UTC(2025, 5, 1));

let keygen: SshKeygen;
let ed25519: PlainKey;
let good: string;

beforeAll(() => {
  keygen = new SshKeygen('ssh-edge');
  ed25519 = makePlainKey('ed25519');
  good = forged(ed25519);
});
afterAll(() => keygen?.remove());

/** An SSHSIG signature assembled by hand, each part replaceable. */
function forged(
  key: PlainKey,
  parts: { namespace?: string; signedNamespace?: string; hash?: string; rsa?: 'rsa-sha2-512' | 'ssh-rsa'; blob?: Buffer; version?: number } = {},
): string {
  const namespace = parts.namespace ?? 'git';
  const hash = parts.hash ?? 'sha512';
  const data = Buffer.concat([
    Buffer.from('SSHSIG'),
    sshString(parts.signedNamespace ?? namespace),
    sshString(''),
    sshString(hash),
    sshString(createHashOf(hash, PAYLOAD)),
  ]);
  return armor(sshsigBlob(parts.blob ?? key.blob, namespace, hash, plainSignature(key, data, parts.rsa), parts.version));
}

function createHashOf(algorithm: string, data: Uint8Array): Buffer {
  return createHash(algorithm).update(data).digest();
}

function ours(signature: string, allowed = '', namespace?: string): SignatureVerdict {
  const registry = createSshRegistry(parseAllowedSigners(allowed, 'allowed_signers'));
  return verifySshSignature(registry, PAYLOAD, signature, { at: AT, ...(namespace ? { namespace } : {}) });
}

const peer = (signature: string): boolean => keygen.checkNovalidate(PAYLOAD, signature);

describe('what cannot be checked is E, never G', () => {
  it('an unknown key type: E unsupported_algorithm (ssh-keygen cannot read it: B)', () => {
    const blob = Buffer.concat([sshString('ssh-foo@example.com'), sshString(Buffer.alloc(32, 1))]);
    const signature = forged(ed25519, { blob });
    expect(peer(signature)).toBe(false);
    expect(ours(signature)).toMatchObject({ status: 'E', reason: 'unsupported_algorithm' });
  });

  it('a hash algorithm other than sha256/sha512: E unsupported_algorithm (ssh-keygen: B)', () => {
    const signature = forged(ed25519, { hash: 'sha384' });
    expect(peer(signature)).toBe(false);
    expect(ours(signature)).toMatchObject({ status: 'E', reason: 'unsupported_algorithm' });
  });

  it('an RSA signature with SHA-1 (ssh-rsa): E weak_hash (ssh-keygen refuses it too)', () => {
    const rsa = makePlainKey('rsa');
    const sha1 = forged(rsa, { rsa: 'ssh-rsa' });
    expect(peer(sha1)).toBe(false);
    expect(ours(sha1, `a ${rsa.publicLine}`)).toMatchObject({ status: 'E', reason: 'weak_hash' });
    const sha512 = forged(rsa);
    expect(peer(sha512)).toBe(true);
    expect(ours(sha512, `a ${rsa.publicLine}`).status).toBe('G');
  });

  it('a DSA signature made by ssh-keygen: E unsupported_algorithm (ssh-keygen still accepts DSA; we do not)', () => {
    const dsa = keygen.keygen('dsa', 'dsa');
    const signature = keygen.sign(dsa.privatePath, PAYLOAD);
    expect(peer(signature)).toBe(true);
    expect(ours(signature, `a ${dsa.publicLine}`)).toMatchObject({ status: 'E', reason: 'unsupported_algorithm' });
    expect(parseAllowedSigners(`a ${dsa.publicLine}`, 'as')[0]?.keyType).toBe('ssh-dss');
  });

  it('a certificate signed by its CA with SHA-1: E weak_hash (ssh-keygen 9.2 accepts it)', async () => {
    const ca = keygen.keygen('ca-rsa', 'rsa', 2048);
    const user = keygen.keygen('user', 'ed25519');
    keygen.run(['-q', '-s', ca.privatePath, '-t', 'ssh-rsa', '-I', 'sha1', '-n', 'alice', `${user.privatePath}.pub`]);
    const signature = keygen.sign(`${user.privatePath}-cert.pub`, PAYLOAD);
    const allowed = `alice cert-authority ${ca.publicLine}`;
    expect((await keygen.gitVerdict({ payload: PAYLOAD, signature, allowedSigners: allowed, at: AT.getTime() / 1000 })).letter).toBe('G');
    const verdict = ours(signature, allowed);
    expect(verdict).toMatchObject({ status: 'E', reason: 'weak_hash' });
    expect(verdict.detail).toMatch(/CA's signature on the certificate/);
  });

  it('a compressed EC point: E unsupported_algorithm', () => {
    const ecdsa = makePlainKey('ecdsa-p256');
    const point = ecdsa.blob.subarray(ecdsa.blob.length - 65);
    const compressed = Buffer.concat([Buffer.of(2 + ((point[64] as number) & 1)), point.subarray(1, 33)]);
    const blob = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(compressed)]);
    expect(ours(forged(ecdsa, { blob }))).toMatchObject({ status: 'E', reason: 'unsupported_algorithm' });
  });

  it('an RSA key under 1024 bits: E unsupported_algorithm (ssh-keygen cannot read it)', () => {
    const small = makePlainKey('rsa', 768);
    const signature = forged(small);
    expect(peer(signature)).toBe(false);
    expect(ours(signature)).toMatchObject({ status: 'E', reason: 'unsupported_algorithm' });
  });
});

describe('armor, as ssh-keygen reads it', () => {
  const cases: Array<[string, (armored: string) => string, boolean]> = [
    ['no final newline', (a) => a.trimEnd(), true],
    ['text after the footer', (a) => `${a}trailing text\n`, true],
    [
      'one long base64 line',
      (a) =>
        a
          .replace(/\n(?!-----)/g, '')
          .replace('-----BEGIN SSH SIGNATURE-----', '-----BEGIN SSH SIGNATURE-----\n')
          .replace('-----END', '\n-----END'),
      true,
    ],
    ['CRLF line ends', (a) => a.replace(/\n/g, '\r\n'), false],
    ['white space before the header', (a) => ` ${a}`, false],
    ['no footer', (a) => a.replace('-----END SSH SIGNATURE-----', ''), false],
    ['another armor type', (a) => a.replaceAll('SSH SIGNATURE', 'PGP SIGNATURE'), false],
    ['base64 without padding', (a) => a.replace(/=+\n-----END/, '\n-----END'), false],
    ['a character outside base64', (a) => a.replace(/\n([A-Za-z0-9+/])/, '\n*'), false],
  ];

  it.each(cases)('%s', (_, change, accepted) => {
    const armored = change(good);
    expect(peer(armored)).toBe(accepted);
    const verdict = ours(armored);
    if (accepted) expect(verdict.status).toBe('U');
    else expect(verdict).toMatchObject({ status: 'E', reason: 'malformed_signature' });
  });
});

describe('the SSHSIG blob, as ssh-keygen reads it', () => {
  it('trailing bytes and unknown versions are malformed', () => {
    const trailing = armor(Buffer.concat([dearmorLoosely(good), Buffer.of(0)]));
    const version2 = forged(ed25519, { version: 2 });
    for (const signature of [trailing, version2]) {
      expect(peer(signature)).toBe(false);
      expect(ours(signature)).toMatchObject({ status: 'E', reason: 'malformed_signature' });
    }
  });

  it('a reserved field with content is ignored, and a namespace may end in one NUL, as in sshsig.c', () => {
    const blob = dearmorLoosely(good);
    // reserved sits after the key and the namespace: SSHSIG ‖ u32 version ‖ string key ‖ string "git" ‖ string ""
    const reservedAt = 6 + 4 + 4 + ed25519.blob.length + 4 + 3;
    expect(blob.readUInt32BE(reservedAt)).toBe(0);
    const withReserved = armor(Buffer.concat([blob.subarray(0, reservedAt), sshString('opaque'), blob.subarray(reservedAt + 4)]));
    expect(peer(withReserved)).toBe(true);
    expect(ours(withReserved).status).toBe('U');
    const nulNamespace = forged(ed25519, { namespace: 'git\0', signedNamespace: 'git' });
    expect(peer(nulNamespace)).toBe(true);
    expect(ours(nulNamespace).status).toBe('U');
  });

  it("the namespace is the caller's to choose; a signature for another is B wrong_namespace", () => {
    const signature = forged(ed25519, { namespace: 'file' });
    expect(ours(signature)).toMatchObject({ status: 'B', reason: 'wrong_namespace' });
    expect(ours(signature, `a ${ed25519.publicLine}`, 'file')).toMatchObject({ status: 'G', signer: 'a' });
  });
});

describe('encodings OpenSSH tolerates', () => {
  it('an RSA signature shorter than the modulus (a leading zero byte dropped) is padded: G', () => {
    const rsa = makePlainKey('rsa');
    // Vary the payload until the raw signature starts with a zero byte (1 in 256).
    let found: { payload: Buffer; raw: Buffer } | undefined;
    for (let i = 0; i < 5000 && !found; i++) {
      const payload = Buffer.concat([PAYLOAD, Buffer.from(String(i))]);
      const raw = sign('sha512', sshsigSignedData(payload, 'git', 'sha512'), rsa.privateKey);
      if (raw[0] === 0) found = { payload, raw };
    }
    if (!found) throw new Error('no RSA signature with a leading zero byte in 5000 tries');
    const shortened = Buffer.concat([sshString('rsa-sha2-512'), sshString(found.raw.subarray(1))]);
    const armored = armor(sshsigBlob(rsa.blob, 'git', 'sha512', shortened));
    expect(keygen.checkNovalidate(found.payload, armored)).toBe(true);
    const registry = createSshRegistry(parseAllowedSigners(`a ${rsa.publicLine}`, 'as'));
    expect(verifySshSignature(registry, found.payload, armored, { at: AT }).status).toBe('G');
  });
});

describe('sshFingerprint', () => {
  it('is what ssh-keygen -l prints, for keys and (as the certified key) certificates', () => {
    const ca = keygen.keygen('fp-ca', 'ecdsa', 521);
    const user = keygen.keygen('fp-user', 'rsa', 2048);
    keygen.run(['-q', '-s', ca.privatePath, '-I', 'x', '-n', 'x', `${user.privatePath}.pub`]);
    for (const file of [`${ca.privatePath}.pub`, `${user.privatePath}.pub`, `${user.privatePath}-cert.pub`]) {
      const printed = keygen.run(['-l', '-E', 'sha256', '-f', file]).stdout.split(' ')[1];
      const blob = Buffer.from(readFileSync(file, 'utf8').split(' ')[1] as string, 'base64');
      expect(sshFingerprint(blob)).toBe(printed);
    }
  });
});
