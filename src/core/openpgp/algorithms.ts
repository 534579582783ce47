/**
 * OpenPGP algorithm numbers (RFC 4880 §9, RFC 9580 §9) and what gpg 2.2 makes of them.
 * gpg 2.2 is the reference: an algorithm it cannot check is `E unsupported_algorithm` here too,
 * even where node:crypto or openpgp.js could check it.
 */

export const PublicKeyAlgorithm = {
  rsaEncryptSign: 1,
  rsaEncrypt: 2,
  rsaSign: 3,
  elgamalEncrypt: 16,
  dsa: 17,
  ecdh: 18,
  ecdsa: 19,
  elgamalEncryptSign: 20,
  eddsaLegacy: 22,
} as const;

/** Public-key algorithms gpg 2.2 verifies data signatures with. */
export function canSignAlgorithm(algorithm: number): boolean {
  return (
    algorithm === PublicKeyAlgorithm.rsaEncryptSign ||
    algorithm === PublicKeyAlgorithm.rsaSign ||
    algorithm === PublicKeyAlgorithm.dsa ||
    algorithm === PublicKeyAlgorithm.ecdsa ||
    algorithm === PublicKeyAlgorithm.eddsaLegacy
  );
}

export function isRsa(algorithm: number): boolean {
  return algorithm === PublicKeyAlgorithm.rsaEncryptSign || algorithm === PublicKeyAlgorithm.rsaSign;
}

interface HashInfo {
  /** node:crypto's name; also what `hashAlgorithm` reports. */
  name: string;
  /** DER DigestInfo prefix for RSA PKCS#1 v1.5 (RFC 8017 §9.2 note 1). */
  digestInfo: Buffer;
}

const hex = (value: string): Buffer => Buffer.from(value.replace(/ /g, ''), 'hex');

/**
 * Hash algorithms gpg 2.2.40 accepts for data signatures. MD5 (1) is known to it but rejected
 * by default ("signatures using the MD5 algorithm are rejected", ERRSIG); SHA3 (12, 14) and
 * anything else are unknown to it. SHA-1 is accepted (a policy may refuse it via `hashAlgorithm`).
 */
const hashes = new Map<number, HashInfo>([
  [2, { name: 'sha1', digestInfo: hex('30 21 30 09 06 05 2b 0e 03 02 1a 05 00 04 14') }],
  [3, { name: 'ripemd160', digestInfo: hex('30 21 30 09 06 05 2b 24 03 02 01 05 00 04 14') }],
  [8, { name: 'sha256', digestInfo: hex('30 31 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20') }],
  [9, { name: 'sha384', digestInfo: hex('30 41 30 0d 06 09 60 86 48 01 65 03 04 02 02 05 00 04 30') }],
  [10, { name: 'sha512', digestInfo: hex('30 51 30 0d 06 09 60 86 48 01 65 03 04 02 03 05 00 04 40') }],
  [11, { name: 'sha224', digestInfo: hex('30 2d 30 0d 06 09 60 86 48 01 65 03 04 02 04 05 00 04 1c') }],
]);

const hashNamesForReport = new Map<number, string>([
  [1, 'md5'],
  [2, 'sha1'],
  [3, 'ripemd160'],
  [8, 'sha256'],
  [9, 'sha384'],
  [10, 'sha512'],
  [11, 'sha224'],
  [12, 'sha3-256'],
  [14, 'sha3-512'],
]);

export function supportedHash(algorithm: number): HashInfo | undefined {
  return hashes.get(algorithm);
}

/** A lower-case name for any hash algorithm number, for verdicts and details. */
export function hashName(algorithm: number): string {
  return hashNamesForReport.get(algorithm) ?? `hash-${algorithm}`;
}

/** Curve OIDs (DER body, without tag and length) gpg 2.2 knows for ECDSA / EdDSA. */
export const CurveOid = {
  ed25519: '2b06010401da470f01',
  curve25519: '2b060104019755010501',
  p256: '2a8648ce3d030107',
  p384: '2b81040022',
  p521: '2b81040023',
} as const;

/** JWK curve names node:crypto imports, by OID hex; other curves go through openpgp.js. */
export const nodeEcdsaCurves = new Map<string, { jwk: 'P-256' | 'P-384' | 'P-521'; bytes: number }>([
  [CurveOid.p256, { jwk: 'P-256', bytes: 32 }],
  [CurveOid.p384, { jwk: 'P-384', bytes: 48 }],
  [CurveOid.p521, { jwk: 'P-521', bytes: 66 }],
]);
