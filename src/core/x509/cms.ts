import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
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
  signerId: { issuerSerial: { issuer: pkijs.RelativeDistinguishedNames; serial: string } } | { keyIdentifier: Uint8Array };
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

function attributeValues(attributes: pkijs.Attribute[] | undefined): Map<string, Uint8Array[]> {
  const map = new Map<string, Uint8Array[]>();
  for (const attribute of attributes ?? []) {
    if (map.has(attribute.type)) throw new MessageError(`attribute ${attribute.type} appears twice`);
    map.set(attribute.type, attribute.values.map((value: asn1js.AsnType) => new Uint8Array(value.toBER(false))));
  }
  return map;
}

function single(values: Uint8Array[] | undefined, what: string): asn1js.AsnType {
  if (!values || values.length !== 1) throw new MessageError(`the ${what} attribute must have exactly one value`);
  const parsed = asn1js.fromBER(values[0]!);
  if (parsed.offset === -1) throw new MessageError(`the ${what} attribute is unreadable`);
  return parsed.result;
}

export function readSignedMessage(armored: string): SignedMessage {
  const ber = decodeArmor(armored);
  const shape = berShapeProblem(ber);
  if (shape) throw new MessageError(`the signature is not well-formed BER: ${shape}`);
  const asn = asn1js.fromBER(ber);
  if (asn.offset === -1) throw new MessageError('the signature is not BER');
  if (asn.offset !== ber.length) throw new MessageError('the signature has trailing bytes');
  let signedData: pkijs.SignedData;
  try {
    const info = new pkijs.ContentInfo({ schema: asn.result });
    if (info.contentType !== SIGNED_DATA) throw new MessageError(`the content is ${info.contentType}, not SignedData`);
    signedData = new pkijs.SignedData({ schema: info.content });
  } catch (error) {
    if (error instanceof MessageError) throw error;
    throw new MessageError(`unreadable SignedData: ${(error as Error).message}`);
  }
  if (signedData.encapContentInfo.eContentType !== DATA) throw new MessageError('the signed content type is not data');
  if (signedData.encapContentInfo.eContent) throw new MessageError('the signature is not detached: it carries its own content');
  if (signedData.signerInfos.length !== 1) throw new MessageError(`the signature has ${signedData.signerInfos.length} signers, not one`);
  const signer = signedData.signerInfos[0]!;
  if (!signer.signedAttrs) throw new MessageError('the signature has no signed attributes');
  const signedAttributes = new Uint8Array(signer.signedAttrs.encodedValue.slice(0));
  signedAttributes[0] = 0x31;
  const signed = attributeValues(signer.signedAttrs.attributes);
  const contentType = single(signed.get(CONTENT_TYPE), 'contentType');
  if (!(contentType instanceof asn1js.ObjectIdentifier) || contentType.valueBlock.toString() !== DATA) throw new MessageError('the contentType attribute is not data');
  const digest = single(signed.get(MESSAGE_DIGEST), 'messageDigest');
  if (!(digest instanceof asn1js.OctetString)) throw new MessageError('the messageDigest attribute is not an OCTET STRING');
  let signingTime: Date | undefined;
  if (signed.has(SIGNING_TIME)) {
    const time = single(signed.get(SIGNING_TIME), 'signingTime');
    if (!(time instanceof asn1js.UTCTime || time instanceof asn1js.GeneralizedTime)) throw new MessageError('the signingTime attribute is not a time');
    signingTime = time.toDate();
    if (Number.isNaN(signingTime.getTime())) throw new MessageError('the signingTime attribute is not a valid time');
  }
  const certificates: CertificateFacts[] = [];
  for (const certificate of signedData.certificates ?? []) {
    if (!(certificate instanceof pkijs.Certificate)) continue;
    try {
      certificates.push(readCertificate(new Uint8Array(certificate.toSchema().toBER(false))));
    } catch (error) {
      if (error instanceof CertificateError) throw new MessageError(`an embedded certificate is unreadable: ${error.message}`);
      throw error;
    }
  }
  const sid = signer.sid as unknown;
  const signerId: SignedMessage['signerId'] = sid instanceof pkijs.IssuerAndSerialNumber
    ? { issuerSerial: { issuer: sid.issuer, serial: hexOf(sid.serialNumber.valueBlock.valueHexView) } }
    : { keyIdentifier: new Uint8Array((sid as asn1js.OctetString).valueBlock.valueHexView) };
  return {
    digestAlgorithm: signer.digestAlgorithm.algorithmId,
    signatureAlgorithm: signer.signatureAlgorithm.algorithmId,
    signature: new Uint8Array(signer.signature.valueBlock.valueHexView),
    signedAttributes,
    messageDigest: new Uint8Array(digest.valueBlock.valueHexView),
    ...(signingTime ? { signingTime } : {}),
    signerId,
    certificates,
    unsignedAttributes: attributeValues(signer.unsignedAttrs?.attributes),
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
  return message.certificates.find((certificate) => {
    if (certificate.serial !== id.issuerSerial.serial) return false;
    const parsed = pkijs.Certificate.fromBER(certificate.der);
    return parsed.issuer.isEqual(id.issuerSerial.issuer);
  });
}
