/**
 * Reads the protobuf TransparencyLogEntry (sigstore/protobuf-specs, rekor/v1) that gitsign
 * stores in the unsigned CMS attribute 1.3.6.1.4.1.57264.3.1, into the JSON form
 * `@sigstore/bundle` takes. A small reader of the wire format, strict: unknown wire types,
 * truncation and overlong varints are errors, never skipped into a pass.
 */
export class ProtoError extends Error {}

interface Field {
  number: number;
  /** Varint fields: the value (as bigint). */
  varint?: bigint;
  /** Length-delimited fields: the bytes. */
  bytes?: Uint8Array;
}

function readFields(data: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= data.length) throw new ProtoError('truncated varint');
      const byte = data[at++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new ProtoError('overlong varint');
  };
  while (at < data.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (number === 0) throw new ProtoError('field number 0');
    if (wire === 0) fields.push({ number, varint: varint() });
    else if (wire === 2) {
      const length = Number(varint());
      if (at + length > data.length) throw new ProtoError('truncated field');
      fields.push({ number, bytes: data.subarray(at, at + length) });
      at += length;
    } else throw new ProtoError(`unsupported wire type ${wire}`);
  }
  return fields;
}

function one(fields: Field[], number: number): Field | undefined {
  const found = fields.filter((field) => field.number === number);
  return found[found.length - 1];
}

function bytesOf(fields: Field[], number: number, what: string): Uint8Array {
  const field = one(fields, number);
  if (!field?.bytes) throw new ProtoError(`${what} is missing`);
  return field.bytes;
}

function intOf(fields: Field[], number: number): string {
  const field = one(fields, number);
  if (field && field.varint === undefined) throw new ProtoError(`field ${number} is not an integer`);
  return BigInt.asIntN(64, field?.varint ?? 0n).toString();
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const utf8 = (bytes: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(bytes);

export interface LogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise?: { signedEntryTimestamp: string };
  inclusionProof?: { logIndex: string; rootHash: string; treeSize: string; hashes: string[]; checkpoint: { envelope: string } };
  canonicalizedBody?: string;
}

export function readLogEntry(data: Uint8Array): LogEntryJson {
  const fields = readFields(data);
  const logId = readFields(bytesOf(fields, 2, 'logId'));
  const kindVersion = readFields(bytesOf(fields, 3, 'kindVersion'));
  const entry: LogEntryJson = {
    logIndex: intOf(fields, 1),
    logId: { keyId: b64(bytesOf(logId, 1, 'logId.keyId')) },
    kindVersion: { kind: utf8(bytesOf(kindVersion, 1, 'kindVersion.kind')), version: utf8(bytesOf(kindVersion, 2, 'kindVersion.version')) },
    integratedTime: intOf(fields, 4),
  };
  const promise = one(fields, 5);
  if (promise) {
    if (!promise.bytes) throw new ProtoError('inclusionPromise is not a message');
    entry.inclusionPromise = { signedEntryTimestamp: b64(bytesOf(readFields(promise.bytes), 1, 'inclusionPromise.signedEntryTimestamp')) };
  }
  const proof = one(fields, 6);
  if (proof) {
    if (!proof.bytes) throw new ProtoError('inclusionProof is not a message');
    const p = readFields(proof.bytes);
    entry.inclusionProof = {
      logIndex: intOf(p, 1),
      rootHash: b64(bytesOf(p, 2, 'inclusionProof.rootHash')),
      treeSize: intOf(p, 3),
      hashes: p
        .filter((field) => field.number === 4)
        .map((field) => {
          if (!field.bytes) throw new ProtoError('inclusionProof.hashes is not bytes');
          return b64(field.bytes);
        }),
      checkpoint: { envelope: utf8(bytesOf(readFields(bytesOf(p, 5, 'inclusionProof.checkpoint')), 1, 'checkpoint.envelope')) },
    };
  }
  const body = one(fields, 7);
  if (body?.bytes && body.bytes.length > 0) entry.canonicalizedBody = b64(body.bytes);
  return entry;
}
