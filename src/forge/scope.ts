/**
 * What a check covers, forge-neutral: ref updates plus what is already verified. A commit
 * reachable from a base (the pull request's target, the push's `before`) is not checked again.
 */
import type { Repository } from '../git/repository.ts';
import type { CheckScope } from './decide.ts';

/** One ref update the check stands for. */
export interface CheckContext {
  ref: string;
  oldOid: string | null;
  newOid: string;
  /** Commits reachable from this oid are not checked again (PR base, push `before`). */
  baseOid?: string;
  /** Same, by a remote ref resolved after the fetch (a merge request's target branch). */
  baseRef?: string;
}

/**
 * The ref updates and what counts as already verified. A new branch without a known base is
 * measured against the default branch, so pushing a branch does not re-check all history.
 * Cache refs are `refs/remotes/origin/<ref without refs/>` (see git-cache.ts).
 */
export function scopeOf(contexts: CheckContext[], repo: Repository, defaultBranch: string): CheckScope {
  const tips = new Set<string>();
  const remote = (ref: string) => repo.refs.resolve(`refs/remotes/origin/${ref.replace(/^refs\//, '')}`);
  for (const context of contexts) {
    if (context.baseOid) tips.add(context.baseOid);
    if (context.baseRef) {
      const tip = remote(context.baseRef);
      if (tip) tips.add(tip);
    }
  }
  const defaultRef = `refs/heads/${defaultBranch}`;
  if (contexts.some((c) => !c.baseOid && !c.baseRef && c.ref !== defaultRef)) {
    const tip = remote(defaultRef);
    if (tip) tips.add(tip);
  }
  const seen = new Set<string>();
  const updates = contexts
    .filter((c) => {
      const key = `${c.ref}\0${c.oldOid ?? ''}\0${c.newOid}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((c) => ({ ref: c.ref, oldOid: c.oldOid, newOid: c.newOid }));
  return { updates, existingTips: [...tips] };
}
