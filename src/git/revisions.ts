import { SignetError } from '../core/errors.ts';
import { parseTag, readCommitLinks } from '../core/git/signed-object.ts';
import type { Repository } from './repository.ts';

/** An annotated tag met while resolving a revision; it is verified as well as the commits. */
export interface TagReference {
  oid: string;
  /** The ref it was reached through, when it was (refs/tags/v1.0). */
  ref?: string;
}

export interface RevisionSet {
  include: string[];
  exclude: string[];
  tags: TagReference[];
  /**
   * Commits git reads while resolving the arguments (X of X^@ and X^!, each step of X~3 and
   * X^2). Its walk then knows their parents, and marks from an exclusion pass through them: on
   * a clock-skewed history that changes where `git rev-list` stops, so the walk must know them
   * too to list what git lists.
   */
  parsed: string[];
}

const DWIM_RULES = ['%s', 'refs/%s', 'refs/tags/%s', 'refs/heads/%s', 'refs/remotes/%s', 'refs/remotes/%s/HEAD'];

/**
 * Turns revision arguments as git takes them (`A..B`, `A...B`, `^A B`, `B`, `X^!`, `X^@`,
 * `--not`, `--all`, `--branches`, `--tags`, `X~2`, `X^2`, `X^{}`) into commit ids to include
 * and exclude.
 */
export function parseRevisions(repo: Repository, args: string[]): RevisionSet {
  const set: RevisionSet = { include: [], exclude: [], tags: [], parsed: [] };
  const resolve = (expression: string, tags: TagReference[] | undefined, tagOfAnything = false): string | undefined =>
    resolveTracked(repo, expression, tags, tagOfAnything, set.parsed);
  let negate = false;
  const add = (oid: string, exclude: boolean): void => {
    (exclude ? set.exclude : set.include).push(oid);
  };
  const addRefs = (prefix: string): void => {
    for (const [name, oid] of repo.refs.list(prefix)) {
      const commit = peelToCommit(repo, oid, name, negate ? undefined : set.tags, true);
      if (commit) add(commit, negate);
    }
  };
  for (const arg of args) {
    if (arg === '--not') {
      negate = !negate;
      continue;
    }
    if (arg === '--all') {
      addRefs('refs/');
      const head = repo.refs.resolve('HEAD');
      if (head) add(peelToCommit(repo, head, 'HEAD', undefined, false)!, negate);
      continue;
    }
    if (arg === '--branches') {
      addRefs('refs/heads/');
      continue;
    }
    if (arg === '--tags') {
      addRefs('refs/tags/');
      continue;
    }
    if (arg === '--remotes') {
      addRefs('refs/remotes/');
      continue;
    }
    if (arg.startsWith('-')) throw new SignetError('USAGE', `unknown revision option '${arg}'`);
    const symmetric = arg.indexOf('...');
    if (symmetric >= 0) {
      // A...B (how GitHub compares a pull request): what either reaches and not both, i.e. A and
      // B without their merge bases, as `git rev-list A...B`.
      const left = resolve(arg.slice(0, symmetric) || 'HEAD', negate ? undefined : set.tags)!;
      const right = resolve(arg.slice(symmetric + 3) || 'HEAD', negate ? undefined : set.tags)!;
      add(left, negate);
      add(right, negate);
      for (const base of mergeBases(repo, left, right)) add(base, !negate);
      continue;
    }
    // X^@: X's parents (not X); X^!: X without its parents — as git's revision.c takes them.
    if (arg.endsWith('^@') || arg.endsWith('^!')) {
      const tip = resolve(arg.slice(0, -2), arg.endsWith('^!') && !negate ? set.tags : undefined)!;
      set.parsed.push(tip);
      if (arg.endsWith('^!')) add(tip, negate);
      for (const parent of parentsOf(repo, tip)) add(parent, arg.endsWith('^!') ? !negate : negate);
      continue;
    }
    const range = arg.indexOf('..');
    if (range >= 0) {
      const left = arg.slice(0, range) || 'HEAD';
      const right = arg.slice(range + 2) || 'HEAD';
      add(resolve(left, undefined)!, !negate);
      add(resolve(right, negate ? undefined : set.tags)!, negate);
      continue;
    }
    if (arg.startsWith('^')) {
      add(resolve(arg.slice(1), undefined)!, !negate);
      continue;
    }
    // `signet verify TAG` where the tag names a blob or tree (git.git's junio-gpg-pub): the tag
    // is verified and there are no commits to list; a bare blob or tree stays an error.
    const commit = resolve(arg, negate ? undefined : set.tags, !negate);
    if (commit !== undefined) add(commit, negate);
  }
  set.tags = dedupe(set.tags);
  return set;
}

/**
 * `git merge-base --all A B`: the common ancestors that no other common ancestor reaches. Every
 * ancestor of a common ancestor is common, so these are the common commits that are not a parent
 * of another common commit. Walks both histories whole: simple, and right on any shape.
 */
export function mergeBases(repo: Repository, a: string, b: string): string[] {
  const reach = (tip: string): Set<string> => {
    const seen = new Set<string>([tip]);
    const stack = [tip];
    while (stack.length > 0) {
      for (const parent of parentsOf(repo, stack.pop()!)) {
        if (!seen.has(parent)) {
          seen.add(parent);
          stack.push(parent);
        }
      }
    }
    return seen;
  };
  const fromA = reach(a);
  const common = [...reach(b)].filter((oid) => fromA.has(oid));
  const covered = new Set<string>();
  for (const oid of common) for (const parent of parentsOf(repo, oid)) covered.add(parent);
  return common.filter((oid) => !covered.has(oid));
}

function dedupe(tags: TagReference[]): TagReference[] {
  const seen = new Map<string, TagReference>();
  for (const tag of tags) if (!seen.has(tag.oid) || (tag.ref && !seen.get(tag.oid)!.ref)) seen.set(tag.oid, tag);
  return [...seen.values()];
}

/**
 * Resolves one revision expression to a commit id, collecting the annotated tags it passes.
 * With `tagOfAnything`, an expression that names a tag of a blob or tree (no `~`/`^` steps)
 * resolves to undefined after collecting its tags.
 */
export function resolveCommit(repo: Repository, expression: string, tags: TagReference[] | undefined): string;
export function resolveCommit(repo: Repository, expression: string, tags: TagReference[] | undefined, tagOfAnything: boolean): string | undefined;
export function resolveCommit(repo: Repository, expression: string, tags: TagReference[] | undefined, tagOfAnything = false): string | undefined {
  return resolveTracked(repo, expression, tags, tagOfAnything, []);
}

/** resolveCommit, noting in `parsed` each commit a `~` or `^` step reads the parents of. */
function resolveTracked(repo: Repository, expression: string, tags: TagReference[] | undefined, tagOfAnything: boolean, parsed: string[]): string | undefined {
  const match = /^(.*?)((?:[~^][0-9]*|\^\{[a-z]*\})*)$/.exec(expression);
  const base = match?.[1] ?? expression;
  const operators = match?.[2] ?? '';
  const { oid, ref } = resolveName(repo, base, expression);
  let current = oid;
  let pendingTags = tags;
  const steps = operators.match(/~[0-9]*|\^\{[a-z]*\}|\^[0-9]*/g) ?? [];
  for (const step of steps) {
    if (step.startsWith('^{')) {
      const target = step.slice(2, -1);
      if (target !== '' && target !== 'commit') throw new SignetError('USAGE', `'${expression}': only ^{} and ^{commit} are supported`);
      current = peelToCommit(repo, current, ref, pendingTags, false) ?? fail(expression, 'does not name a commit');
      pendingTags = undefined;
      continue;
    }
    current = peelToCommit(repo, current, ref, pendingTags, false) ?? fail(expression, 'does not name a commit');
    pendingTags = undefined;
    const count = step.length > 1 ? Number(step.slice(1)) : 1;
    if (step.startsWith('~')) {
      for (let i = 0; i < count; i++) {
        parsed.push(current);
        current = parentsOf(repo, current)[0] ?? fail(expression, 'has too few ancestors');
      }
    } else if (count > 0) {
      parsed.push(current);
      current = parentsOf(repo, current)[count - 1] ?? fail(expression, `has no parent ${count}`);
    }
  }
  if (tagOfAnything && steps.length === 0 && pendingTags && repo.objects.read(current).type === 'tag') {
    return peelToCommit(repo, current, ref, pendingTags, true);
  }
  return peelToCommit(repo, current, ref, pendingTags, false) ?? fail(expression, 'does not name a commit');
}

function fail(expression: string, what: string): never {
  throw new SignetError('REVISION_UNKNOWN', `revision '${expression}' ${what}`);
}

function parentsOf(repo: Repository, oid: string): string[] {
  if (repo.objects.shallow.has(oid)) return []; // git: X~1 of a shallow boundary commit names nothing
  return readCommitLinks(repo.objects.read(oid).data, `commit ${oid}`).parents;
}

function resolveName(repo: Repository, name: string, expression: string): { oid: string; ref?: string } {
  const hexLength = repo.hashAlgorithm === 'sha1' ? 40 : 64;
  if (name === '' || name === '@') name = 'HEAD';
  if (name.length === hexLength && /^[0-9a-fA-F]+$/.test(name)) return { oid: name.toLowerCase() };
  for (const rule of DWIM_RULES) {
    const ref = rule.replace('%s', name);
    const oid = repo.refs.resolve(ref);
    if (oid) return { oid, ref: repo.refs.symbolicTarget(ref) ?? ref };
  }
  if (name.length >= 4 && /^[0-9a-fA-F]+$/.test(name)) {
    const candidates = repo.objects.findByPrefix(name.toLowerCase(), 2);
    if (candidates.length === 1) return { oid: candidates[0]! };
    if (candidates.length > 1) fail(expression, `is an ambiguous abbreviation (${name})`);
  }
  return fail(expression, name === expression ? 'is unknown' : `is unknown ('${name}' names nothing)`);
}

/** Follows tag objects down to a commit; undefined when the chain ends at a tree or blob. */
function peelToCommit(repo: Repository, oid: string, ref: string | undefined, tags: TagReference[] | undefined, lenient: boolean): string | undefined {
  let current = oid;
  for (let depth = 0; depth < 64; depth++) {
    const object = repo.objects.read(current);
    if (object.type === 'commit') return current;
    if (object.type !== 'tag') {
      if (lenient) return undefined;
      throw new SignetError('REVISION_UNKNOWN', `${ref ?? oid} points at a ${object.type}, not a commit`);
    }
    tags?.push(ref ? { oid: current, ref } : { oid: current });
    current = parseTag(object.data, repo.hashAlgorithm, `tag ${current}`).object;
    ref = undefined;
  }
  throw new SignetError('OBJECT_MALFORMED', `${oid}: tag chain too long`);
}
