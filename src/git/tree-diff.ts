import { SignetError } from '../core/errors.ts';
import type { ObjectStore } from './object-store.ts';

interface TreeEntry {
  mode: string;
  oid: string;
}

const TREE_MODE = '40000';

function readTree(store: ObjectStore, oid: string): Map<string, TreeEntry> {
  const object = store.read(oid);
  if (object.type !== 'tree') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a tree`);
  const data = object.data;
  const idLength = store.hashAlgorithm === 'sha1' ? 20 : 32;
  const entries = new Map<string, TreeEntry>();
  let position = 0;
  while (position < data.length) {
    const space = data.indexOf(0x20, position);
    const nul = data.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 1 + idLength > data.length) throw new SignetError('OBJECT_MALFORMED', `tree ${oid} is truncated`);
    const mode = data.toString('latin1', position, space);
    // Keyed by the raw bytes (latin1 maps each byte to one code unit): git allows any byte in a
    // name, and two names that are not UTF-8 can decode to the same string, which would let one
    // entry hide a change to the other.
    const name = data.toString('latin1', space + 1, nul);
    entries.set(name, { mode, oid: data.toString('hex', nul + 1, nul + 1 + idLength) });
    position = nul + 1 + idLength;
  }
  return entries;
}

/**
 * Paths whose content or mode differs between two trees (added, removed, modified), as
 * `git diff-tree -r --name-only` lists them. Unchanged subtrees are skipped by id, so a
 * commit touching one file reads only the trees on that file's path.
 */
export function changedPaths(store: ObjectStore, fromTree: string | undefined, toTree: string | undefined): string[] {
  return changedRawPaths(store, fromTree, toTree, '').map((path) => Buffer.from(path, 'latin1').toString('utf8'));
}

/** changedPaths with names as raw bytes (latin1 strings), in git's byte order. */
function changedRawPaths(store: ObjectStore, fromTree: string | undefined, toTree: string | undefined, prefix: string): string[] {
  if (fromTree === toTree) return [];
  const before = fromTree ? readTree(store, fromTree) : new Map<string, TreeEntry>();
  const after = toTree ? readTree(store, toTree) : new Map<string, TreeEntry>();
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changed: string[] = [];
  for (const name of names) {
    const a = before.get(name);
    const b = after.get(name);
    if (a && b && a.oid === b.oid && a.mode === b.mode) continue;
    const path = `${prefix}${name}`;
    const aTree = a?.mode === TREE_MODE ? a.oid : undefined;
    const bTree = b?.mode === TREE_MODE ? b.oid : undefined;
    if (aTree || bTree) changed.push(...changedRawPaths(store, aTree, bTree, `${path}/`));
    // A file, symlink or submodule on either side is itself a changed path.
    if ((a && a.mode !== TREE_MODE) || (b && b.mode !== TREE_MODE)) changed.push(path);
  }
  return changed.sort();
}
