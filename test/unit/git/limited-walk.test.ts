/**
 * The walk with exclusions keeps every commit it meets until it ends (src/git/limited-walk.ts),
 * as marks only (src/git/walk-marks.ts). Its answer must stay git's exactly: a
 * commit wrongly seen or wrongly excluded drops out of the range unverified. So: properties
 * against `git rev-list` with the found list's chunks made tiny (a walk crosses hundreds of them), over packed and loose commits, a shallow clone, and dates past 2106; and the
 * bytes it keeps per commit, which `main ^root` over a million commits must afford.
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LimitedWalk } from '../../../src/git/limited-walk.ts';
import { openRepository, type Repository } from '../../../src/git/repository.ts';
import { parseRevisions } from '../../../src/git/revisions.ts';
import { git, tempDir } from '../../helpers/git.ts';
import { buildHistory } from '../../helpers/random-history.ts';

function walkAll(repo: Repository, args: string[], chunkBits?: number): string[] {
  const set = parseRevisions(repo, args);
  const walk = new LimitedWalk(repo.objects, set.include, set.exclude, { parsed: set.parsed, ...(chunkBits ? { chunkBits } : {}) });
  while (!walk.finished) walk.next(7);
  const ids = [...walk.finalIds()];
  expect(walk.finalCount).toBe(ids.length);
  return ids;
}

function revList(path: string, args: string[]): string[] {
  const out = git(path, ['rev-list', ...args]);
  return out === '' ? [] : out.split('\n');
}

describe('the limited walk', () => {
  const dir = tempDir('limited-walk');
  afterAll(() => dir.remove());

  describe.each([
    { name: 'clock skew', equalDates: false, seed: 7 },
    { name: 'equal dates', equalDates: true, seed: 11 },
  ])('on a random history with merges and $name, half packed', ({ name, equalDates, seed }) => {
    let path: string;
    let repo: Repository;
    let commits: string[];
    beforeAll(() => {
      path = join(dir.path, name.replace(' ', '-'));
      git(dir.path, ['init', '-q', '-b', 'main', path]);
      commits = buildHistory(path, seed, 240, { equalDates });
      git(path, ['pack-objects', '--revs', '-q', join(path, '.git', 'objects', 'pack', 'pack')], { input: `${commits[120]!}\n` });
      repo = openRepository({ path, cwd: path, env: {} });
    });

    it('answers as git rev-list A ^B ^C, its found list in chunks of 2 to 65,536 commits (property)', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 239 }),
          fc.integer({ min: 0, max: 239 }),
          fc.integer({ min: 0, max: 239 }),
          fc.constantFrom(1, 2, 3, 16),
          (a, b, c, chunkBits) => {
            const args = [commits[a]!, `^${commits[b]!}`, `^${commits[c]!}`];
            expect(walkAll(repo, args, chunkBits), args.join(' ')).toEqual(revList(path, args));
          },
        ),
        { numRuns: 120 },
      );
    });

    it('answers as git rev-list for --all, branch sets and A...B', () => {
      for (const args of [['--all'], ['--branches', '--not', 'b1'], ['b0...b2'], ['main', '^b3', '^b4', '^b5']]) {
        expect(walkAll(repo, args, 1), args.join(' ')).toEqual(revList(path, args));
      }
    });
  });

  it('answers as git rev-list in a shallow clone (the boundary has no parents)', () => {
    const origin = join(dir.path, 'origin');
    git(dir.path, ['init', '-q', '-b', 'main', origin]);
    const commits = buildHistory(origin, 5, 120);
    const clone = join(dir.path, 'shallow');
    git(dir.path, ['clone', '-q', '--no-local', '--depth', '8', `file://${origin}`, clone]);
    const repo = openRepository({ path: clone, cwd: clone, env: {} });
    expect(repo.objects.shallow.size).toBeGreaterThan(0);
    const tips = revList(clone, ['main']);
    expect(tips.length).toBeGreaterThan(12);
    for (const args of [['main'], ['main', `^${tips[10]!}`], ['main', `^${tips[3]!}`, `^${tips[tips.length - 1]!}`]]) {
      expect(walkAll(repo, args, 1), args.join(' ')).toEqual(revList(clone, args));
    }
    expect(commits.length).toBe(120);
  });

  it('orders commits dated past 2106 (beyond 32 bits) as git does', () => {
    const path = join(dir.path, 'far-future');
    git(dir.path, ['init', '-q', '-b', 'main', path]);
    const tree = git(path, ['write-tree']);
    // git commit-tree refuses such dates; git reads them: written as git would store them.
    const commit = (parents: string[], time: number, message: string): string =>
      git(path, ['hash-object', '-t', 'commit', '-w', '--stdin'], {
        input: `tree ${tree}\n${parents.map((p) => `parent ${p}\n`).join('')}author A <a@example.com> ${time} +0000\ncommitter C <c@example.com> ${time} +0000\n\n${message}\n`,
      });
    const root = commit([], 1_700_000_000, 'root');
    const far = commit([root], 2 ** 33 + 5, 'far');
    const near = commit([root], 1_700_000_100, 'near');
    const farther = commit([far], 2 ** 33 + 9, 'farther');
    const merge = commit([near, farther], 1_700_000_200, 'merge');
    git(path, ['update-ref', 'refs/heads/main', merge]);
    const repo = openRepository({ path, cwd: path, env: {} });
    const expected = revList(path, ['main', `^${root}`]);
    expect(expected).toHaveLength(4);
    expect(walkAll(repo, ['main', `^${root}`], 1)).toEqual(expected);
  });

  it('keeps under 20 bytes a commit while it walks a 50,000-commit A ^root and once finished (an object, an id string and a parents array: 236; columns of times, parents and ordinals with their table: 26-40)', () => {
    const path = join(dir.path, 'long');
    git(dir.path, ['init', '-q', '-b', 'main', path]);
    const COMMITS = 50_000;
    const stream: string[] = [];
    for (let index = 0; index < COMMITS; index++) {
      const message = `c${index}\n`;
      stream.push(`commit refs/heads/main\ncommitter C <c@example.com> ${1_700_000_000 + index} +0000\ndata ${message.length}\n${message}`);
    }
    git(path, ['fast-import', '--quiet'], { input: stream.join('\n') });
    git(path, ['repack', '-adq']);
    const root = revList(path, ['--max-parents=0', 'main'])[0]!;
    const repo = openRepository({ path, cwd: path, env: {} });
    repo.objects.limitRecent(64 * 1024);
    const set = parseRevisions(repo, ['main', `^${root}`]);
    // The pack index and the first reads are loaded before the baseline.
    new LimitedWalk(repo.objects, set.include, set.exclude).next(10);
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const used = (): number => {
      gc();
      gc();
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    };
    const before = used();
    const walk = new LimitedWalk(repo.objects, set.include, set.exclude);
    let found = 0;
    while (found < COMMITS - 2000) found += walk.next(256).length;
    const walking = used();
    while (!walk.finished) walk.next(256);
    const after = used();
    expect(walk.finalCount).toBe(COMMITS - 1);
    expect((walking - before) / found, 'bytes a commit while walking').toBeLessThan(20);
    // Once finished, only what names the commits found and their flags is kept for the verification.
    expect((after - before) / COMMITS, 'bytes a commit once the walk has finished').toBeLessThan(20);
    expect(walk.finalIds().next().value).toBe(revList(path, ['-1', 'main'])[0]);
  }, 120_000);
});
