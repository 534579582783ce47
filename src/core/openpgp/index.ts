import type { SignatureVerdict } from '../verdict.ts';
import type { VerifyOptions } from './decide.ts';
import { asLoadedRegistry, type OpenPgpRegistry } from './registry.ts';
import { runHere } from '../native-verify.ts';
import { FALLBACK, verifyFast } from './verify-fast.ts';
import { verifyWithOpenPgpJs } from './verify-openpgpjs.ts';

export { loadOpenPgpRegistry } from './registry.ts';
export type { KeySourceText, OpenPgpKeyInfo, OpenPgpRegistry } from './registry.ts';
export type { VerifyOptions as OpenPgpVerifyOptions } from './decide.ts';

/**
 * Verifies a detached OpenPGP signature over `payload` (the exact bytes git hands gpg) and
 * answers as `git log --pretty=%G?` would with gpg 2.2 and a keyring holding exactly the
 * registry's keys at ultimate owner trust, judged at `options.now`. Never throws for bad
 * signature input: every problem with the signature is a verdict.
 */
export async function verifyOpenPgpSignature(
  registry: OpenPgpRegistry,
  payload: Uint8Array,
  armoredSignature: string,
  options: VerifyOptions,
): Promise<SignatureVerdict> {
  const loaded = asLoadedRegistry(registry);
  const fast = verifyFast(loaded, payload, armoredSignature, options);
  if (fast === FALLBACK) return verifyWithOpenPgpJs(loaded, payload, armoredSignature, options);
  // Ed25519 and ECDSA checks may run elsewhere (the thread pool), so that a caller with many
  // signatures in flight uses every core while it parses the next ones.
  if ('native' in fast) return fast.finish(await (options.runner ?? runHere).run(fast.native));
  return fast;
}

/**
 * The same verdict with openpgp.js parsing, hashing and checking the cryptography: slower,
 * kept as the reference the fast path is tested and measured against.
 */
export async function verifyOpenPgpSignatureWithOpenPgpJs(
  registry: OpenPgpRegistry,
  payload: Uint8Array,
  armoredSignature: string,
  options: VerifyOptions,
): Promise<SignatureVerdict> {
  return verifyWithOpenPgpJs(asLoadedRegistry(registry), payload, armoredSignature, options);
}
