import { parseImageReference, type ImageReference } from '../../core/sign/image-reference.ts';
import { RegistryClient } from './registry-client.ts';
import { resolveImage, type ResolvedImage } from './image-signing.ts';

/** Parses REF, builds a client for its registry and resolves the manifest digest. */
export async function openImage(
  text: string,
  env: NodeJS.ProcessEnv,
  options: { plainHttp?: boolean } = {},
): Promise<{ client: RegistryClient; image: ResolvedImage; ref: ImageReference }> {
  const ref = parseImageReference(text);
  const client = new RegistryClient(ref.registry, { env, ...(options.plainHttp ? { plainHttp: true } : {}) });
  return { client, image: await resolveImage(client, ref), ref };
}
