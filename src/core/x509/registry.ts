import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { SignetError } from '../errors.ts';
import { readCertificate, type CertificateFacts } from './certificate.ts';

/** A certificate revocation list as read from a file; its signature is checked when used. */
export interface RevocationList {
  source: string;
  issuer: pkijs.RelativeDistinguishedNames;
  signed: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  /** Revoked serial numbers (lower-case hex, no leading zero bytes). */
  revoked: Set<string>;
}

/** The X.509 root of trust: CA certificates a chain must end in, and optional CRLs. */
export interface X509Registry {
  roots: readonly CertificateFacts[];
  crls: readonly RevocationList[];
}

export function createX509Registry(roots: readonly CertificateFacts[] = [], crls: readonly RevocationList[] = []): X509Registry {
  return { roots, crls };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

function pemBlocks(text: string, label: string): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] !== label) continue;
    blocks.push(new Uint8Array(Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64')));
  }
  return blocks;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Reads PEM CA certificates (`--x509-roots`, policy keys.x509_roots); `name` is for messages. */
export function parseX509Roots(text: string, name: string): CertificateFacts[] {
  const roots: CertificateFacts[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    if (match[1] !== 'CERTIFICATE') continue;
    const der = new Uint8Array(Buffer.from(match[2]!.replace(/\s+/g, ''), 'base64'));
    try {
      roots.push(readCertificate(der));
    } catch (error) {
      throw new SignetError('KEYRING_INVALID', `${name}:${lineOf(text, match.index)}: unreadable certificate (${(error as Error).message})`);
    }
  }
  if (roots.length === 0) throw new SignetError('KEYRING_INVALID', `${name}: no -----BEGIN CERTIFICATE----- block`);
  return roots;
}

function serialHex(bytes: Uint8Array): string {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return Buffer.from(bytes.subarray(start)).toString('hex');
}

/** Reads a CRL, DER or PEM (`--crl`); `name` is for messages. */
export function parseRevocationList(bytes: Uint8Array, name: string): RevocationList {
  const text = Buffer.from(bytes).toString('latin1');
  const der = text.includes('-----BEGIN X509 CRL-----') ? pemBlocks(text, 'X509 CRL')[0] : bytes;
  if (!der) throw new SignetError('KEYRING_INVALID', `${name}: no -----BEGIN X509 CRL----- block`);
  try {
    const asn = asn1js.fromBER(der);
    if (asn.offset === -1) throw new Error('not DER');
    const crl = new pkijs.CertificateRevocationList({ schema: asn.result });
    const revoked = new Set<string>();
    for (const entry of crl.revokedCertificates ?? []) revoked.add(serialHex(entry.userCertificate.valueBlock.valueHexView));
    return {
      source: name,
      issuer: crl.issuer,
      signed: new Uint8Array(crl.tbsView),
      signatureAlgorithm: crl.signatureAlgorithm.algorithmId,
      signature: new Uint8Array(crl.signatureValue.valueBlock.valueHexView),
      revoked,
    };
  } catch (error) {
    throw new SignetError('KEYRING_INVALID', `${name}: unreadable CRL (${(error as Error).message})`);
  }
}
