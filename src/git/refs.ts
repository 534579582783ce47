import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SignetError } from '../core/errors.ts';

const MAX_SYMREF_DEPTH = 5;

/**
 * Reads refs the way git stores them: loose files under refs/, then packed-refs; loose refs
 * win. HEAD and other per-worktree pseudo-refs live in the worktree's git dir, the rest in the
 * common dir.
 */
export class RefStore {
  private packed: Map<string, string> | undefined;

  constructor(
    readonly gitDir: string,
    readonly commonDir: string,
  ) {}

  /** The object id a ref name points at (following symbolic refs), or undefined. */
  resolve(name: string): string | undefined {
    let current = name;
    for (let depth = 0; depth <= MAX_SYMREF_DEPTH; depth++) {
      const value = this.readRaw(current);
      if (value === undefined) return undefined;
      if (!value.startsWith('ref:')) return value;
      current = value.slice(4).trim();
    }
    throw new SignetError('REPOSITORY_INVALID', `symbolic ref ${name} nests too deeply`);
  }

  /** Where a symbolic ref points (e.g. HEAD → refs/heads/main), or undefined. */
  symbolicTarget(name: string): string | undefined {
    const value = this.readRaw(name);
    return value?.startsWith('ref:') ? value.slice(4).trim() : undefined;
  }

  exists(name: string): boolean {
    return this.readRaw(name) !== undefined;
  }

  /** All refs under a prefix (e.g. 'refs/'), name → object id, symbolic refs resolved. */
  list(prefix = 'refs/'): Map<string, string> {
    const refs = new Map<string, string>();
    for (const name of this.names(prefix)) {
      const oid = this.resolve(name);
      if (oid) refs.set(name, oid);
    }
    return refs;
  }

  /** Every ref name under a prefix, sorted, dangling symbolic refs included (list() drops them). */
  names(prefix = 'refs/'): string[] {
    const names = new Set<string>();
    for (const name of this.packedRefs().keys()) if (name.startsWith(prefix)) names.add(name);
    const walk = (relative: string): void => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = readdirSync(join(this.commonDir, relative), { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const child = `${relative}/${entry.name}`;
        if (entry.isDirectory()) walk(child);
        else if (entry.isFile() && !entry.name.endsWith('.lock') && child.startsWith(prefix)) names.add(child);
      }
    };
    walk('refs');
    return [...names].sort();
  }

  private readRaw(name: string): string | undefined {
    if (name.includes('..') || name.startsWith('/')) return undefined;
    const perWorktree = !name.startsWith('refs/') || name.startsWith('refs/bisect/') || name.startsWith('refs/worktree/');
    const path = join(perWorktree ? this.gitDir : this.commonDir, name);
    try {
      if (statSync(path).isFile()) return readFileSync(path, 'utf8').trim();
    } catch {
      // not a loose ref: fall through to packed-refs
    }
    return this.packedRefs().get(name);
  }

  private packedRefs(): Map<string, string> {
    if (!this.packed) {
      this.packed = new Map();
      let text = '';
      try {
        text = readFileSync(join(this.commonDir, 'packed-refs'), 'utf8');
      } catch {
        return this.packed;
      }
      for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
        const space = line.indexOf(' ');
        if (space > 0) this.packed.set(line.slice(space + 1).trim(), line.slice(0, space));
      }
    }
    return this.packed;
  }
}

/** git's refs.c ref_rev_parse_rules: the full names a short name may stand for, in order. */
const DWIM_RULES: ReadonlyArray<(name: string) => string> = [
  (name) => name,
  (name) => `refs/${name}`,
  (name) => `refs/tags/${name}`,
  (name) => `refs/heads/${name}`,
  (name) => `refs/remotes/${name}`,
  (name) => `refs/remotes/${name}/HEAD`,
];

/** Top-level names git reads as refs (HEAD, FETCH_HEAD, …); anything else there is a file. */
const ROOT_REF = /^[A-Z][A-Z0-9_]*$/;
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The full ref names `name` stands for, as git's dwim_ref finds them: every rule of
 * DWIM_RULES whose name is an existing ref (one that resolves to an object id). git takes the
 * first and warns when there are more; a gate must not guess, so callers refuse ambiguity.
 */
export function refCandidates(refs: RefStore, name: string): string[] {
  const found: string[] = [];
  for (const rule of DWIM_RULES) {
    const candidate = rule(name);
    if (!candidate.startsWith('refs/') && !ROOT_REF.test(candidate)) continue;
    let oid: string | undefined;
    try {
      oid = refs.resolve(candidate);
    } catch {
      // a symbolic ref that nests too deeply is no candidate
    }
    if (oid !== undefined && OBJECT_ID.test(oid) && !found.includes(candidate)) found.push(candidate);
  }
  return found;
}
