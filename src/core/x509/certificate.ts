import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { readBer, strictTime } from './ber-read.ts';

/** What a verification needs to know about one certificate, read once from its DER bytes. */
export interface CertificateFacts {
  der: Uint8Array;
  /** SHA-1 fingerprint, upper-case hex: what gpgsm (and so git's %GK) names a certificate by. */
  fingerprint: string;
  /** RFC 4514-style subject, e.g. `CN=Alice,O=Example`; empty for Fulcio certificates. */
  subject: string;
  issuer: string;
  /** The issuer Name as encoded, to match a CMS issuerAndSerialNumber byte for byte. */
  issuerDer: Uint8Array;
  /** Serial number, lower-case hex without leading zero bytes. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** basicConstraints cA. */
  isCa: boolean;
  /** keyUsage bits when the extension is present (RFC 5280 bit numbers). */
  keyUsage?: { digitalSignature: boolean; nonRepudiation: boolean; keyCertSign: boolean; cRLSign: boolean };
  /** extendedKeyUsage OIDs when the extension is present. */
  extKeyUsage?: string[];
  /** rfc822Name entries of the subjectAltName, then emailAddress attributes of the subject. */
  emails: string[];
  /** uniformResourceIdentifier entries of the subjectAltName (Fulcio: workflow identities). */
  uris: string[];
  /** Raw extension values (the OCTET STRING contents) by OID. */
  extensions: Map<string, Uint8Array>;
  /** Critical extensions this code does not process (RFC 5280: such a certificate is refused). */
  unknownCritical: string[];
  publicKey: KeyObject;
  node: X509Certificate;
}

const KNOWN_EXTENSIONS = new Set([
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extKeyUsage
  '2.5.29.19', // basicConstraints
  '2.5.29.17', // subjectAltName
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.31', // cRLDistributionPoints
  '1.3.6.1.5.5.7.1.1', // authorityInfoAccess
  '2.5.29.32', // certificatePolicies
]);

const NAME_TYPES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '1.2.840.113549.1.9.1': 'EMAIL',
  '0.9.2342.19200300.100.1.25': 'DC',
  '2.5.4.5': 'SERIALNUMBER',
};

const EMAIL_ATTRIBUTE = '1.2.840.113549.1.9.1';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function nameText(name: pkijs.RelativeDistinguishedNames): string {
  // Most significant first, as RFC 4514 writes it: the reverse of the encoded order.
  return name.typesAndValues
    .map((entry) => `${NAME_TYPES[entry.type] ?? entry.type}=${String((entry.value as { valueBlock?: { value?: unknown } }).valueBlock?.value ?? '')}`)
    .reverse()
    .join(',');
}

function bit(bits: Uint8Array, index: number): boolean {
  const byte = bits[index >> 3] ?? 0;
  return (byte & (0x80 >> (index & 7))) !== 0;
}

export class CertificateError extends Error {}

/**
 * An extension's value as pkijs reads it. pkijs decodes it on first access (a getter), with a
 * decoder that can throw on hostile bytes: the access is the parse, so it is guarded here.
 */
function parsedValueOf(extension: pkijs.Extension): unknown {
  const decoded = readBer(extension.extnValue.valueBlock.valueHexView);
  if (!decoded.ok) throw new CertificateError(`extension ${extension.extnID} is unreadable: ${decoded.problem}`);
  try {
    return extension.parsedValue as unknown;
  } catch (error) {
    throw new CertificateError(`extension ${extension.extnID} is unreadable: ${(error as Error).message}`);
  }
}

/**
 * notBefore and notAfter read strictly from the TBSCertificate (pkijs keeps only asn1js's
 * lenient reading of them, see strictTime): version [0]?, serial, signature, issuer, validity.
 */
function validityOf(parsed: pkijs.Certificate): { notBefore: Date; notAfter: Date } {
  const tbs = readBer(parsed.tbsView);
  if (!tbs.ok) throw new CertificateError(`unreadable certificate: the TBSCertificate is ${tbs.problem}`);
  const fields: unknown = (tbs.result as asn1js.Sequence).valueBlock.value;
  if (!Array.isArray(fields)) throw new CertificateError('unreadable certificate: the TBSCertificate is not a SEQUENCE');
  const first = fields[0] as asn1js.BaseBlock | undefined;
  const offset = first && first.idBlock.tagClass === 3 && first.idBlock.tagNumber === 0 ? 1 : 0;
  const validity: unknown = fields[offset + 3];
  if (!(validity instanceof asn1js.Sequence) || validity.valueBlock.value.length !== 2) throw new CertificateError('the certificate validity is not two times');
  const [notBefore, notAfter] = validity.valueBlock.value.map(strictTime) as [Date | string, Date | string];
  if (typeof notBefore === 'string') throw new CertificateError(`the certificate notBefore is malformed: ${notBefore}`);
  if (typeof notAfter === 'string') throw new CertificateError(`the certificate notAfter is malformed: ${notAfter}`);
  return { notBefore, notAfter };
}

/** Reads one DER certificate; anything it cannot read is a CertificateError naming why. */
export function readCertificate(der: Uint8Array): CertificateFacts {
  let parsed: pkijs.Certificate;
  let node: X509Certificate;
  let publicKey: KeyObject;
  try {
    parsed = pkijs.Certificate.fromBER(der);
    node = new X509Certificate(der);
    // Read now: node parses the key lazily, and a malformed one throws on first use.
    publicKey = node.publicKey;
  } catch (error) {
    throw new CertificateError(`unreadable certificate: ${(error as Error).message}`);
  }
  const extensions = new Map<string, Uint8Array>();
  const unknownCritical: string[] = [];
  let isCa = false;
  let keyUsage: CertificateFacts['keyUsage'];
  let extKeyUsage: string[] | undefined;
  const emails: string[] = [];
  const uris: string[] = [];
  for (const extension of parsed.extensions ?? []) {
    if (extensions.has(extension.extnID)) throw new CertificateError(`extension ${extension.extnID} appears twice`);
    extensions.set(extension.extnID, new Uint8Array(extension.extnValue.valueBlock.valueHexView));
    if (extension.critical && !KNOWN_EXTENSIONS.has(extension.extnID)) unknownCritical.push(extension.extnID);
    // Only the extensions read below are decoded: the others are kept as bytes.
    const value: unknown = ['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.17'].includes(extension.extnID) ? parsedValueOf(extension) : undefined;
    switch (extension.extnID) {
      case '2.5.29.19':
        isCa = (value as pkijs.BasicConstraints | undefined)?.cA === true;
        break;
      case '2.5.29.15': {
        if (!(value instanceof asn1js.BitString)) throw new CertificateError('keyUsage is not a BIT STRING');
        const bits = value.valueBlock.valueHexView;
        keyUsage = { digitalSignature: bit(bits, 0), nonRepudiation: bit(bits, 1), keyCertSign: bit(bits, 5), cRLSign: bit(bits, 6) };
        break;
      }
      case '2.5.29.37':
        if (!(value instanceof pkijs.ExtKeyUsage)) throw new CertificateError('extendedKeyUsage is unreadable');
        extKeyUsage = [...value.keyPurposes];
        break;
      case '2.5.29.17':
        if (!(value instanceof pkijs.AltName)) throw new CertificateError('subjectAltName is unreadable');
        for (const name of value.altNames) {
          if (name.type === 1 && typeof name.value === 'string') emails.push(name.value);
          if (name.type === 6 && typeof name.value === 'string') uris.push(name.value);
        }
        break;
      default:
        break;
    }
  }
  for (const entry of parsed.subject.typesAndValues) {
    if (entry.type !== EMAIL_ATTRIBUTE) continue;
    const text = (entry.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
    if (typeof text === 'string') emails.push(text);
  }
  const { notBefore, notAfter } = validityOf(parsed);
  const serialBytes = parsed.serialNumber.valueBlock.valueHexView;
  let start = 0;
  while (start < serialBytes.length - 1 && serialBytes[start] === 0) start++;
  return {
    der,
    fingerprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    subject: nameText(parsed.subject),
    issuer: nameText(parsed.issuer),
    issuerDer: new Uint8Array(parsed.issuer.valueBeforeDecode.slice(0)),
    serial: hex(serialBytes.subarray(start)),
    notBefore,
    notAfter,
    isCa,
    ...(keyUsage ? { keyUsage } : {}),
    ...(extKeyUsage ? { extKeyUsage } : {}),
    emails,
    uris,
    extensions,
    unknownCritical,
    publicKey,
    node,
  };
}

/** Whether `issuer` signed `subject` (names, key identifiers and the signature itself). */
export function isIssuedBy(subject: CertificateFacts, issuer: CertificateFacts): boolean {
  return subject.node.checkIssued(issuer.node) && subject.node.verify(issuer.publicKey);
}
