import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SignetError } from '../core/errors.ts';
import { loadOpenPgpRegistry } from '../core/openpgp/index.ts';
import { createSshRegistry, parseAllowedSigners, parseRevokedKeys } from '../core/ssh/index.ts';
import { anchoredRegexp, type KeylessIdentity } from '../core/sigstore/identity.ts';
import type { KeylessIdentitySpec } from '../core/policy/types.ts';
import type { KeyRegistries } from '../core/verify-object.ts';

export interface RegistryFiles {
  keyrings: string[];
  allowedSigners?: string | undefined;
  revokedKeys?: string | undefined;
  /** PEM CA certificates X.509 (gpgsm) signatures must chain to. */
  x509Roots?: string[] | undefined;
  /** CRLs (DER or PEM) for those CAs. */
  crls?: string[] | undefined;
  /** A Sigstore trusted_root.json for gitsign signatures (default: the public-good one). */
  trustedRoot?: string | undefined;
  /** Keyless identities gitsign signatures may come from; none: no gitsign commit is G. */
  keylessIdentities?: KeylessIdentity[] | undefined;
}

/**
 * The key material itself, read once: plain data, so it can be handed to worker threads
 * (structured clone) and built into registries there without touching the files again.
 */
export interface RegistrySources {
  keyrings: Array<{ name: string; text: string }>;
  allowedSigners?: { name: string; text: string };
  revokedKeys?: { name: string; bytes: Uint8Array };
  x509Roots?: Array<{ name: string; text: string }>;
  crls?: Array<{ name: string; bytes: Uint8Array }>;
  trustedRoot?: { name: string; text: string };
  keylessIdentities?: KeylessIdentity[];
}

function readKeyFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw new SignetError('KEYRING_INVALID', `${path}: cannot read ${what} (${why})`);
  }
}

/**
 * GnuPG 2.1+ keeps public keys in a keybox (pubring.kbx: "KBXf" at offset 8 of its first blob),
 * a format of its own that openpgp.js does not read: say how to export it instead.
 */
function refuseKeybox(path: string, bytes: Buffer): Buffer {
  if (bytes.length >= 12 && bytes.subarray(8, 12).toString('latin1') === 'KBXf') {
    throw new SignetError(
      'KEYRING_INVALID',
      `${path}: is a GnuPG keybox, which signet does not read; export its keys and give that file: gpg --homedir ${dirname(resolve(path))} --armor --export > keys.asc, then --keyring keys.asc`,
    );
  }
  return bytes;
}

export function readRegistrySources(files: RegistryFiles): RegistrySources {
  return {
    keyrings: files.keyrings.map((path) => ({ name: path, text: refuseKeybox(path, readKeyFile(path, 'OpenPGP keyring')).toString('latin1') })),
    ...(files.allowedSigners
      ? { allowedSigners: { name: files.allowedSigners, text: readKeyFile(files.allowedSigners, 'allowed signers file').toString('utf8') } }
      : {}),
    ...(files.revokedKeys ? { revokedKeys: { name: files.revokedKeys, bytes: new Uint8Array(readKeyFile(files.revokedKeys, 'revoked keys file')) } } : {}),
    ...(files.x509Roots?.length
      ? { x509Roots: files.x509Roots.map((path) => ({ name: path, text: readKeyFile(path, 'X.509 root certificates').toString('latin1') })) }
      : {}),
    ...(files.trustedRoot ? { trustedRoot: { name: files.trustedRoot, text: readKeyFile(files.trustedRoot, 'Sigstore trusted root').toString('utf8') } } : {}),
    ...(files.keylessIdentities?.length ? { keylessIdentities: files.keylessIdentities } : {}),
    ...(files.crls?.length ? { crls: files.crls.map((path) => ({ name: path, bytes: new Uint8Array(readKeyFile(path, 'CRL')) })) } : {}),
  };
}

/** Builds registries from key material; any malformed file is an error that names it. */
export async function buildRegistries(sources: RegistrySources): Promise<KeyRegistries> {
  const allowed = sources.allowedSigners ? parseAllowedSigners(sources.allowedSigners.text, sources.allowedSigners.name) : [];
  const revoked = sources.revokedKeys ? parseRevokedKeys(sources.revokedKeys.bytes, sources.revokedKeys.name) : undefined;
  return {
    openpgp: await loadOpenPgpRegistry(sources.keyrings),
    ssh: createSshRegistry(allowed, revoked),
    ...(sources.x509Roots || sources.crls ? { x509: await x509Registry(sources) } : {}),
    ...(sources.trustedRoot || sources.keylessIdentities ? { keyless: await keylessRegistry(sources) } : {}),
  };
}

// The X.509 and Sigstore parsers are imported only when their files are given: pkijs, asn1js
// and sigstore are most of the bundle, and a verify that trusts no CA or trusted root should
// not pay for compiling them at start-up.
async function x509Registry(sources: RegistrySources): Promise<NonNullable<KeyRegistries['x509']>> {
  const { createX509Registry, parseRevocationList, parseX509Roots } = await import('../core/x509/index.ts');
  return createX509Registry(
    (sources.x509Roots ?? []).flatMap((file) => parseX509Roots(file.text, file.name)),
    (sources.crls ?? []).map((file) => parseRevocationList(file.bytes, file.name)),
  );
}

/** A policy's keyless identities (regexps checked anchored when the policy was parsed) as the registry takes them. */
export function keylessIdentitiesOf(specs: readonly KeylessIdentitySpec[] | undefined, field = 'keyless identity'): KeylessIdentity[] | undefined {
  if (!specs?.length) return undefined;
  return specs.map((spec) => ({
    ...(spec.subject !== undefined ? { subject: spec.subject } : {}),
    ...(spec.subjectRegexp !== undefined ? { subjectRegexp: anchoredRegexp(spec.subjectRegexp, `${field} subject_regexp`) } : {}),
    ...(spec.issuer !== undefined ? { issuer: spec.issuer } : {}),
    ...(spec.issuerRegexp !== undefined ? { issuerRegexp: anchoredRegexp(spec.issuerRegexp, `${field} issuer_regexp`) } : {}),
  }));
}

async function keylessRegistry(sources: RegistrySources): Promise<NonNullable<KeyRegistries['keyless']>> {
  const { parseTrustedRoot } = await import('../core/sigstore/trusted-root.ts');
  const { publicGoodTrustedRoot } = await import('./public-good-trusted-root.ts');
  const root = sources.trustedRoot ? parseTrustedRoot(sources.trustedRoot.text, sources.trustedRoot.name) : publicGoodTrustedRoot();
  return { source: root.what, trustMaterial: root.material, identities: sources.keylessIdentities ?? [] };
}

/** Reads the key files a verification trusts; any unreadable or malformed file is an error. */
export async function loadRegistries(files: RegistryFiles): Promise<KeyRegistries> {
  return buildRegistries(readRegistrySources(files));
}
