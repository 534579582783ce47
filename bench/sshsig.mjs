// SSHSIG signing for the benchmark generators (bench/make-bench-repo-fast.mjs,
// bench/make-bench-repo-pack.mjs): node:crypto Ed25519, armored as ssh-keygen -Y sign armors it.
import { createHash, createPrivateKey, sign as edSign } from 'node:crypto';

/** SSH string: uint32 length, then the bytes. */
function sshString(bytes) {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(buffer.length);
  return Buffer.concat([length, buffer]);
}

/** An SSHSIG signature in namespace "git" over SHA-512 of the payload, armored like ssh-keygen's. */
export function sshSignature(payload, key) {
  const digest = createHash('sha512').update(payload).digest();
  const signedData = Buffer.concat([Buffer.from('SSHSIG'), sshString('git'), sshString(''), sshString('sha512'), sshString(digest)]);
  const raw = edSign(null, signedData, key.privateKey);
  const version = Buffer.alloc(4);
  version.writeUInt32BE(1);
  const blob = Buffer.concat([
    Buffer.from('SSHSIG'),
    version,
    sshString(key.publicBlob),
    sshString('git'),
    sshString(''),
    sshString('sha512'),
    sshString(Buffer.concat([sshString('ssh-ed25519'), sshString(raw)])),
  ]);
  const lines = blob.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join('\n')}\n-----END SSH SIGNATURE-----\n`;
}

/** Reads an unencrypted OpenSSH private key file holding one Ed25519 key. */
export function readOpenSshEd25519(text) {
  const body = Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  let at = 0;
  const magic = 'openssh-key-v1\0';
  if (body.subarray(0, magic.length).toString('latin1') !== magic) throw new Error('not an OpenSSH private key');
  at = magic.length;
  const next = () => {
    const length = body.readUInt32BE(at);
    const value = body.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  const cipher = next().toString();
  next(); // kdf name
  next(); // kdf options
  if (cipher !== 'none') throw new Error('the SSH key is encrypted');
  at += 4; // number of keys (1)
  const publicBlob = next();
  const inner = next();
  const read = () => {
    const length = inner.readUInt32BE(at);
    const value = inner.subarray(at + 4, at + 4 + length);
    at += 4 + length;
    return value;
  };
  at = 8; // two check integers
  const type = read().toString();
  if (type !== 'ssh-ed25519') throw new Error(`expected an ssh-ed25519 key, got ${type}`);
  const publicKey = read();
  const seedAndPublic = read();
  const privateKey = createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: seedAndPublic.subarray(0, 32).toString('base64url'), x: publicKey.toString('base64url') },
    format: 'jwk',
  });
  return { publicBlob, privateKey };
}
