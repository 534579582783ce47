import { verify as cryptoVerify, type KeyObject } from 'node:crypto';

/** Digest algorithm OIDs CMS and X.509 name, and node's names for them. */
const DIGESTS: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '1.3.14.3.2.26': 'sha1',
  '1.2.840.113549.2.5': 'md5',
};

/** Digests whose collisions are practical: a signature over one is never trusted. */
export const WEAK_DIGESTS = new Set(['sha1', 'md5']);

export function digestName(oid: string): string | undefined {
  return DIGESTS[oid];
}

interface SignatureAlgorithm {
  key: 'rsa' | 'ec' | 'ed25519';
  /** The hash the algorithm fixes; undefined: the signer's digest algorithm decides. */
  hash?: string;
}

const SIGNATURES: Record<string, SignatureAlgorithm> = {
  '1.2.840.113549.1.1.1': { key: 'rsa' },
  '1.2.840.113549.1.1.5': { key: 'rsa', hash: 'sha1' },
  '1.2.840.113549.1.1.11': { key: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { key: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { key: 'rsa', hash: 'sha512' },
  '1.2.840.113549.1.1.14': { key: 'rsa', hash: 'sha224' },
  '1.2.840.10045.2.1': { key: 'ec' },
  '1.2.840.10045.4.1': { key: 'ec', hash: 'sha1' },
  '1.2.840.10045.4.3.2': { key: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { key: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { key: 'ec', hash: 'sha512' },
  '1.3.101.112': { key: 'ed25519' },
};

export type SignatureCheck = { ok: true; hash: string } | { ok: false; why: 'bad' | 'unsupported' | 'weak'; detail: string };

/**
 * Checks `signature` over `data` with `key` under the algorithm `algorithmOid` (and, where
 * that leaves the hash open, `digestOid`). Unknown or mismatched algorithms are reported as
 * unsupported, never tried with a guess.
 */
export function checkSignature(key: KeyObject, algorithmOid: string, digestOid: string | undefined, data: Uint8Array, signature: Uint8Array): SignatureCheck {
  const algorithm = SIGNATURES[algorithmOid];
  if (!algorithm) return { ok: false, why: 'unsupported', detail: `signature algorithm ${algorithmOid} is not supported` };
  const keyType = key.asymmetricKeyType;
  if (keyType !== algorithm.key)
    return { ok: false, why: 'unsupported', detail: `a ${keyType ?? 'unknown'} key cannot make a ${algorithm.key} signature (${algorithmOid})` };
  let hash = 'none';
  if (algorithm.key !== 'ed25519') {
    const digest = digestOid ? digestName(digestOid) : undefined;
    if (algorithm.hash && digest && digest !== algorithm.hash)
      return { ok: false, why: 'unsupported', detail: `signature algorithm ${algorithmOid} does not use the digest ${digest}` };
    const chosen = algorithm.hash ?? digest;
    if (!chosen) return { ok: false, why: 'unsupported', detail: `digest algorithm ${digestOid ?? '(none)'} is not supported` };
    if (WEAK_DIGESTS.has(chosen)) return { ok: false, why: 'weak', detail: `the signature uses ${chosen}, whose collisions are practical` };
    hash = chosen;
  }
  const good = cryptoVerify(algorithm.key === 'ed25519' ? null : hash, data, algorithm.key === 'ec' ? { key, dsaEncoding: 'der' } : key, signature);
  return good ? { ok: true, hash } : { ok: false, why: 'bad', detail: 'the signature does not verify' };
}
