/**
 * Revoked SSH keys, as `ssh-keygen -Y verify -r FILE` (git's gpg.ssh.revocationFile) reads them:
 * either an OpenSSH key revocation list (KRL, PROTOCOL.krl) or a plain list of public keys.
 * Like sshkey_check_revoked(), a key is revoked when the list names the key itself or, for a
 * certificate, its CA; a KRL can also revoke by fingerprint and certificates by serial or key id.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { SignetError } from '../errors.ts';
import { fingerprintOfPlainBlob } from './fingerprint.ts';
import { readKeyText } from './key-line.ts';
import { parsePublicKeyBlob, UnsupportedKeyError, type SshPublicKey } from './public-key.ts';
import { WireFormatError, WireReader } from './wire.ts';

export interface RevokedCertificates {
  /** The CA's plain key blob, base64; absent: the rules apply to certificates of any CA. */
  caKey?: string;
  /** Inclusive serial ranges (serial lists and bitmaps become ranges). Serial 0 is never revoked. */
  serialRanges: Array<[bigint, bigint]>;
  keyIds: ReadonlySet<string>;
}

export interface RevokedSshKeys {
  source: string;
  format: 'key-list' | 'krl';
  /** Plain public key blobs, base64. */
  keys: ReadonlySet<string>;
  /** `SHA256:…` fingerprints (KRL only). */
  sha256Fingerprints: ReadonlySet<string>;
  /** SHA-1 fingerprints, lower-case hex (KRL only). */
  sha1Fingerprints: ReadonlySet<string>;
  certificates: RevokedCertificates[];
}

const KRL_MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');
const KRL_FORMAT_VERSION = 1;
const SECTION = { certificates: 1, explicitKey: 2, sha1: 3, signature: 4, sha256: 5 } as const;
const CERT_SECTION = { serialList: 0x20, serialRange: 0x21, serialBitmap: 0x22, keyId: 0x23 } as const;

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function parseKeyList(text: string, source: string): RevokedSshKeys {
  const keys = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = (raw.endsWith('\r') ? raw.slice(0, -1) : raw).replace(/^[ \t]+/, '');
    if (line === '' || line.startsWith('#')) return;
    const read = readKeyText(line);
    // sshkey_in_file() skips keys too small to use (they cannot sign anything we accept either).
    if ('problem' in read && read.weak) return;
    if ('problem' in read) {
      throw new SignetError(
        'KEYRING_INVALID',
        `${source}:${index + 1}: not a public key (${read.problem}); a revoked keys file lists one public key a line, or is a KRL`,
      );
    }
    // sshkey_in_file() compares public parts only: listing a certificate revokes its key.
    keys.add(base64(read.key.plainBlob));
  });
  return { source, format: 'key-list', keys, sha256Fingerprints: new Set(), sha1Fingerprints: new Set(), certificates: [] };
}

function bitmapRanges(offset: bigint, bitmap: Uint8Array): Array<[bigint, bigint]> {
  const ranges: Array<[bigint, bigint]> = [];
  let start: bigint | undefined;
  const bits = bitmap.length * 8;
  for (let bit = 0; bit <= bits; bit++) {
    // Bit 0 is the least significant bit of the last byte (the mpint is big-endian).
    const set = bit < bits && (((bitmap[bitmap.length - 1 - (bit >> 3)] as number) >> (bit & 7)) & 1) === 1;
    if (set && start === undefined) start = offset + BigInt(bit);
    if (!set && start !== undefined) {
      ranges.push([start, offset + BigInt(bit) - 1n]);
      start = undefined;
    }
  }
  return ranges;
}

function parseCertificateSection(data: Uint8Array): RevokedCertificates {
  const reader = new WireReader(data, 'KRL certificate section');
  const caBlob = reader.bytesString();
  reader.bytesString(); // reserved
  const rules: RevokedCertificates = { serialRanges: [], keyIds: new Set() };
  if (caBlob.length > 0) rules.caKey = base64(parsePublicKeyBlob(caBlob, 'KRL CA key').plainBlob);
  const keyIds = new Set<string>();
  while (reader.remaining > 0) {
    const type = reader.u8();
    const sub = new WireReader(reader.bytesString(), 'KRL certificate subsection');
    switch (type) {
      case CERT_SECTION.serialList:
        while (sub.remaining > 0) {
          const serial = sub.u64();
          rules.serialRanges.push([serial, serial]);
        }
        break;
      case CERT_SECTION.serialRange: {
        const low = sub.u64();
        const high = sub.u64();
        if (low > high) throw new WireFormatError('KRL serial range with its low end above its high end');
        rules.serialRanges.push([low, high]);
        sub.end();
        break;
      }
      case CERT_SECTION.serialBitmap: {
        const offset = sub.u64();
        rules.serialRanges.push(...bitmapRanges(offset, sub.mpint()));
        sub.end();
        break;
      }
      case CERT_SECTION.keyId:
        while (sub.remaining > 0) keyIds.add(sub.text());
        break;
      default:
        throw new WireFormatError(`unknown KRL certificate subsection type 0x${type.toString(16)}`);
    }
  }
  rules.keyIds = keyIds;
  return rules;
}

function parseKrl(data: Uint8Array, source: string): RevokedSshKeys {
  const reader = new WireReader(data.subarray(KRL_MAGIC.length), 'KRL');
  const version = reader.u32();
  if (version !== KRL_FORMAT_VERSION) throw new WireFormatError(`KRL format version ${version} (only ${KRL_FORMAT_VERSION} is known)`);
  reader.u64(); // KRL version
  reader.u64(); // generated date
  reader.u64(); // flags
  reader.bytesString(); // reserved
  reader.text(); // comment
  const keys = new Set<string>();
  const sha1 = new Set<string>();
  const sha256 = new Set<string>();
  const certificates: RevokedCertificates[] = [];
  while (reader.remaining > 0) {
    const type = reader.u8();
    const section = reader.bytesString();
    const items = new WireReader(section, 'KRL section');
    switch (type) {
      case SECTION.certificates:
        certificates.push(parseCertificateSection(section));
        break;
      case SECTION.explicitKey:
        while (items.remaining > 0) keys.add(base64(parsePublicKeyBlob(items.bytesString(), 'KRL key').plainBlob));
        break;
      case SECTION.sha1:
        while (items.remaining > 0) {
          const hash = items.bytesString();
          if (hash.length !== 20) throw new WireFormatError('KRL SHA-1 fingerprint of the wrong length');
          sha1.add(Buffer.from(hash).toString('hex'));
        }
        break;
      case SECTION.sha256:
        while (items.remaining > 0) {
          const hash = items.bytesString();
          if (hash.length !== 32) throw new WireFormatError('KRL SHA-256 fingerprint of the wrong length');
          sha256.add('SHA256:' + Buffer.from(hash).toString('base64').replace(/=+$/, ''));
        }
        break;
      case SECTION.signature:
        // A signed KRL: the section holds the signing key and a signature string follows. Like
        // ssh-keygen without -s, we do not check it (the file is the operator's own configuration).
        reader.bytesString();
        break;
      default:
        throw new WireFormatError(`unknown KRL section type ${type}`);
    }
  }
  return { source, format: 'krl', keys, sha256Fingerprints: sha256, sha1Fingerprints: sha1, certificates };
}

/**
 * Reads a revoked keys file: a KRL (binary, starting `SSHKRL\n\0`) or a list of public keys, one a
 * line, with `#` comments. Anything else throws KEYRING_INVALID naming the file (and line).
 */
export function parseRevokedKeys(data: Uint8Array, sourceName: string): RevokedSshKeys {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length >= KRL_MAGIC.length && KRL_MAGIC.equals(bytes.subarray(0, KRL_MAGIC.length))) {
    try {
      return parseKrl(bytes, sourceName);
    } catch (error) {
      if (error instanceof WireFormatError || error instanceof UnsupportedKeyError) {
        throw new SignetError('KEYRING_INVALID', `${sourceName}: malformed KRL: ${error.message}`);
      }
      throw error;
    }
  }
  return parseKeyList(bytes.toString('utf8'), sourceName);
}

function keyRevocation(revoked: RevokedSshKeys, plainBlob: Uint8Array, plainBase64: string): string | undefined {
  if (revoked.keys.has(plainBase64)) return 'the key is listed';
  if (revoked.sha256Fingerprints.size > 0 && revoked.sha256Fingerprints.has(fingerprintOfPlainBlob(plainBlob))) return 'its SHA256 fingerprint is listed';
  if (revoked.sha1Fingerprints.size > 0 && revoked.sha1Fingerprints.has(createHash('sha1').update(plainBlob).digest('hex')))
    return 'its SHA-1 fingerprint is listed';
  return undefined;
}

/** Why `key` is revoked (a short phrase for the verdict's detail), or undefined. */
export function revocationOf(revoked: RevokedSshKeys, key: SshPublicKey): string | undefined {
  const own = keyRevocation(revoked, key.plainBlob, base64(key.plainBlob));
  if (own) return `${own} in ${revoked.source}`;
  const certificate = key.certificate;
  if (!certificate) return undefined;
  const caBase64 = base64(certificate.signatureKey.plainBlob);
  for (const rules of revoked.certificates) {
    if (rules.caKey !== undefined && rules.caKey !== caBase64) continue;
    if (rules.keyIds.has(certificate.keyId)) return `certificate key id ${JSON.stringify(certificate.keyId)} is revoked in ${revoked.source}`;
    if (certificate.serial !== 0n && rules.serialRanges.some(([low, high]) => certificate.serial >= low && certificate.serial <= high)) {
      return `certificate serial ${certificate.serial} is revoked in ${revoked.source}`;
    }
  }
  const ca = keyRevocation(revoked, certificate.signatureKey.plainBlob, caBase64);
  return ca ? `the certificate's CA is revoked (${ca} in ${revoked.source})` : undefined;
}
