import { SignetError } from '../errors.ts';

/** `registry/repository[:tag][@sha256:…]` split the way docker and cosign read it. */
export interface ImageReference {
  /** Host[:port] as written; `docker.io` for Docker Hub. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function parseImageReference(text: string): ImageReference {
  let rest = text.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new SignetError('USAGE', `image reference '${text}': digest must be sha256:<64 hex>`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new SignetError('USAGE', `image reference '${text}': invalid tag '${tag}'`);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  let registry = 'docker.io';
  let repository = rest;
  // Docker's rule: the first component is a registry when it looks like a host.
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    registry = first;
    repository = rest.slice(slash + 1);
  }
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  if (!REPOSITORY.test(repository)) throw new SignetError('USAGE', `image reference '${text}': invalid repository '${repository}'`);
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** `registry/repository`: what cosign writes as the payload's docker-reference. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.registry === 'docker.io' ? 'index.docker.io' : ref.registry}/${ref.repository}`;
}

export function formatImageReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** cosign's tag for the signatures of a digest: `sha256-<hex>.sig` (`.att` for attestations). */
export function cosignTag(digest: string, suffix: 'sig' | 'att' | ''): string {
  if (!DIGEST.test(digest)) throw new SignetError('USAGE', `not a sha256 digest: ${digest}`);
  const base = digest.replace(':', '-');
  return suffix ? `${base}.${suffix}` : base;
}
