/** The two object formats git knows. The id length tells them apart everywhere. */
export type HashAlgorithm = 'sha1' | 'sha256';

export function hashLength(algorithm: HashAlgorithm): number {
  return algorithm === 'sha1' ? 20 : 32;
}

export function zeroId(algorithm: HashAlgorithm): string {
  return '0'.repeat(hashLength(algorithm) * 2);
}

export function isZeroId(oid: string): boolean {
  return /^0+$/.test(oid) && (oid.length === 40 || oid.length === 64);
}
