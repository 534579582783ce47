/** The independent bundle checker: @sigstore/verify offline, trusting exactly one public key. */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, Verifier } from '@sigstore/verify';

export function sigstoreVerify(bundleJson: unknown, publicKeyPem: string, artifact?: Buffer): void {
  const key: KeyObject = createPublicKey(publicKeyPem);
  const trust = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    // The bundle must name the key by signet's hint: base64(SHA-256(SPKI DER)).
    publicKey: (hint: string) => {
      const expected = createHash('sha256')
        .update(key.export({ format: 'der', type: 'spki' }))
        .digest('base64');
      if (hint !== expected) throw new Error(`bundle names key ${hint}, trusted key is ${expected}`);
      return { publicKey: key, validFor: () => true };
    },
  };
  const bundle = bundleFromJSON(bundleJson);
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundle, artifact));
}
