import { parseTag } from '../core/git/signed-object.ts';
import type { Repository } from './repository.ts';

/**
 * Follows annotated tags down to the commit they name. Undefined when the chain ends at a tree
 * or blob, or an object is missing (a ref may point anywhere; callers decide if that is fatal).
 */
export function peelToCommit(repo: Repository, oid: string): string | undefined {
  let current = oid;
  for (let depth = 0; depth < 64; depth++) {
    const object = repo.objects.tryRead(current);
    if (!object) return undefined;
    if (object.type === 'commit') return current;
    if (object.type !== 'tag') return undefined;
    current = parseTag(object.data, repo.hashAlgorithm, `tag ${current}`).object;
  }
  return undefined;
}
