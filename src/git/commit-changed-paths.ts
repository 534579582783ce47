import { parseCommit } from '../core/git/signed-object.ts';
import type { Repository } from './repository.ts';
import { mergeBases } from './revisions.ts';
import { changedPaths } from './tree-diff.ts';

/**
 * The paths a commit changes, for path rules. A commit: against its parent. A merge: a path
 * counts unless the merge took it unchanged from one parent and every other parent left it as
 * it was at the merge base (a three-way merge's own outcome). Against the first parent alone,
 * a merge whose first parent is an old commit would take a protected file back to an old
 * version with an empty diff; against every parent, each ordinary merge after a protected
 * change on the other side would count as changing it. No single merge base (criss-cross,
 * unrelated histories) or more than two parents: every path any parent differs in counts.
 */
export function commitChangedPaths(repo: Repository, oid: string): string[] {
  const treeOf = (commit: string): string => parseCommit(repo.objects.read(commit).data, repo.hashAlgorithm, `commit ${commit}`).tree;
  const commit = parseCommit(repo.objects.read(oid).data, repo.hashAlgorithm, `commit ${oid}`);
  const parent = commit.parents[0];
  if (commit.parents.length <= 1) return changedPaths(repo.objects, parent ? treeOf(parent) : undefined, commit.tree);
  const differs = commit.parents.map((p) => new Set(changedPaths(repo.objects, treeOf(p), commit.tree)));
  const all = new Set(differs.flatMap((set) => [...set]));
  const bases = commit.parents.length === 2 ? mergeBases(repo, commit.parents[0]!, commit.parents[1]!) : [];
  if (bases.length !== 1) return [...all].sort();
  const baseTree = treeOf(bases[0]!);
  const moved = commit.parents.map((p) => new Set(changedPaths(repo.objects, baseTree, treeOf(p))));
  return [...all].filter((path) => differs.every((set) => set.has(path)) || differs.some((set, i) => set.has(path) && moved[i]!.has(path))).sort();
}
