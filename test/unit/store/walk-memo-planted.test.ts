/**
 * A walk memo's MAC covers the whole file, so it is known only once the file is read; whatever
 * is read before (the first pass, an earlier memo's revisions line that steers a moved tip's
 * walk) is written by whoever can write the cache directory: a CI cache restored from an
 * untrusted job, `--cache DIR` in a checkout. `<key>` is a hash of public inputs, so such a file
 * is found and read. Parsed as JSON, a planted line of `[{},{},…]` became millions of objects
 * (623 MiB of RSS for one line of 16 MiB): a `verify` that must stay within 128 MiB. Run in a
 * child with a small heap, so that such an allocation is a crash, not a slow test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleForNode } from '../../helpers/node-module.ts';

/** What the child may hold: far below what parsing the planted line would build. */
const HEAP_MB = 64;

const PLANT = `
const [{ WalkMemo }, { mkdirSync, writeFileSync }] = await Promise.all([import(process.env.MEMO_BUNDLE), import('node:fs')]);
const dir = process.env.MEMO_DIR;
mkdirSync(dir, { recursive: true });
const secret = Buffer.from('a-secret-of-thirty-two-bytes-or-more!!');
const key = 'c'.repeat(64);
const walk = (include) => ({ include, exclude: [], parsed: [], shallow: [], hashAlgorithm: 'sha1' });
const earlier = walk(['1'.repeat(40)]);
const objects = '{},'.repeat(8 << 18) + '{}';
const plant = (name, body) => writeFileSync(dir + '/' + name + '.memo', 'signet-walk-memo 2 ' + name + ' ' + '0'.repeat(64) + '\\n' + body);
const t = 't\\t' + JSON.stringify({ include: earlier.include, exclude: [], parsed: [] }) + '\\n';
if (process.env.MEMO_CASE === 'verdict') {
  // This range's own name, its revisions line right, then one shared verdict of 6 MiB.
  const memo = new WalkMemo(dir, key, earlier, true, secret);
  plant(memo.key, t + 'v\\t{"verdict":{"status":"G","format":"ssh","reason":"valid"},"mergetags":[' + objects + ']}\\n');
  console.log(JSON.stringify({ recalled: memo.recall() !== undefined, reason: memo.ignoredReason ?? null }));
} else if (process.env.MEMO_CASE === 'tips') {
  // A moved tip's candidate under a name its revisions give, listing 100,000 tips: each would be
  // read before the walk (a repository's every commit, listed by whoever plants the file).
  const { walkMemoKey } = await import(process.env.MEMO_BUNDLE);
  const many = Array.from({ length: 100000 }, (_, index) => index.toString(16).padStart(40, '0'));
  const name = walkMemoKey(key, { include: many, exclude: [], parsed: [], shallow: [], hashAlgorithm: 'sha1' });
  plant(name, 't\\t' + JSON.stringify({ include: many, exclude: [], parsed: [] }) + '\\n');
  const memo = new WalkMemo(dir, key, walk(['2'.repeat(40)]), true, secret);
  let walked = 0;
  const moved = memo.recallMoved(() => { walked++; return undefined; });
  console.log(JSON.stringify({ recalled: moved !== undefined, reason: memo.ignoredReason ?? null, walked }));
} else {
  // A moved tip's candidate: a name that looks like a memo's, its revisions line 6 MiB of objects.
  plant('d'.repeat(64), 't\\t{"include":[' + objects + '],"exclude":[],"parsed":[]}\\n');
  const memo = new WalkMemo(dir, key, walk(['2'.repeat(40)]), true, secret);
  const moved = memo.recallMoved(() => { throw new Error('walked for a candidate whose revisions do not parse'); });
  console.log(JSON.stringify({ recalled: moved !== undefined, reason: memo.ignoredReason ?? null }));
}
`;

describe('a planted walk memo is not parsed into objects before its MAC is checked', () => {
  let dir: string;
  let bundle: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-memo-planted-'));
    bundle = bundleForNode('src/store/walk-memo.ts');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(which: 'verdict' | 'revisions' | 'tips'): { status: number | null; out: string; err: string } {
    const child = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--input-type=module', '-e', PLANT], {
      env: { ...process.env, MEMO_BUNDLE: bundle, MEMO_DIR: join(dir, which), MEMO_CASE: which },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: child.status, out: child.stdout, err: child.stderr.slice(0, 400) };
  }

  it("a shared verdict line of megabytes of JSON objects (this range's own memo): ignored, walked again", () => {
    const { status, out, err } = run('verdict');
    expect(err).not.toMatch(/heap out of memory/);
    expect(status).toBe(0);
    const answer = JSON.parse(out) as { recalled: boolean; reason: string };
    expect(answer.recalled).toBe(false);
    expect(answer.reason).toMatch(/ignored, walking again$/);
  });

  it('an earlier memo listing 100,000 tips for a range of one: no candidate, no walk', () => {
    const { status, out } = run('tips');
    expect(status).toBe(0);
    expect(JSON.parse(out)).toEqual({ recalled: false, reason: null, walked: 0 });
  });

  it('a revisions line of megabytes of JSON objects (an earlier memo for a moved tip): no candidate, no walk', () => {
    const { status, out, err } = run('revisions');
    expect(err).not.toMatch(/heap out of memory/);
    expect(status).toBe(0);
    expect(JSON.parse(out)).toEqual({ recalled: false, reason: null });
  });
});
