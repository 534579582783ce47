/**
 * Revoked keys: KRLs made by `ssh-keygen -k` (every section and certificate subsection type),
 * checked key by key against `ssh-keygen -Q`; plain key lists checked against
 * `ssh-keygen -Y verify -r`, including the lines that make ssh-keygen fail or skip.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignetError } from '../../../src/core/errors.ts';
import { createSshRegistry, parseAllowedSigners, parseRevokedKeys, verifySshSignature } from '../../../src/core/ssh/index.ts';
import { parsePublicKeyBlob } from '../../../src/core/ssh/public-key.ts';
import { revocationOf, type RevokedSshKeys } from '../../../src/core/ssh/revoked-keys.ts';
import { sshMpint, sshString } from '../../helpers/ssh-forge.ts';
import { SshKeygen } from '../../helpers/ssh-keygen.ts';

let keygen: SshKeygen;
/** name → path of a .pub (plain key or certificate) */
const files: Record<string, string> = {};
let krl: Uint8Array;
let krlPath: string;

const SERIALS = [0, 1, 2, 4, 5, 397, 400, 401, 999, 1000, 1500, 2000, 2001, 0x10000000000];

beforeAll(() => {
  keygen = new SshKeygen('ssh-krl');
  keygen.keygen('ca', 'ed25519');
  keygen.keygen('other-ca', 'ed25519');
  for (const [name, type, bits] of [
    ['explicit', 'ecdsa', 256],
    ['sha1', 'ed25519'],
    ['sha256', 'rsa', 2048],
    ['hash', 'ed25519'],
    ['clean', 'ed25519'],
    ['user', 'ed25519'],
  ] as const) {
    keygen.keygen(name, type, bits);
    files[name] = keygen.path(`${name}.pub`);
  }
  // Certificates of one user key with various serials; one with serial 0 and a revoked key id.
  for (const serial of SERIALS) {
    keygen.run(['-q', '-s', keygen.path('ca'), '-I', serial === 0 ? "bob's id" : `cert-${serial}`, '-n', 'u', '-z', String(serial), files['user'] as string]);
    files[`serial-${serial}`] = keygen.write(`user-serial-${serial}-cert.pub`, readFileSync(keygen.path('user-cert.pub')));
  }
  keygen.run(['-q', '-s', keygen.path('other-ca'), '-I', 'x', '-n', 'u', '-z', '1', files['user'] as string]);
  files['other-ca-serial-1'] = keygen.write('user-other-ca-cert.pub', readFileSync(keygen.path('user-cert.pub')));
  // A certificate of a revoked key: revoked as a key even though its serial is not.
  keygen.run(['-q', '-s', keygen.path('ca'), '-I', 'y', '-n', 'u', '-z', '2', files['explicit'] as string]);
  files['cert-of-explicit'] = keygen.path('explicit-cert.pub');

  const fingerprint = keygen.run(['-l', '-E', 'sha256', '-f', files['hash'] as string]).stdout.split(' ')[1];
  const spec = [
    `key: ${readFileSync(files['explicit'] as string, 'utf8').trim()}`,
    `sha1: ${readFileSync(files['sha1'] as string, 'utf8').trim()}`,
    `sha256: ${readFileSync(files['sha256'] as string, 'utf8').trim()}`,
    `hash: ${fingerprint}`,
    ...Array.from({ length: 134 }, (_, i) => `serial: ${1 + 3 * i}`), // dense: ssh-keygen writes a bitmap
    'serial: 1000-2000',
    'serial: 0x10000000000',
    "id: bob's id",
  ].join('\n');
  krlPath = keygen.path('revoked.krl');
  const made = keygen.run(['-k', '-f', krlPath, '-s', keygen.path('ca.pub'), keygen.write('krl-spec', `${spec}\n`)]);
  expect(made.status).toBe(0);
  krl = readFileSync(krlPath);
});

afterAll(() => keygen?.remove());

function keyOf(path: string) {
  return parsePublicKeyBlob(Buffer.from(readFileSync(path, 'utf8').split(' ')[1] as string, 'base64'));
}

describe('KRLs made by ssh-keygen -k', () => {
  it('reads every section type', () => {
    const revoked = parseRevokedKeys(krl, 'revoked.krl');
    expect(revoked.format).toBe('krl');
    expect(revoked.keys.size).toBe(1);
    expect(revoked.sha1Fingerprints.size).toBe(1);
    expect(revoked.sha256Fingerprints.size).toBe(2);
    expect(revoked.certificates).toHaveLength(1);
    expect(revoked.certificates[0]?.keyIds).toEqual(new Set(["bob's id"]));
  });

  it('revokes exactly what ssh-keygen -Q says it revokes', () => {
    const revoked = parseRevokedKeys(krl, 'revoked.krl');
    const names = Object.keys(files);
    const peer = keygen.run(['-Q', '-f', krlPath, ...names.map((name) => files[name] as string)]);
    // One line per file: "<file> (<comment>): REVOKED" or "<file> (<comment>): ok".
    const peerRevoked = new Set(
      peer.stdout
        .split('\n')
        .filter((line) => line.includes(': REVOKED'))
        .map((line) => line.split(' ')[0]),
    );
    const table = names.map((name) => [name, revocationOf(revoked, keyOf(files[name] as string)) !== undefined, peerRevoked.has(files[name] as string)]);
    expect(table.filter(([, ours, theirs]) => ours !== theirs)).toEqual([]);
    // The table means something only if both answers occur.
    expect(new Set(table.map(([, ours]) => ours))).toEqual(new Set([true, false]));
    expect(revocationOf(revoked, keyOf(files['serial-400'] as string))).toMatch(/serial 400/);
    expect(revocationOf(revoked, keyOf(files['serial-0'] as string))).toMatch(/key id "bob's id"/);
  });

  it('a signature by a revoked key is R, by a clean key not', () => {
    const sign = (name: string) => keygen.sign(keygen.path(name), 'payload');
    const registry = createSshRegistry(
      parseAllowedSigners(`a ${readFileSync(files['sha1'] as string, 'utf8')}b ${readFileSync(files['clean'] as string, 'utf8')}`, 'as'),
      parseRevokedKeys(krl, 'revoked.krl'),
    );
    const at = new Date();
    expect(verifySshSignature(registry, Buffer.from('payload'), sign('sha1'), { at })).toMatchObject({ status: 'R', reason: 'revoked_key' });
    expect(verifySshSignature(registry, Buffer.from('payload'), sign('clean'), { at }).status).toBe('G');
  });

  it('refuses a damaged KRL, naming the file', () => {
    for (const damaged of [krl.subarray(0, krl.length - 3), Buffer.concat([krl, Buffer.of(9, 0, 0, 0, 0)])]) {
      let thrown: unknown;
      try {
        parseRevokedKeys(damaged, '/etc/ssh/revoked.krl');
      } catch (error) {
        thrown = error;
      }
      expect(isSignetError(thrown) && thrown.code).toBe('KEYRING_INVALID');
      expect((thrown as Error).message).toMatch(/^\/etc\/ssh\/revoked\.krl: malformed KRL: /);
    }
  });
});

describe('plain revoked key lists, against ssh-keygen -Y verify -r', () => {
  let signature: string;
  let alicePublic: string;
  beforeAll(() => {
    const alice = keygen.keygen('alice', 'ed25519');
    alicePublic = alice.publicLine;
    keygen.run(['-q', '-s', keygen.path('ca'), '-I', 'alice', '-n', 'alice', `${alice.privatePath}.pub`]);
    signature = keygen.sign(alice.privatePath, 'payload');
  });

  function peerVerifies(list: string): boolean {
    const allowed = keygen.write(keygen.unique('allowed'), `alice ${alicePublic}\n`);
    const revoked = keygen.write(keygen.unique('revoked'), list);
    const sig = keygen.write(keygen.unique('sig'), signature);
    return keygen.run(['-Y', 'verify', '-n', 'git', '-f', allowed, '-I', 'alice', '-s', sig, '-r', revoked], 'payload').status === 0;
  }

  function ourStatus(list: string): string {
    const registry = createSshRegistry(parseAllowedSigners(`alice ${alicePublic}`, 'as'), parseRevokedKeys(Buffer.from(list), 'revoked_keys'));
    return verifySshSignature(registry, Buffer.from('payload'), signature, { at: new Date() }).status;
  }

  it('comments, blank lines and CRLF: the key listed is revoked for both', () => {
    const list = `# revoked\r\n\r\n   \r\n  # indented\r\n${readFileSync(files['clean'] as string, 'utf8').trim()}\r\n${alicePublic}\r\n`;
    expect(peerVerifies(list)).toBe(false);
    expect(ourStatus(list)).toBe('R');
    const other = `${readFileSync(files['clean'] as string, 'utf8')}`;
    expect(peerVerifies(other)).toBe(true);
    expect(ourStatus(other)).toBe('G');
  });

  it('listing a certificate revokes its key', () => {
    const list = readFileSync(keygen.path('alice-cert.pub'), 'utf8');
    expect(list).toMatch(/^ssh-ed25519-cert-v01@openssh.com /);
    expect(peerVerifies(list)).toBe(false);
    expect(ourStatus(list)).toBe('R');
  });

  it('an RSA key under 1024 bits is skipped by both', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 768 });
    const jwk = publicKey.export({ format: 'jwk' });
    const blob = Buffer.concat([
      sshString('ssh-rsa'),
      sshMpint(Buffer.from(jwk.e as string, 'base64url')),
      sshMpint(Buffer.from(jwk.n as string, 'base64url')),
    ]);
    const list = `ssh-rsa ${blob.toString('base64')} small\n${readFileSync(files['clean'] as string, 'utf8')}`;
    expect(peerVerifies(list)).toBe(true);
    expect(parseRevokedKeys(Buffer.from(list), 'revoked_keys').keys.size).toBe(1);
    expect(ourStatus(list)).toBe('G');
  });

  it.each([
    ['an authorized_keys option', (key: string) => `no-pty ${key}`],
    ['broken base64', (key: string) => key.replace(/ [A-Za-z0-9+/]{10}/, ' !!!!!!!!!!')],
    ['an unknown key type', (key: string) => key.replace('ssh-ed25519', 'ssh-foo')],
  ])('a line with %s makes ssh-keygen fail every verification; we refuse the file with its line', (_, breakLine) => {
    const list = `# revoked\n${breakLine(readFileSync(files['clean'] as string, 'utf8').trim())}\n`;
    expect(peerVerifies(list)).toBe(false);
    let thrown: unknown;
    try {
      parseRevokedKeys(Buffer.from(list), 'revoked_keys');
    } catch (error) {
      thrown = error;
    }
    expect(isSignetError(thrown) && thrown.code).toBe('KEYRING_INVALID');
    expect((thrown as Error).message).toMatch(/^revoked_keys:2: /);
  });
});

describe('revocation of certificates by a plain list', () => {
  it('a listed CA revokes every certificate it issued', () => {
    const revoked: RevokedSshKeys = parseRevokedKeys(readFileSync(keygen.path('ca.pub')), 'revoked_keys');
    expect(revocationOf(revoked, keyOf(files['serial-5'] as string))).toMatch(/CA is revoked/);
    expect(revocationOf(revoked, keyOf(files['other-ca-serial-1'] as string))).toBeUndefined();
  });
});
