/** X.509 CMS signatures as gpgsm (`gpg.format=x509`) makes them: see verify.ts for the letters. */
export { createX509Registry, parseRevocationList, parseX509Roots, type RevocationList, type X509Registry } from './registry.ts';
export { verifyX509Signature, type X509VerifyOptions } from './verify.ts';
export type { CertificateFacts } from './certificate.ts';
