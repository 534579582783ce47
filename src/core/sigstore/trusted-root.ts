import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { SignetError, type SignetErrorCode } from '../errors.ts';

/** A Sigstore trusted root read for verification: what signatures, artifact or commit, chain to. */
export interface SigstoreTrust {
  material: TrustMaterial;
  /** Certificate transparency is required where the root lists CT logs (the public good does). */
  requireSct: boolean;
  /** Where the root came from, for messages. */
  what: string;
}

function parsed(input: string | Uint8Array | unknown, what: string, code: SignetErrorCode): unknown {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return input;
  try {
    return JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8')) as unknown;
  } catch (error) {
    throw new SignetError(code, `${what}: not JSON (${(error as Error).message})`);
  }
}

/**
 * Reads a `trusted_root.json` (text, bytes or already parsed JSON); `what` names it in messages,
 * `code` is the error family of the caller (a keyring for commits, a configuration for artifacts).
 * A root with no Fulcio CA or no transparency log would make every keyless check fail or,
 * worse, vouch for nothing: refused.
 */
export function parseTrustedRoot(input: string | Uint8Array | unknown, what: string, code: SignetErrorCode = 'KEYRING_INVALID'): SigstoreTrust {
  const value = parsed(input, what, code);
  const mediaType = typeof value === 'object' && value !== null ? (value as { mediaType?: unknown }).mediaType : undefined;
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    throw new SignetError(code, `${what}: not a Sigstore trusted root (no trusted root mediaType)`);
  }
  try {
    const root = TrustedRoot.fromJSON(value);
    if (root.certificateAuthorities.length === 0) throw new Error('it lists no certificate authority');
    if (root.tlogs.length === 0) throw new Error('it lists no transparency log');
    return { material: toTrustMaterial(root), requireSct: root.ctlogs.length > 0, what };
  } catch (error) {
    throw new SignetError(code, `${what}: not a Sigstore trusted root (${(error as Error).message})`);
  }
}
