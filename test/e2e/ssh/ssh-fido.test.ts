/**
 * FIDO (sk-*) signatures. No security key here, so the test builds keys and signatures with
 * node:crypto from PROTOCOL.u2f, proves each with the independent peer (ssh-keygen -Y verify and
 * check-novalidate must accept them), then requires the same from us, and the same refusals
 * when a flag, the counter or the application is changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshRegistry, parseAllowedSigners, verifySshSignature } from '../../../src/core/ssh/index.ts';
import { readFileSync } from 'node:fs';
import { armor, dearmorLoosely, fidoSignature, fidoSshsig, makeFidoKey, sshsigBlob, sshsigSignedData, type FidoKey } from '../../helpers/ssh-forge.ts';
import { SshKeygen } from '../../helpers/ssh-keygen.ts';

const PAYLOAD =
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <fido@example.com> 1748779200 +0000\ncommitter A <fido@example.com> 1748779200 +0000\n\nsigned with a security key\n';
const AT = new Date(Date.UTC(2025, 5, 1));

let keygen: SshKeygen;
afterAll(() => keygen?.remove());
beforeAll(() => {
  keygen = new SshKeygen('ssh-fido');
});

/** ssh-keygen -Y verify with the key in allowed_signers: does the peer accept it? */
function peerAccepts(key: FidoKey, signature: string): boolean {
  const allowed = keygen.write(keygen.unique('allowed'), `fido@example.com ${key.publicLine}\n`);
  const sig = keygen.write(keygen.unique('sig'), signature);
  const result = keygen.run(['-Y', 'verify', '-n', 'git', '-f', allowed, '-I', 'fido@example.com', '-s', sig], PAYLOAD);
  return result.status === 0 && result.stdout.startsWith('Good "git" signature for fido@example.com with');
}

function ours(key: FidoKey, signature: string, requireUserPresence = true) {
  const registry = createSshRegistry(parseAllowedSigners(`fido@example.com ${key.publicLine}\n`, 'allowed_signers'), undefined, { requireUserPresence });
  return verifySshSignature(registry, Buffer.from(PAYLOAD), signature, { at: AT, committerEmail: 'fido@example.com' });
}

function mutate(signature: string, change: (blob: Buffer) => void): string {
  const blob = dearmorLoosely(signature);
  change(blob);
  return armor(blob);
}

describe.each(['ed25519', 'ecdsa'] as const)('sk-%s', (kind) => {
  it('signatures the peer accepts are G for us, whatever the mpint padding', () => {
    const key = makeFidoKey(kind);
    // ECDSA r and s need a leading zero byte half the time each: several signatures cover both.
    for (let counter = 1; counter <= 6; counter++) {
      const signature = fidoSshsig(key, Buffer.from(PAYLOAD), { counter, hashAlgorithm: counter % 2 ? 'sha512' : 'sha256' });
      expect(peerAccepts(key, signature)).toBe(true);
      expect(keygen.checkNovalidate(PAYLOAD, signature)).toBe(true);
      const verdict = ours(key, signature);
      expect(verdict, verdict.detail).toMatchObject({ status: 'G', reason: 'valid', signer: 'fido@example.com', emailMatches: true });
    }
  });

  it('the fingerprint is the one ssh-keygen prints for the key', () => {
    const key = makeFidoKey(kind);
    const pub = keygen.write(keygen.unique('fido.pub'), `${key.publicLine}\n`);
    const printed = keygen.run(['-l', '-E', 'sha256', '-f', pub]).stdout.split(' ')[1];
    const verdict = ours(key, fidoSshsig(key, Buffer.from(PAYLOAD)));
    expect(verdict.key).toBe(printed);
    expect(parseAllowedSigners(`x ${key.publicLine}`, 'a')[0]?.fingerprint).toBe(printed);
  });

  it('a flipped flag, counter or application byte is refused by the peer and by us', () => {
    const key = makeFidoKey(kind);
    const good = fidoSshsig(key, Buffer.from(PAYLOAD), { flags: 0x01, counter: 0x01020304 });
    // The signature is the last field of the blob: ... flags(1) ‖ counter(4).
    const variants = {
      'flag (user verification) set': mutate(good, (blob) => {
        blob[blob.length - 5] = 0x05;
      }),
      'counter changed': mutate(good, (blob) => {
        blob.writeUInt8(blob.readUInt8(blob.length - 1) ^ 0x01, blob.length - 1);
      }),
      'counter high byte changed': mutate(good, (blob) => {
        blob.writeUInt8(blob.readUInt8(blob.length - 4) ^ 0x80, blob.length - 4);
      }),
      'signed for another application': fidoSshsig(key, Buffer.from(PAYLOAD), { signedApplication: 'ssh:other' }),
      'tampered payload': fidoSshsig(key, Buffer.from(PAYLOAD + 'x')),
    };
    for (const [name, signature] of Object.entries(variants)) {
      expect(peerAccepts(key, signature), name).toBe(false);
      const verdict = ours(key, signature);
      expect(verdict.status, `${name}: ${verdict.detail}`).toBe('B');
      expect(verdict.reason).toBe('invalid');
    }
    expect(peerAccepts(key, good)).toBe(true);
  });

  it('user presence: ssh-keygen accepts an untouched signature; we refuse it unless told not to', () => {
    const key = makeFidoKey(kind);
    const untouched = fidoSshsig(key, Buffer.from(PAYLOAD), { flags: 0x00 });
    // The peer's behaviour, measured: ssh-keygen -Y verify does not look at the flags.
    expect(peerAccepts(key, untouched)).toBe(true);
    const strict = ours(key, untouched);
    expect(strict).toMatchObject({ status: 'B', reason: 'invalid' });
    expect(strict.detail).toMatch(/without user presence/);
    expect(ours(key, untouched, false)).toMatchObject({ status: 'G', reason: 'valid' });
    // User verification (PIN) alone is not presence; with presence it is fine.
    expect(ours(key, fidoSshsig(key, Buffer.from(PAYLOAD), { flags: 0x04 })).status).toBe('B');
    const verified = fidoSshsig(key, Buffer.from(PAYLOAD), { flags: 0x05 });
    expect(peerAccepts(key, verified)).toBe(true);
    expect(ours(key, verified).status).toBe('G');
  });

  it('a certificate for the FIDO key, issued by ssh-keygen -s, verifies for both through cert-authority', () => {
    const key = makeFidoKey(kind);
    const ca = keygen.keygen(keygen.unique('ca'), 'ed25519');
    const pub = keygen.write(`${keygen.unique('fido-user')}.pub`, `${key.publicLine}\n`);
    expect(keygen.run(['-q', '-s', ca.privatePath, '-I', 'fido-cert', '-n', 'fido@example.com', pub]).status).toBe(0);
    const certLine = readFileSync(pub.replace(/\.pub$/, '-cert.pub'), 'utf8');
    const certBlob = Buffer.from(certLine.split(' ')[1] as string, 'base64');
    expect(certLine.split(' ')[0]).toBe(key.type.replace('@openssh.com', '-cert-v01@openssh.com'));
    const signature = armor(sshsigBlob(certBlob, 'git', 'sha512', fidoSignature(key, sshsigSignedData(Buffer.from(PAYLOAD), 'git', 'sha512'))));
    const allowed = `fido@example.com cert-authority ${ca.publicLine}\n`;
    const allowedFile = keygen.write(keygen.unique('allowed'), allowed);
    const sig = keygen.write(keygen.unique('sig'), signature);
    expect(keygen.run(['-Y', 'verify', '-n', 'git', '-f', allowedFile, '-I', 'fido@example.com', '-s', sig], PAYLOAD).status).toBe(0);
    const verdict = verifySshSignature(createSshRegistry(parseAllowedSigners(allowed, 'as')), Buffer.from(PAYLOAD), signature, { at: AT });
    expect(verdict, verdict.detail).toMatchObject({ status: 'G', signer: 'fido@example.com' });
    expect(verdict.detail).toMatch(/certificate "fido-cert"/);
  });

  it('a key with another application is another key: U, as ssh-keygen finds no principal', () => {
    const key = makeFidoKey(kind, 'ssh:');
    const other = makeFidoKey(kind, 'ssh:git-signing');
    const signature = fidoSshsig(other, Buffer.from(PAYLOAD));
    expect(keygen.checkNovalidate(PAYLOAD, signature)).toBe(true);
    expect(ours(key, signature).status).toBe('U');
  });
});
