/**
 * Container images of a release: the policy on the default branch names them (`release.images`)
 * and so may the app's configuration (`SIGNET_RELEASE_IMAGES`, comma-separated); in both, `{tag}`
 * stands for the release tag. Each is resolved to its digest and signed in cosign's legacy format
 * and as a cosign v3 bundle, with the annotation `release=TAG`, unless a valid signature of that
 * format with that annotation is already there (a rerun pushes nothing).
 */
import { parsePolicy } from '../core/policy/index.ts';
import { formatImageReference, parseImageReference } from '../core/sign/image-reference.ts';
import type { DefaultBranchReader } from '../forge/policy-source.ts';
import type { Signer } from '../core/sign/signer.ts';
import { resolveImage, signImageBundle, signImageLegacy, verifyImageSignatures } from '../sign/oci/image-signing.ts';
import { RegistryClient } from '../sign/oci/registry-client.ts';
import type { ResultRow } from './plan.ts';
import { oneLine } from './render.ts';

export const RELEASE_IMAGES_ENV = 'SIGNET_RELEASE_IMAGES';

/** The references for this tag: the policy's first, then the setting's, each once; pure. */
export function releaseImageRefs(setting: string | undefined, tag: string, fromPolicy: readonly string[] = []): string[] {
  const fromSetting = (setting ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
  return [...new Set([...fromPolicy, ...fromSetting].map((entry) => entry.replaceAll('{tag}', tag)))];
}

/**
 * `release.images` of the policy on the default branch (the first of `candidates` that exists).
 * Only the policy is read, not its key files. A policy that cannot be read signs no images and
 * says why in `problem`, for the answer: the release's assets are still signed.
 */
export async function policyReleaseImages(read: DefaultBranchReader, candidates: readonly string[]): Promise<{ images: string[]; problem?: string }> {
  for (const path of candidates) {
    try {
      const bytes = await read(path);
      if (!bytes) continue;
      return { images: parsePolicy(Buffer.from(bytes).toString('utf8'), path).release?.images ?? [] };
    } catch (error) {
      return { images: [], problem: `the policy's release.images were not read, so no image was signed: ${oneLine(error)}` };
    }
  }
  return { images: [] };
}

export interface SignedImage {
  /** registry/repository@sha256:… */
  pinned: string;
  /** One row per format: cosign's legacy `.sig`, then cosign v3's bundle. */
  rows: ResultRow[];
}

const LEGACY = 'cosign image signature (legacy .sig)';
const BUNDLE = 'cosign v3 signature (sigstore bundle referrer)';

/**
 * Each image is signed in both of cosign's formats, so cosign 2 (legacy `.sig`) and cosign 3
 * (bundle referrer) both find a signature; a format that already holds a valid signature with
 * the release annotation is kept. Registry credentials come from the docker config in `env`.
 */
export async function signReleaseImages(refs: readonly string[], signer: Signer, tag: string, env: NodeJS.ProcessEnv, now: () => Date): Promise<SignedImage[]> {
  const results: SignedImage[] = [];
  const annotations = { release: tag };
  for (const text of refs) {
    let pinned = text;
    try {
      const ref = parseImageReference(text);
      const client = new RegistryClient(ref.registry, { env });
      const image = await resolveImage(client, ref);
      pinned = formatImageReference({ registry: ref.registry, repository: ref.repository, digest: image.descriptor.digest });
      const existing = await verifyImageSignatures(client, image, signer.publicKey, annotations);
      const has = (format: 'legacy' | 'bundle') => existing.some((check) => check.ok && check.format === format);
      const rows: ResultRow[] = [];
      for (const [format, made, sign] of [
        ['legacy', LEGACY, async () => `pushed ${(await signImageLegacy(client, image, signer, annotations)).tag}`],
        ['bundle', BUNDLE, async () => {
          const pushed = await signImageBundle(client, image, signer, annotations, now().toISOString().replace(/\.\d+Z$/, 'Z'));
          return `pushed ${pushed.digest} (${pushed.storage === 'referrers-api' ? 'referrers API' : 'fallback tag'})`;
        }],
      ] as const) {
        const row: ResultRow = { asset: pinned, made, status: 'failed' };
        try {
          if (has(format)) Object.assign(row, { status: 'kept', detail: 'already signed for this release' });
          else Object.assign(row, { status: 'uploaded', detail: await sign() });
        } catch (error) {
          row.detail = oneLine(error);
        }
        rows.push(row);
      }
      results.push({ pinned, rows });
    } catch (error) {
      results.push({ pinned, rows: [{ asset: pinned, made: 'image signatures', status: 'failed', detail: oneLine(error) }] });
    }
  }
  return results;
}
