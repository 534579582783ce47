import * as asn1js from 'asn1js';
import { readBer, strictTime } from './ber-read.ts';
import { berShapeProblem } from './ber-shape.ts';
import { readCertificate, CertificateError, type CertificateFacts } from './certificate.ts';

/**
 * The CMS detached signature git stores for gpg.format=x509 (gpgsm) and gitsign:
 * `-----BEGIN SIGNED MESSAGE-----`, base64 of a BER ContentInfo holding SignedData.
 */
export interface SignedMessage {
  /** The signer's digest algorithm OID. */
  digestAlgorithm: string;
  signatureAlgorithm: string;
  signature: Uint8Array;
  /** The signed attributes re-tagged as SET OF: the bytes the signature covers. */
  signedAttributes: Uint8Array;
  messageDigest: Uint8Array;
  signingTime?: Date;
  /** How the signer names its certificate. */
  /** The issuer Name as encoded (DER bytes) and serial, or a subjectKeyIdentifier. */
  signerId: { issuerSerial: { issuer: Uint8Array; serial: string } } | { keyIdentifier: Uint8Array };
  certificates: CertificateFacts[];
  /** Unsigned attribute values (each value's DER) by OID. */
  unsignedAttributes: Map<string, Uint8Array[]>;
}

export class MessageError extends Error {}

const BEGIN = '-----BEGIN SIGNED MESSAGE-----';
const END = '-----END SIGNED MESSAGE-----';
const SIGNED_DATA = '1.2.840.113549.1.7.2';
const DATA = '1.2.840.113549.1.7.1';
const CONTENT_TYPE = '1.2.840.113549.1.9.3';
const MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const SIGNING_TIME = '1.2.840.113549.1.9.5';

function decodeArmor(armored: string): Uint8Array {
  const text = armored.replace(/\r\n/g, '\n').trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) throw new MessageError('the signature is not one -----BEGIN SIGNED MESSAGE----- block');
  const body = text.slice(BEGIN.length, text.length - END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw new MessageError('the signature block is not base64');
  return new Uint8Array(Buffer.from(body, 'base64'));
}

function hexOf(bytes: Uint8Array): string {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return Buffer.from(bytes.subarray(start)).toString('hex');
}

function single(values: Uint8Array[] | undefined, what: string): asn1js.AsnType {
  if (!values || values.length !== 1) throw new MessageError(`the ${what} attribute must have exactly one value`);
  const parsed = readBer(values[0]!);
  if (!parsed.ok) throw new MessageError(`the ${what} attribute is unreadable: ${parsed.problem}`);
  return parsed.result;
}

type Block = asn1js.AsnType & {
  idBlock: { tagClass: number; tagNumber: number; isConstructed: boolean };
  valueBlock: { value?: unknown };
  valueBeforeDecodeView: Uint8Array;
};

function children(block: Block | undefined, what: string): Block[] {
  const value = block?.valueBlock.value;
  if (!block || !block.idBlock.isConstructed || !Array.isArray(value)) throw new MessageError(`${what} is not a constructed element`);
  return value as Block[];
}

function isUniversal(block: Block | undefined, tag: number): boolean {
  return block !== undefined && block.idBlock.tagClass === 1 && block.idBlock.tagNumber === tag;
}

function isContext(block: Block | undefined, tag: number): boolean {
  return block !== undefined && block.idBlock.tagClass === 3 && block.idBlock.tagNumber === tag;
}

function oidOf(block: Block | undefined, what: string): string {
  if (!(block instanceof asn1js.ObjectIdentifier)) throw new MessageError(`${what} is not an OBJECT IDENTIFIER`);
  return block.valueBlock.toString();
}

function algorithmOf(block: Block | undefined, what: string): string {
  if (!isUniversal(block, 16)) throw new MessageError(`${what} is not an AlgorithmIdentifier`);
  return oidOf(children(block, what)[0], what);
}

function attributesOf(block: Block, what: string): Map<string, Uint8Array[]> {
  const map = new Map<string, Uint8Array[]>();
  for (const attribute of children(block, what)) {
    const [type, values] = children(attribute, `an attribute of ${what}`);
    const oid = oidOf(type, `an attribute type of ${what}`);
    if (!isUniversal(values, 17)) throw new MessageError(`attribute ${oid} has no value set`);
    if (map.has(oid)) throw new MessageError(`attribute ${oid} appears twice`);
    map.set(
      oid,
      children(values, `attribute ${oid}`).map((value) => new Uint8Array(value.valueBeforeDecodeView)),
    );
  }
  return map;
}

/** Certificates read before, by their bytes: a history repeats its signers' certificates. */
const certificateCache = new Map<string, CertificateFacts>();
const CERTIFICATE_CACHE_SIZE = 256;

function cachedCertificate(der: Uint8Array): CertificateFacts {
  const key = Buffer.from(der).toString('latin1');
  const known = certificateCache.get(key);
  if (known) return known;
  const facts = readCertificate(der);
  if (certificateCache.size >= CERTIFICATE_CACHE_SIZE) certificateCache.delete(certificateCache.keys().next().value!);
  certificateCache.set(key, facts);
  return facts;
}

/**
 * Reads the SignedData by walking asn1js's generic tree (RFC 5652 section 5): pkijs's schema
 * matcher costs several milliseconds a signature, which a history of thousands repeats.
 */
export function readSignedMessage(armored: string): SignedMessage {
  const ber = decodeArmor(armored);
  const shape = berShapeProblem(ber);
  if (shape) throw new MessageError(`the signature is not well-formed BER: ${shape}`);
  const asn = readBer(ber);
  if (!asn.ok) throw new MessageError(`the signature is ${asn.problem}`);
  if (asn.offset !== ber.length) throw new MessageError('the signature has trailing bytes');
  const [contentType, explicit] = children(asn.result as Block, 'ContentInfo');
  if (oidOf(contentType, 'the content type') !== SIGNED_DATA) throw new MessageError('the content is not SignedData');
  if (!isContext(explicit, 0)) throw new MessageError('ContentInfo has no [0] content');
  const explicitChildren = children(explicit, 'the content');
  if (explicitChildren.length !== 1) throw new MessageError('ContentInfo content must be one element');
  const fields = children(explicitChildren[0], 'SignedData');
  let index = 0;
  if (!(fields[index++] instanceof asn1js.Integer)) throw new MessageError('SignedData has no version');
  if (!isUniversal(fields[index++], 17)) throw new MessageError('SignedData has no digestAlgorithms');
  const encap = children(fields[index++], 'encapContentInfo');
  if (oidOf(encap[0], 'the signed content type') !== DATA) throw new MessageError('the signed content type is not data');
  if (encap.length > 1) throw new MessageError('the signature is not detached: it carries its own content');
  const certificates: CertificateFacts[] = [];
  if (isContext(fields[index], 0)) {
    for (const certificate of children(fields[index++], 'certificates')) {
      if (!isUniversal(certificate, 16)) continue; // other certificate formats (attribute, v1): not ours to use
      try {
        certificates.push(cachedCertificate(new Uint8Array(certificate.valueBeforeDecodeView)));
      } catch (error) {
        if (error instanceof CertificateError) throw new MessageError(`an embedded certificate is unreadable: ${error.message}`);
        throw error;
      }
    }
  }
  if (isContext(fields[index], 1)) index++; // crls: signet takes revocation only from the registry
  if (!isUniversal(fields[index], 17) || index !== fields.length - 1) throw new MessageError('SignedData has no signerInfos set where expected');
  const signers = children(fields[index], 'signerInfos');
  if (signers.length !== 1) throw new MessageError(`the signature has ${signers.length} signers, not one`);
  const info = children(signers[0], 'SignerInfo');
  let at = 0;
  if (!(info[at++] instanceof asn1js.Integer)) throw new MessageError('SignerInfo has no version');
  const sid = info[at++];
  let signerId: SignedMessage['signerId'];
  if (isUniversal(sid, 16)) {
    const [issuer, serial] = children(sid, 'issuerAndSerialNumber');
    if (!isUniversal(issuer, 16) || !(serial instanceof asn1js.Integer)) throw new MessageError('issuerAndSerialNumber is malformed');
    signerId = { issuerSerial: { issuer: new Uint8Array(issuer!.valueBeforeDecodeView), serial: hexOf(serial.valueBlock.valueHexView) } };
  } else if (isContext(sid, 0) && !sid!.idBlock.isConstructed) {
    signerId = { keyIdentifier: new Uint8Array((sid as unknown as { valueBlock: { valueHexView: Uint8Array } }).valueBlock.valueHexView) };
  } else throw new MessageError('SignerInfo has no signer identifier');
  const digestAlgorithm = algorithmOf(info[at++], 'the digest algorithm');
  if (!isContext(info[at], 0)) throw new MessageError('the signature has no signed attributes');
  const signedBlock = info[at++]!;
  const signedAttributes = new Uint8Array(signedBlock.valueBeforeDecodeView);
  signedAttributes[0] = 0x31;
  const signed = attributesOf(signedBlock, 'the signed attributes');
  const signatureAlgorithm = algorithmOf(info[at++], 'the signature algorithm');
  const signatureBlock = info[at++];
  if (!(signatureBlock instanceof asn1js.OctetString)) throw new MessageError('the signature value is not an OCTET STRING');
  const unsignedAttributes = isContext(info[at], 1) ? attributesOf(info[at++]!, 'the unsigned attributes') : new Map<string, Uint8Array[]>();
  if (at !== info.length) throw new MessageError('SignerInfo has trailing fields');

  const contentTypeValue = single(signed.get(CONTENT_TYPE), 'contentType');
  if (!(contentTypeValue instanceof asn1js.ObjectIdentifier) || contentTypeValue.valueBlock.toString() !== DATA)
    throw new MessageError('the contentType attribute is not data');
  const digest = single(signed.get(MESSAGE_DIGEST), 'messageDigest');
  if (!(digest instanceof asn1js.OctetString)) throw new MessageError('the messageDigest attribute is not an OCTET STRING');
  let signingTime: Date | undefined;
  if (signed.has(SIGNING_TIME)) {
    const time = single(signed.get(SIGNING_TIME), 'signingTime');
    const read = strictTime(time);
    if (typeof read === 'string') throw new MessageError(`the signingTime attribute is malformed: ${read}`);
    signingTime = read;
  }
  return {
    digestAlgorithm,
    signatureAlgorithm,
    signature: new Uint8Array(signatureBlock.valueBlock.valueHexView),
    signedAttributes,
    messageDigest: new Uint8Array(digest.valueBlock.valueHexView),
    ...(signingTime ? { signingTime } : {}),
    signerId,
    certificates,
    unsignedAttributes,
  };
}

/** The embedded certificate the signer names, if it is there. */
export function signerCertificate(message: SignedMessage): CertificateFacts | undefined {
  const id = message.signerId;
  if ('keyIdentifier' in id) {
    const wanted = Buffer.from(id.keyIdentifier).toString('hex');
    return message.certificates.find((certificate) => {
      const ski = certificate.extensions.get('2.5.29.14');
      if (!ski || ski.length < 2) return false;
      return Buffer.from(ski.subarray(2)).toString('hex') === wanted;
    });
  }
  return message.certificates.find(
    (certificate) =>
      certificate.serial === id.issuerSerial.serial && Buffer.compare(Buffer.from(certificate.issuerDer), Buffer.from(id.issuerSerial.issuer)) === 0,
  );
}
