import type { TrustMaterial } from '@sigstore/verify';
import type { KeylessIdentity } from './identity.ts';

export type { KeylessIdentity } from './identity.ts';

/** The keyless root of trust: a Sigstore trusted root (Fulcio CAs, Rekor keys) and identities. */
export interface KeylessRegistry {
  /** Where the trusted root came from, for messages. */
  source: string;
  trustMaterial: TrustMaterial;
  identities: readonly KeylessIdentity[];
}
