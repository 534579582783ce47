import { SignetError } from '../errors.ts';
import { isRecord, parseJson } from './encoding.ts';

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const SPDX_PREDICATE_TYPE = 'https://spdx.dev/Document';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** What cosign v3 puts in the DSSE statement of a bundle-format image signature. */
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

export interface ResourceDescriptor {
  name: string;
  digest: Record<string, string>;
}

export interface InTotoStatement {
  _type: typeof IN_TOTO_STATEMENT_V1;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: unknown;
}

export function inTotoStatement(subject: ResourceDescriptor[], predicateType: string, predicate: unknown): InTotoStatement {
  if (subject.length === 0) throw new SignetError('USAGE', 'an in-toto statement needs at least one subject');
  return { _type: IN_TOTO_STATEMENT_V1, subject, predicateType, predicate };
}

export function parseInTotoStatement(bytes: Uint8Array, what: string): InTotoStatement {
  const value = parseJson(bytes, what);
  if (!isRecord(value) || value._type !== IN_TOTO_STATEMENT_V1 || !Array.isArray(value.subject) || typeof value.predicateType !== 'string') {
    throw new SignetError('SIGNATURE_MALFORMED', `${what} is not an in-toto Statement v1`);
  }
  const subject = value.subject.map((entry): ResourceDescriptor => {
    if (!isRecord(entry) || !isRecord(entry.digest)) throw new SignetError('SIGNATURE_MALFORMED', `${what}: a subject has no digest`);
    const digest: Record<string, string> = {};
    for (const [algorithm, hex] of Object.entries(entry.digest)) if (typeof hex === 'string') digest[algorithm] = hex;
    return { name: typeof entry.name === 'string' ? entry.name : '', digest };
  });
  return { _type: IN_TOTO_STATEMENT_V1, subject, predicateType: value.predicateType, predicate: value.predicate };
}

/** Whether some subject carries this sha256 (hex, lower case). */
export function statementCoversSha256(statement: InTotoStatement, sha256Hex: string): boolean {
  return statement.subject.some((subject) => subject.digest.sha256?.toLowerCase() === sha256Hex.toLowerCase());
}
