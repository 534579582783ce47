import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRepository } from '../../../src/git/repository.ts';
import { parseAlternateEnvironment } from '../../../src/git/object-directories.ts';
import { commitTree, git, gitBytes, tempDir } from '../../helpers/git.ts';

/** Every object of a repository, read by us, must equal `git cat-file`'s bytes. */
function expectSameObjects(path: string, repoOptions: { env?: NodeJS.ProcessEnv } = {}): number {
  const repo = openRepository({ path, cwd: path, env: repoOptions.env ?? {} });
  const listing = git(
    path,
    ['cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'],
    repoOptions.env ? { env: repoOptions.env } : {},
  ).split('\n');
  for (const line of listing) {
    const [oid, type] = line.split(' ');
    const object = repo.objects.read(oid!);
    expect(object.type).toBe(type);
    expect(Buffer.compare(object.data, gitBytes(path, ['cat-file', type!, oid!], repoOptions.env ? { env: repoOptions.env } : {}))).toBe(0);
  }
  repo.objects.close();
  return listing.length;
}

describe('object store', () => {
  const dir = tempDir('objects');
  let repoPath: string;
  beforeAll(() => {
    repoPath = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repoPath]);
    // Enough similar content that git writes deltas (OFS_DELTA) when it packs.
    let parent: string[] = [];
    for (let i = 0; i < 40; i++) {
      const lines = Array.from({ length: 200 }, (_, n) => `line ${n} ${n % 7 === i % 7 ? i : ''}`).join('\n');
      writeFileSync(join(repoPath, 'file.txt'), lines);
      git(repoPath, ['add', 'file.txt']);
      const tree = git(repoPath, ['write-tree']);
      parent = [commitTree(repoPath, tree, parent, `commit ${i}\n\nbody ${'x'.repeat(i * 10)}`, 1_700_000_000 + i * 60)];
    }
    git(repoPath, ['update-ref', 'refs/heads/main', parent[0]!]);
  });
  afterAll(() => dir.remove());

  it('reads loose objects byte for byte', () => {
    expect(expectSameObjects(repoPath)).toBeGreaterThan(100);
  });

  it('reads packed objects, including deltas, byte for byte', () => {
    git(repoPath, ['gc', '-q', '--aggressive', '--prune=now']);
    const stats = git(repoPath, ['count-objects', '-v']);
    expect(stats).toMatch(/in-pack: [1-9]/);
    expect(expectSameObjects(repoPath)).toBeGreaterThan(100);
  });

  it('reads REF_DELTA entries', () => {
    // pack-objects writes REF_DELTA unless told --delta-base-offset; recompute every delta.
    const clone = join(dir.path, 'refdelta');
    git(dir.path, ['init', '-q', '--bare', clone]);
    const packed = gitBytes(repoPath, ['pack-objects', '--revs', '--stdout', '-q', '--no-reuse-delta'], { input: 'main\n' });
    gitBytes(clone, ['index-pack', '--stdin'], { input: packed });
    git(clone, ['update-ref', 'refs/heads/main', git(repoPath, ['rev-parse', 'main'])]);
    expect(expectSameObjects(clone)).toBeGreaterThan(100);
  });

  it('finds objects through objects/info/alternates, recursively and relatively', () => {
    const middle = join(dir.path, 'middle.git');
    const top = join(dir.path, 'top.git');
    git(dir.path, ['init', '-q', '--bare', middle]);
    git(dir.path, ['init', '-q', '--bare', top]);
    writeFileSync(join(middle, 'objects', 'info', 'alternates'), `${join(repoPath, '.git', 'objects')}\n`);
    writeFileSync(join(top, 'objects', 'info', 'alternates'), '../../middle.git/objects\n');
    const head = git(repoPath, ['rev-parse', 'main']);
    const repo = openRepository({ path: top, cwd: top, env: {} });
    expect(repo.objects.directories).toHaveLength(3);
    expect(repo.objects.read(head).type).toBe('commit');
  });

  it('reads a quarantine through GIT_OBJECT_DIRECTORY and GIT_ALTERNATE_OBJECT_DIRECTORIES', () => {
    const bare = join(dir.path, 'quarantined.git');
    git(dir.path, ['init', '-q', '--bare', bare]);
    const quarantine = join(bare, 'objects', 'tmp_objdir-incoming-test');
    mkdirSync(quarantine, { recursive: true });
    cpSync(join(repoPath, '.git', 'objects', 'pack'), join(quarantine, 'pack'), { recursive: true });
    const head = git(repoPath, ['rev-parse', 'main']);
    expect(() => openRepository({ path: bare, cwd: bare, env: {} }).objects.read(head)).toThrow(/missing/);
    const env = { GIT_OBJECT_DIRECTORY: quarantine, GIT_ALTERNATE_OBJECT_DIRECTORIES: join(bare, 'objects'), GIT_QUARANTINE_PATH: quarantine };
    const repo = openRepository({ path: bare, cwd: bare, env });
    expect(repo.objects.read(head).type).toBe('commit');
  });

  it('parses quoted alternate lists as git does', () => {
    expect(parseAlternateEnvironment('/a:/b')).toEqual(['/a', '/b']);
    expect(parseAlternateEnvironment('"/with:colon":/plain')).toEqual(['/with:colon', '/plain']);
    expect(parseAlternateEnvironment('"/tab\\there"')).toEqual(['/tab\there']);
  });

  it('refuses an object whose content does not hash to its id', () => {
    const bad = join(dir.path, 'corrupt');
    git(dir.path, ['init', '-q', bad]);
    const blob = git(bad, ['hash-object', '-w', '--stdin'], { input: 'original' });
    const other = git(bad, ['hash-object', '-w', '--stdin'], { input: 'replaced' });
    const objects = join(bad, '.git', 'objects');
    cpSync(join(objects, other.slice(0, 2), other.slice(2)), join(objects, blob.slice(0, 2), blob.slice(2)), { force: true });
    const repo = openRepository({ path: bad, cwd: bad, env: {} });
    expect(() => repo.objects.read(blob)).toThrow(/hashes to another id/);
  });

  it('reads SHA-256 repositories, loose and packed', () => {
    const path = join(dir.path, 'sha256');
    git(dir.path, ['init', '-q', '--object-format=sha256', '-b', 'main', path]);
    writeFileSync(join(path, 'a.txt'), 'hello');
    git(path, ['add', 'a.txt']);
    git(path, ['commit', '-q', '-m', 'first']);
    writeFileSync(join(path, 'a.txt'), 'hello again');
    git(path, ['commit', '-q', '-am', 'second']);
    expect(openRepository({ path, cwd: path, env: {} }).hashAlgorithm).toBe('sha256');
    expect(expectSameObjects(path)).toBeGreaterThan(4);
    git(path, ['gc', '-q', '--prune=now']);
    expect(expectSameObjects(path)).toBeGreaterThan(4);
  });
});
