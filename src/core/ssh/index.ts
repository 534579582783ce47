/** SSH signatures (SSHSIG) as git makes and checks them: see verify.ts for the verdict rules. */
export { parseAllowedSigners, type AllowedSigner } from './allowed-signers.ts';
export { parseRevokedKeys, type RevokedSshKeys, type RevokedCertificates } from './revoked-keys.ts';
export { createSshRegistry, type SshRegistry, type SshRegistryOptions } from './registry.ts';
export { verifySshSignature, verifySshSignatureWith, type SshVerifyOptions } from './verify.ts';
export { sshFingerprint } from './fingerprint.ts';
