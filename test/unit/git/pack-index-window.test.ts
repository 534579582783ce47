import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackIndex } from '../../../src/git/pack-index.ts';
import { git, tempDir } from '../../helpers/git.ts';

// A large pack index is read in windows (fan-out, per-bucket samples, one block per lookup), so
// a million-commit repository's 28 MB index is not resident for the whole run. Its answers must
// be git's, and what it reads and holds must stay a fraction of the file.
describe('a pack index larger than the whole-read limit', () => {
  const dir = tempDir('pack-index-window');
  let repo: string;
  let idxPath: string;
  /** git's own reading of the index: id → [offset, place in the sorted table]. */
  const entries = new Map<string, [number, number]>();
  const blobs = 20_000;

  beforeAll(() => {
    repo = join(dir.path, 'repo');
    git(dir.path, ['init', '-q', '--bare', repo]);
    // Small blobs through fast-import: about 80 ids a bucket, so each has several sampled blocks.
    const stream = Array.from({ length: blobs }, (_, index) => {
      const data = `blob ${index}\n`;
      return `blob\ndata ${Buffer.byteLength(data)}\n${data}\n`;
    }).join('');
    git(repo, ['fast-import', '--quiet'], { input: stream });
    // 64-bit offsets for every entry past byte 4096: the large-offset table is exercised too.
    const packDir = join(repo, 'objects', 'pack');
    const pack = join(
      packDir,
      readdirSync(packDir).find((name) => name.endsWith('.pack'))!,
    );
    idxPath = join(dir.path, 'large-offsets.idx');
    git(repo, ['index-pack', '--index-version=2,0x1000', '-o', idxPath, pack]);
    const lines = git(repo, ['show-index'], { input: readFileSync(idxPath) }).split('\n');
    const sorted = lines.map((line) => line.split(' ')).sort((a, b) => (a[1]! < b[1]! ? -1 : 1));
    sorted.forEach(([offset, oid], place) => entries.set(oid!, [Number(offset), place]));
  }, 60_000);
  afterAll(() => dir.remove());

  const open = (wholeLimit: number, offsetsBudget?: number): PackIndex =>
    PackIndex.open(idxPath, 20, { wholeLimit, ...(offsetsBudget === undefined ? {} : { offsetsBudget }) });

  it.each([
    ['whole', Number.MAX_SAFE_INTEGER, undefined],
    ['windowed, offsets held', 0, undefined],
    ['windowed, offsets past the budget read per lookup', 0, 4096],
  ])('answers as git show-index does (%s)', (_label, wholeLimit, offsetsBudget) => {
    const index = open(wholeLimit, offsetsBudget);
    expect(index.count).toBe(entries.size);
    expect(entries.size).toBeGreaterThanOrEqual(blobs);
    // In a shuffled order, as a walk looks ids up.
    const ids = [...entries.keys()].sort((a, b) => (a.slice(5) < b.slice(5) ? -1 : 1));
    let large = 0;
    for (const oid of ids) {
      const [offset, place] = entries.get(oid)!;
      if (offset > 0x1000) large++;
      const id = Buffer.from(oid, 'hex');
      expect(index.position(id), oid).toBe(place);
      expect(index.find(id), oid).toBe(offset);
    }
    expect(large).toBeGreaterThan(0);
    // Ids not there: random ones, and ids one bit away from present ones (between two samples,
    // before a bucket's first, after its last).
    for (let attempt = 0; attempt < 500; attempt++) {
      const id = attempt % 2 ? randomBytes(20) : Buffer.from(ids[attempt]!, 'hex');
      if (attempt % 2 === 0) id[19] = id[19]! ^ 1;
      if (entries.has(id.toString('hex'))) continue;
      expect(index.find(id)).toBe(-1);
      expect(index.position(id)).toBe(-1);
    }
    const prefix = ids[7]!.slice(0, 5);
    expect(index.findPrefix(prefix, 10).sort()).toEqual(ids.filter((oid) => oid.startsWith(prefix)).sort());
    index.close();
  });

  it('reads a small part of the file for one lookup and holds a small part of it after all of them', () => {
    const size = statSync(idxPath).size;
    const index = open(0);
    expect(index.windowed).toBe(true);
    const [first, second] = [...entries.keys()];
    expect(index.find(Buffer.from(first!, 'hex'))).toBe(entries.get(first!)![0]);
    // The fan-out table, one bucket's ids and offsets, one block: not the file.
    expect(index.statistics.bytesRead).toBeLessThan(size / 20);
    const afterOne = index.statistics.bytesRead;
    expect(index.find(Buffer.from(second!, 'hex'))).toBe(entries.get(second!)![0]);
    for (const oid of entries.keys()) index.find(Buffer.from(oid, 'hex'));
    // Samples (a twentieth of the ids) and offsets: well under the 28 bytes an entry of the file.
    expect(index.statistics.bytesHeld).toBeLessThan(size / 4);
    expect(index.statistics.bytesRead).toBeGreaterThan(afterOne);
    index.close();
    const whole = open(Number.MAX_SAFE_INTEGER);
    expect(whole.windowed).toBe(false);
    expect(whole.statistics.bytesHeld).toBe(size);
  });

  it('refuses a fan-out table that runs backwards instead of reading what it names', () => {
    const bytes = readFileSync(idxPath);
    bytes.writeUInt32BE(5, 8 + 200 * 4);
    bytes.writeUInt32BE(4, 8 + 201 * 4);
    const bad = join(dir.path, 'backwards.idx');
    writeFileSync(bad, bytes);
    expect(() => PackIndex.open(bad, 20, { wholeLimit: 0 })).toThrow(/fan-out table out of order/);
  });
});
