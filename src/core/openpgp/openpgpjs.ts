/**
 * openpgp.js, loaded on first use. Importing it costs ~55 ms (compiling 0.8 MB and building
 * its cipher tables): only reading keyrings and the fallback verifier need it, so a run with
 * SSH keys alone never pays for it (`signet verify` without --keyring: 185 → 121 ms start-up).
 */
import type * as OpenPgp from 'openpgp';

export type OpenPgpModule = typeof OpenPgp;

let loading: Promise<OpenPgpModule> | undefined;

export function openpgpjs(): Promise<OpenPgpModule> {
  loading ??= import('openpgp');
  return loading;
}

/** openpgp.js settings for checking signatures the way gpg 2.2 accepts them. */
export function gpgLikeConfig(openpgp: OpenPgpModule): OpenPgp.PartialConfig {
  return {
    // gpg 2.2 accepts SHA-1 and RIPEMD-160 self-signatures; it rejects MD5.
    rejectHashAlgorithms: new Set([openpgp.enums.hash.md5]),
    rejectMessageHashAlgorithms: new Set([openpgp.enums.hash.md5]),
    rejectPublicKeyAlgorithms: new Set(),
    rejectCurves: new Set(),
    minRSABits: 0,
  };
}

let fullConfig: OpenPgp.Config | undefined;

/** openpgp.js's defaults with the gpg-like settings over them. */
export function gpgLikeFullConfig(openpgp: OpenPgpModule): OpenPgp.Config {
  fullConfig ??= { ...openpgp.config, ...gpgLikeConfig(openpgp) } as OpenPgp.Config;
  return fullConfig;
}
