/**
 * Image globs as policy-controller reads them: `*` and `?` stay inside one path component, `**`
 * crosses any number; a glob without a registry host means Docker Hub (`index.docker.io/`, and
 * `library/` for a single name). A glob is matched against the image's repository name, and
 * also against `name:tag` and `name@digest` when the image has them, so `ghcr.io/acme/*` and
 * `ghcr.io/acme/app:v*` both work.
 */
import type { ImageReference } from '../sign/image-reference.ts';

const compiled = new Map<string, RegExp>();

function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/** The glob with Docker Hub's implicit prefixes made explicit. */
export function normaliseImageGlob(glob: string): string {
  const first = glob.split('/')[0] ?? '';
  if (glob.startsWith('*')) return glob;
  if (looksLikeHost(first) && glob.includes('/')) return first === 'docker.io' ? `index.docker.io${glob.slice(first.length)}` : glob;
  return glob.includes('/') ? `index.docker.io/${glob}` : `index.docker.io/library/${glob}`;
}

function toRegExp(glob: string): RegExp {
  let cached = compiled.get(glob);
  if (cached) return cached;
  let source = '';
  const text = normaliseImageGlob(glob);
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (char === '*' && text[i + 1] === '*') {
      source += '.*';
      i += 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  cached = new RegExp(`^${source}$`, 'u');
  compiled.set(glob, cached);
  return cached;
}

/** The names an image is matched under. */
export function imageNames(ref: ImageReference): string[] {
  const registry = ref.registry === 'docker.io' ? 'index.docker.io' : ref.registry;
  const name = `${registry}/${ref.repository}`;
  return [name, ...(ref.tag ? [`${name}:${ref.tag}`] : []), ...(ref.digest ? [`${name}@${ref.digest}`] : [])];
}

export function imageGlobMatches(glob: string, names: string[]): boolean {
  const re = toRegExp(glob);
  return names.some((name) => re.test(name));
}
