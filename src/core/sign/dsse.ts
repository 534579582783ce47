import { SignetError } from '../errors.ts';
import { fromBase64, isRecord, toBase64 } from './encoding.ts';
import type { Signer } from './signer.ts';
import { verifySignature } from './signer.ts';
import type { KeyObject } from 'node:crypto';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  keyid: string;
  sig: string;
}

/** A DSSE envelope as JSON carries it (and as a sigstore bundle's `dsseEnvelope` does). */
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

/** DSSE's pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, 'utf8'), type, Buffer.from(` ${payload.length} `, 'utf8'), payload]);
}

export async function signDsse(signer: Signer, payloadType: string, payload: Uint8Array): Promise<DsseEnvelope> {
  const signature = await signer.sign(preAuthEncoding(payloadType, payload));
  return { payloadType, payload: toBase64(payload), signatures: [{ keyid: signer.keyId, sig: toBase64(signature) }] };
}

export function parseDsseEnvelope(value: unknown, what: string): DsseEnvelope {
  if (!isRecord(value) || typeof value.payloadType !== 'string' || typeof value.payload !== 'string' || !Array.isArray(value.signatures)) {
    throw new SignetError('SIGNATURE_MALFORMED', `${what} is not a DSSE envelope`);
  }
  const signatures = value.signatures.map((entry): DsseSignature => {
    if (!isRecord(entry) || typeof entry.sig !== 'string') throw new SignetError('SIGNATURE_MALFORMED', `${what}: a DSSE signature has no 'sig'`);
    return { keyid: typeof entry.keyid === 'string' ? entry.keyid : '', sig: entry.sig };
  });
  return { payloadType: value.payloadType, payload: value.payload, signatures };
}

/** The payload bytes when one of the envelope's signatures verifies with `publicKey`, else undefined. */
export function verifyDsse(envelope: DsseEnvelope, publicKey: KeyObject): Buffer | undefined {
  const payload = fromBase64(envelope.payload, 'DSSE payload');
  const pae = preAuthEncoding(envelope.payloadType, payload);
  for (const signature of envelope.signatures) {
    let sig: Buffer;
    try {
      sig = fromBase64(signature.sig, 'DSSE signature');
    } catch {
      continue;
    }
    if (verifySignature(publicKey, pae, sig)) return payload;
  }
  return undefined;
}
