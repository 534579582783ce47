import type { KeyObject } from 'node:crypto';
import { SignetError } from '../core/errors.ts';
import { checkIdentityPolicy, type IdentityPolicy, type KeylessResult } from '../core/sign/keyless.ts';
import type { SigstoreTrust } from '../core/sigstore/trusted-root.ts';
import { loadPublicKey } from '../sign/cosign-signer.ts';
import type { KeySourceContext } from '../sign/key-source.ts';
import { loadKeylessTrust } from '../sign/keyless/trusted-root.ts';

/** cosign's flag names, so scripts move over unchanged. */
export const KEYLESS_VERIFY_OPTIONS = {
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
  'trusted-root': { type: 'string' },
} as const;

export const KEYLESS_SIGN_OPTIONS = {
  keyless: { type: 'boolean', default: false },
  'fulcio-url': { type: 'string' },
  'rekor-url': { type: 'string' },
  'timestamp-server-url': { type: 'string' },
} as const;

export const KEYLESS_VERIFY_USAGE =
  '(--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) [--trusted-root FILE]';
export const KEYLESS_SIGN_USAGE = '[--fulcio-url URL] [--rekor-url URL] [--timestamp-server-url URL]';

type Values = Record<string, unknown>;

/** The identity the caller asked for; both halves required, regexps anchored. */
export function identityPolicyFrom(values: Values): IdentityPolicy {
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const policy: IdentityPolicy = {};
  const subject = text('certificate-identity');
  const subjectRegExp = text('certificate-identity-regexp');
  const issuer = text('certificate-oidc-issuer');
  const issuerRegExp = text('certificate-oidc-issuer-regexp');
  if (subject !== undefined) policy.subject = subject;
  if (subjectRegExp !== undefined) policy.subjectRegExp = subjectRegExp;
  if (issuer !== undefined) policy.issuer = issuer;
  if (issuerRegExp !== undefined) policy.issuerRegExp = issuerRegExp;
  checkIdentityPolicy(policy);
  return policy;
}

export function wantsKeylessVerify(values: Values): boolean {
  return Object.keys(KEYLESS_VERIFY_OPTIONS).some((name) => values[name] !== undefined);
}

/** One line for a failed check: which check (chain, log, time, signature, identity, bundle) and why. */
export function describeKeylessFailure(result: Extract<KeylessResult, { ok: false }>): string {
  return `keyless ${result.check} check failed: ${result.detail}`;
}

/** `--key` → that key; else the four identity flags (and --trusted-root) → keyless. */
export async function imageTrustFrom(
  values: Values,
  io: KeySourceContext & { cwd: string },
): Promise<KeyObject | { keyless: SigstoreTrust; identity: IdentityPolicy }> {
  if (typeof values.key === 'string') {
    if (wantsKeylessVerify(values)) throw new SignetError('USAGE', 'the --certificate-* and --trusted-root flags are for keyless signatures: leave out --key');
    return loadPublicKey(values.key, io);
  }
  if (!wantsKeylessVerify(values))
    throw new SignetError('USAGE', 'give --key cosign.pub, or the keyless identity (--certificate-identity … --certificate-oidc-issuer …)');
  const identity = identityPolicyFrom(values);
  return { keyless: await loadKeylessTrust(typeof values['trusted-root'] === 'string' ? values['trusted-root'] : undefined, io.cwd), identity };
}

/** A key and the keyless services together is a mistake worth one line, not a silent choice. */
export function refuseKeylessWithKey(values: Values): void {
  if (values.key === undefined) return;
  const keyless = ['keyless', 'fulcio-url', 'rekor-url', 'timestamp-server-url'].find((name) => values[name] !== undefined && values[name] !== false);
  if (keyless)
    throw new SignetError(
      'USAGE',
      `--${keyless} is for keyless signing (Fulcio certificate, Rekor entry); with --key the signature is made with the key alone: leave out one of them`,
    );
}
