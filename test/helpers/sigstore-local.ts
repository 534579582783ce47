/**
 * A local Sigstore for tests: @sigstore/mock's Fulcio CA and Rekor log, called directly (no
 * network), and a trusted_root.json built from their keys. Signs git commits the way gitsign
 * does in its offline mode: CMS detached SignedData, one signer, ECDSA P-256/SHA-256 over the
 * signed attributes (contentType, signingTime, messageDigest = SHA-256 of the commit without
 * gpgsig), the short-lived Fulcio leaf embedded, and the Rekor TransparencyLogEntry (protobuf,
 * body removed) as unsigned attribute 1.3.6.1.4.1.57264.3.1. Keys and trusted root as the
 * artifact services (test/helpers/sigstore-services.ts) make them.
 */
import 'reflect-metadata';
import { createHash, sign } from 'node:crypto';
import { initializeCA, initializeTLog } from '@sigstore/mock';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { hashedRekordBody } from '../../src/core/sigstore/gitsign.ts';
import { ec as ecKeys, mockTrustedRoot } from './sigstore-services.ts';

export const FULCIO_ISSUER_OID = '1.3.6.1.4.1.57264.1.8';
export const REKOR_ENTRY_OID = '1.3.6.1.4.1.57264.3.1';

export interface LocalSigstore {
  trustedRoot: string;
  /** Signs `payload` (a commit without gpgsig) as gitsign would; returns the armored signature. */
  sign(payload: Uint8Array, options?: SignOptions): Promise<string>;
}

export interface SignOptions {
  subject?: string;
  issuer?: string;
  /** Leave the log entry out (gitsign's old online mode). */
  noLogEntry?: boolean;
  /** Log this body instead of the one for this signature ("a log entry for another signature"). */
  logOtherBody?: boolean;
  /** Flip a byte of the inclusion proof's root hash. */
  flipProofHash?: boolean;
  /** Flip a byte of the root hash inside the signed checkpoint. */
  flipCheckpointRoot?: boolean;
  /** Leave the SET out (so only the inclusion proof vouches). */
  noPromise?: boolean;
  /** The log's clock (default: the CA's, i.e. now). */
  logClock?: Date;
}

// Protobuf wire format, the few shapes a TransparencyLogEntry needs.
function varint(value: bigint | number): Buffer {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}
const intField = (n: number, value: bigint | number): Buffer => Buffer.concat([varint(n << 3), varint(value)]);
const bytesField = (n: number, value: Uint8Array | string): Buffer => {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  return Buffer.concat([varint((n << 3) | 2), varint(bytes.length), bytes]);
};

interface MockEntry {
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: {
    signedEntryTimestamp: string;
    inclusionProof: { logIndex: number; treeSize: number; rootHash: string; hashes: string[]; checkpoint: string };
  };
}

export function encodeLogEntry(entry: MockEntry, options: { flipProofHash?: boolean; flipCheckpointRoot?: boolean; noPromise?: boolean } = {}): Buffer {
  const proof = entry.verification.inclusionProof;
  const root = Buffer.from(proof.rootHash, 'hex');
  if (options.flipProofHash) root[0]! ^= 0x01;
  if (options.flipCheckpointRoot) {
    const lines = proof.checkpoint.split('\n');
    const signedRoot = Buffer.from(lines[2]!, 'base64');
    signedRoot[0]! ^= 0x01;
    lines[2] = signedRoot.toString('base64');
    proof.checkpoint = lines.join('\n');
    root[0]! ^= 0x01;
  }
  return Buffer.concat([
    intField(1, entry.logIndex),
    bytesField(2, bytesField(1, Buffer.from(entry.logID, 'hex'))),
    bytesField(3, Buffer.concat([bytesField(1, 'hashedrekord'), bytesField(2, '0.0.1')])),
    intField(4, entry.integratedTime),
    ...(options.noPromise ? [] : [bytesField(5, bytesField(1, Buffer.from(entry.verification.signedEntryTimestamp, 'base64')))]),
    bytesField(
      6,
      Buffer.concat([
        intField(1, proof.logIndex),
        bytesField(2, root),
        intField(3, proof.treeSize),
        ...proof.hashes.map((hash) => bytesField(4, Buffer.from(hash, 'hex'))),
        bytesField(5, bytesField(1, proof.checkpoint)),
      ]),
    ),
  ]);
}

function attribute(type: string, value: asn1js.AsnType): pkijs.Attribute {
  return new pkijs.Attribute({ type, values: [value] });
}

export async function localSigstore(): Promise<LocalSigstore> {
  const caKeys = ecKeys();
  const logKeys = ecKeys();
  const ca = await initializeCA(caKeys);
  const log = await initializeTLog('https://rekor.local', logKeys);
  const logSpki = logKeys.publicKey.export({ format: 'der', type: 'spki' });
  const trustedRoot = JSON.stringify(
    mockTrustedRoot({
      logUrl: 'https://rekor.local',
      logKey: logSpki,
      caUrl: 'https://fulcio.local',
      caRoot: ca.rootCertificate,
      start: '2000-01-01T00:00:00Z',
    }),
  );

  async function signPayload(payload: Uint8Array, options: SignOptions = {}): Promise<string> {
    const keys = ecKeys();
    const certificate = await ca.issueCertificate({
      publicKey: keys.publicKey.export({ format: 'der', type: 'spki' }),
      subjectAltName: options.subject ?? 'alice@example.com',
      extensions: [{ oid: FULCIO_ISSUER_OID, value: options.issuer ?? 'https://accounts.example.com' }],
    });
    const leaf = pkijs.Certificate.fromBER(certificate);
    const signedAttrs = new pkijs.SignedAndUnsignedAttributes({
      type: 0,
      attributes: [
        attribute('1.2.840.113549.1.9.3', new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })),
        attribute('1.2.840.113549.1.9.5', new asn1js.UTCTime({ valueDate: new Date() })),
        attribute('1.2.840.113549.1.9.4', new asn1js.OctetString({ valueHex: createHash('sha256').update(payload).digest() })),
      ],
    });
    // The signature covers the attributes encoded as a SET OF (tag 0x31), not as [0].
    const encoded = Buffer.from(signedAttrs.toSchema().toBER(false));
    encoded[0] = 0x31;
    const signature = sign('sha256', encoded, { key: keys.privateKey, dsaEncoding: 'der' });
    let unsignedAttrs: pkijs.SignedAndUnsignedAttributes | undefined;
    if (!options.noLogEntry) {
      const body = JSON.parse(
        options.logOtherBody ? hashedRekordBody(Buffer.from('another signature'), encoded, certificate) : hashedRekordBody(signature, encoded, certificate),
      ) as object;
      const logged = options.logClock ? await (await initializeTLog('https://rekor.local', logKeys, options.logClock)).log(body) : await log.log(body);
      const entry = Object.values(logged)[0] as unknown as MockEntry;
      unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({
        type: 1,
        attributes: [attribute(REKOR_ENTRY_OID, new asn1js.OctetString({ valueHex: encodeLogEntry(entry, options) }))],
      });
    }
    const signer = new pkijs.SignerInfo({
      version: 1,
      sid: new pkijs.IssuerAndSerialNumber({ issuer: leaf.issuer, serialNumber: leaf.serialNumber }),
      digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.2.1' }),
      signedAttrs,
      signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.10045.4.3.2' }),
      signature: new asn1js.OctetString({ valueHex: signature }),
      ...(unsignedAttrs ? { unsignedAttrs } : {}),
    });
    const signedData = new pkijs.SignedData({
      version: 1,
      digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: '2.16.840.1.101.3.4.2.1' })],
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
      certificates: [leaf],
      signerInfos: [signer],
    });
    const info = new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2', content: signedData.toSchema() });
    const der = Buffer.from(info.toSchema().toBER(false));
    const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
    return ['-----BEGIN SIGNED MESSAGE-----', ...lines, '-----END SIGNED MESSAGE-----'].join('\n');
  }

  return { trustedRoot, sign: signPayload };
}
