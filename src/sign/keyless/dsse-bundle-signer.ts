import { signDsse } from '../../core/sign/dsse.ts';
import { dsseBundle, type SigstoreBundle } from '../../core/sign/sigstore-bundle.ts';
import type { Signer } from '../../core/sign/signer.ts';
import { isKeylessSigning, signDsseKeyless, type KeylessSigning } from './keyless-signing.ts';

/** A key (Signer) or keyless signing through Fulcio and Rekor. */
export type AttestationSigner = Signer | KeylessSigning;

/** A DSSE bundle over the payload, signed with the key (hint names it) or keylessly (certificate and log entry). */
export async function signDsseBundle(signer: AttestationSigner, payloadType: string, payload: Buffer): Promise<SigstoreBundle> {
  if (isKeylessSigning(signer)) return (await signDsseKeyless(payload, payloadType, signer.services, signer.env)) as SigstoreBundle;
  return dsseBundle(await signDsse(signer, payloadType, payload), signer.keyId);
}
