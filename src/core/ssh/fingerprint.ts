import { createHash } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { parsePublicKeyBlob } from './public-key.ts';

const CERT_MARKER = Buffer.from('-cert-v01@openssh.com');

/** `SHA256:` + unpadded base64 of SHA-256 over a plain key blob, as ssh-keygen -l prints it. */
export function fingerprintOfPlainBlob(plainBlob: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(plainBlob).digest('base64').replace(/=+$/, '');
}

/**
 * The SHA256 fingerprint of a public key blob, as ssh-keygen prints it: for a certificate, the
 * fingerprint of the certified key. Other blobs are hashed as given.
 */
export function sshFingerprint(keyBlob: Uint8Array): string {
  const view = Buffer.from(keyBlob.buffer, keyBlob.byteOffset, keyBlob.byteLength);
  const typeLength = keyBlob.length >= 4 ? view.readUInt32BE(0) : 0;
  const type = view.subarray(4, 4 + typeLength);
  if (type.length === typeLength && type.includes(CERT_MARKER)) {
    try {
      return fingerprintOfPlainBlob(parsePublicKeyBlob(keyBlob, 'certificate').plainBlob);
    } catch {
      // Not a readable certificate: fall through and hash what we were given.
    }
  }
  return fingerprintOfPlainBlob(keyBlob);
}
