/**
 * Container images of a release: the app's configuration names them (`SIGNET_RELEASE_IMAGES`,
 * comma-separated references where `{tag}` stands for the release tag). Each is resolved to
 * its digest and signed in cosign's legacy format with the annotation `release=TAG`, unless a
 * valid signature with that annotation is already there (a rerun pushes nothing).
 */
import { formatImageReference, parseImageReference } from '../core/sign/image-reference.ts';
import type { Signer } from '../core/sign/signer.ts';
import { resolveImage, signImageLegacy, verifyImageSignatures } from '../sign/oci/image-signing.ts';
import { RegistryClient } from '../sign/oci/registry-client.ts';
import type { ResultRow } from './plan.ts';

export const RELEASE_IMAGES_ENV = 'SIGNET_RELEASE_IMAGES';

/** The configured references for this tag; pure. */
export function releaseImageRefs(setting: string | undefined, tag: string): string[] {
  return (setting ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0).map((entry) => entry.replaceAll('{tag}', tag));
}

export interface SignedImage {
  /** registry/repository@sha256:… */
  pinned: string;
  row: ResultRow;
}

function oneLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0]!.slice(0, 300);
}

/** One row per image; registry credentials come from the docker config in `env`. */
export async function signReleaseImages(refs: readonly string[], signer: Signer, tag: string, env: NodeJS.ProcessEnv): Promise<SignedImage[]> {
  const results: SignedImage[] = [];
  const annotations = { release: tag };
  for (const text of refs) {
    const row: ResultRow = { asset: text, made: 'cosign image signature (legacy .sig)', status: 'failed' };
    let pinned = text;
    try {
      const ref = parseImageReference(text);
      const client = new RegistryClient(ref.registry, { env });
      const image = await resolveImage(client, ref);
      pinned = formatImageReference({ registry: ref.registry, repository: ref.repository, digest: image.descriptor.digest });
      row.asset = pinned;
      const existing = await verifyImageSignatures(client, image, signer.publicKey, annotations);
      if (existing.some((check) => check.ok && check.format === 'legacy')) {
        Object.assign(row, { status: 'kept', detail: 'already signed for this release' });
      } else {
        const signed = await signImageLegacy(client, image, signer, annotations);
        Object.assign(row, { status: 'uploaded', detail: `pushed ${signed.tag}` });
      }
    } catch (error) {
      row.detail = oneLine(error);
    }
    results.push({ pinned, row });
  }
  return results;
}
