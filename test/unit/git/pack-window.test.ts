import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackFile } from '../../../src/git/pack-file.ts';
import { git, gitBytes, tempDir } from '../../helpers/git.ts';

describe('a pack too large to hold is read a window at a time', () => {
  const dir = tempDir('pack-window');
  let repo: string;
  let ids: string[];
  beforeAll(() => {
    repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    // Many small commits (several to a window), deltas between versions of a file, and blobs
    // larger than a window (a read that no window holds).
    for (let index = 0; index < 60; index++) {
      writeFileSync(join(repo, 'notes.txt'), `${'line of notes\n'.repeat(200)}${index}\n`);
      if (index % 20 === 0) writeFileSync(join(repo, `big-${index}.bin`), randomBytes(1536 * 1024));
      git(repo, ['add', '-A']);
      git(repo, ['-c', 'user.name=T', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', `commit ${index}`]);
    }
    git(repo, ['repack', '-a', '-d', '-q', '--depth=50']);
    ids = git(repo, ['rev-list', '--objects', '--all'])
      .split('\n')
      .map((line) => line.split(' ')[0]!);
  }, 60_000);
  afterAll(() => dir.remove());

  it('reads every object as git does, in walk order and at random, with a whole-pack limit of 0', () => {
    const packDir = join(repo, '.git', 'objects', 'pack');
    const pack = new PackFile(
      join(
        packDir,
        readdirSync(packDir).find((name) => name.endsWith('.pack'))!,
      ),
      20,
      0,
    );
    const shuffled = [...ids].sort((a, b) => (a.slice(7) < b.slice(7) ? -1 : 1));
    for (const oid of [...ids, ...shuffled]) {
      const object = pack.read(Buffer.from(oid, 'hex'), () => undefined);
      expect(object?.type, oid).toBe(git(repo, ['cat-file', '-t', oid]));
      expect(Buffer.from(object!.data).equals(gitBytes(repo, ['cat-file', object!.type, oid])), oid).toBe(true);
    }
    pack.close();
  });
});
