/**
 * The `type base64 [comment]` public key text form (sshkey_read()), shared by allowed_signers
 * and revoked-keys files.
 */
import { decodeBase64Strict } from './base64.ts';
import { keyObjectFor } from './key-object.ts';
import { isKnownKeyType, parsePublicKeyBlob, UnsupportedKeyError, type SshPublicKey } from './public-key.ts';
import { WireFormatError } from './wire.ts';

/** Names sshkey_read() takes for a key whose blob says otherwise: RSA signature algorithms. */
const TYPE_ALIASES: Record<string, string> = {
  'rsa-sha2-256': 'ssh-rsa',
  'rsa-sha2-512': 'ssh-rsa',
  'rsa-sha2-256-cert-v01@openssh.com': 'ssh-rsa-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com': 'ssh-rsa-cert-v01@openssh.com',
};

export function isKeyTypeName(word: string): boolean {
  return isKnownKeyType(word) || word in TYPE_ALIASES;
}

export type KeyTextResult = { key: SshPublicKey; rest: string } | { problem: string; unsupported?: boolean; weak?: boolean };

/**
 * Reads `type base64 [comment]` at the start of `text` (spaces and tabs separate, as in
 * sshkey_read()). ECDSA points are checked to lie on their curve, as OpenSSH checks them.
 */
export function readKeyText(text: string): KeyTextResult {
  const typeEnd = text.search(/[ \t]/);
  if (typeEnd === -1) return { problem: text.trim() === '' ? 'missing key' : `missing key data after ${JSON.stringify(text.trim().slice(0, 40))}` };
  const typeName = text.slice(0, typeEnd);
  if (!isKeyTypeName(typeName)) return { problem: `unknown key type ${JSON.stringify(typeName.slice(0, 60))}`, unsupported: true };
  let dataStart = typeEnd;
  while (text[dataStart] === ' ' || text[dataStart] === '\t') dataStart++;
  let dataEnd = text.slice(dataStart).search(/[ \t]/);
  dataEnd = dataEnd === -1 ? text.length : dataStart + dataEnd;
  const data = text.slice(dataStart, dataEnd);
  if (data === '') return { problem: `missing key data after ${typeName}` };
  const blob = decodeBase64Strict(data);
  if (!blob) return { problem: `the ${typeName} key data is not valid base64` };
  let key: SshPublicKey;
  try {
    key = parsePublicKeyBlob(blob, `${typeName} key`);
  } catch (error) {
    if (error instanceof WireFormatError) return { problem: error.message };
    if (error instanceof UnsupportedKeyError) return { problem: error.message, unsupported: true, weak: error.weak };
    throw error;
  }
  const expected = TYPE_ALIASES[typeName] ?? typeName;
  if (key.type !== expected) return { problem: `the line says ${typeName} but the key data is ${key.type}` };
  for (const ecKey of [key, key.certificate?.signatureKey]) {
    if (ecKey && (ecKey.algorithm === 'ecdsa' || ecKey.algorithm === 'sk-ecdsa')) {
      try {
        keyObjectFor(ecKey);
      } catch {
        return { problem: `the ${ecKey.plainType} key is not a point on its curve` };
      }
    }
  }
  let restStart = dataEnd;
  while (text[restStart] === ' ' || text[restStart] === '\t') restStart++;
  return { key, rest: text.slice(restStart) };
}
