/**
 * An object's declared size is refused over the limit before a buffer of it is made: a pack
 * entry, a delta's result, a loose object. The packs and loose objects here are written by hand
 * (as a cache, an alternate or a repository copied in CI can hold them: nothing ran index-pack
 * on them); without the check each declared gigabyte was allocated and the read then failed as
 * corrupt (or, for the loose object, inflated whole first).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../../src/core/errors.ts';
import { ObjectStore } from '../../../src/git/object-store.ts';
import { DEFAULT_MAX_OBJECT_BYTES } from '../../../src/git/object-size-limit.ts';
import { openRepository } from '../../../src/git/repository.ts';
import { readServerConfig } from '../../../src/server/config.ts';
import { git, tempDir } from '../../helpers/git.ts';

const GIB = 2 ** 30;

/** A pack entry's header: type and size, git's varint (4 bits, then 7 a byte). */
function entryHeader(type: number, size: number): Buffer {
  const bytes = [(type << 4) | (size % 16)];
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes[bytes.length - 1]! |= 0x80;
    bytes.push(rest % 128);
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(bytes);
}

function varint(size: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.push((size % 128) | (size >= 128 ? 0x80 : 0));
    size = Math.floor(size / 128);
  } while (size > 0);
  return Buffer.from(bytes);
}

/** Writes pack-x.pack and a version 2 index for entries (id → bytes of the entry) into `dir`/pack. */
function writePack(dir: string, entries: Array<{ id: string; bytes: Buffer }>): void {
  mkdirSync(join(dir, 'pack'), { recursive: true });
  const head = Buffer.alloc(12);
  head.write('PACK', 0, 'latin1');
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(entries.length, 8);
  const offsets: number[] = [];
  let at = 12;
  for (const entry of entries) (offsets.push(at), (at += entry.bytes.length));
  const body = Buffer.concat([head, ...entries.map((entry) => entry.bytes)]);
  const pack = Buffer.concat([body, createHash('sha1').update(body).digest()]);
  writeFileSync(join(dir, 'pack', 'pack-x.pack'), pack);
  const sorted = entries.map((entry, index) => ({ id: entry.id, offset: offsets[index]! })).sort((a, b) => a.id.localeCompare(b.id));
  const fanOut = Buffer.alloc(1024);
  for (let bucket = 0; bucket < 256; bucket++) fanOut.writeUInt32BE(sorted.filter((entry) => parseInt(entry.id.slice(0, 2), 16) <= bucket).length, bucket * 4);
  const offsetTable = Buffer.alloc(4 * sorted.length);
  sorted.forEach((entry, index) => offsetTable.writeUInt32BE(entry.offset, index * 4));
  const index = Buffer.concat([
    Buffer.from([0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2]),
    fanOut,
    ...sorted.map((entry) => Buffer.from(entry.id, 'hex')),
    Buffer.alloc(4 * sorted.length),
    offsetTable,
    pack.subarray(pack.length - 20),
  ]);
  writeFileSync(join(dir, 'pack', 'pack-x.idx'), Buffer.concat([index, createHash('sha1').update(index).digest()]));
}

function refusal(read: () => unknown): { code: string; message: string } {
  try {
    read();
  } catch (error) {
    return { code: errorCodeOf(error), message: (error as Error).message };
  }
  throw new Error('the read succeeded');
}

describe('object size limit', () => {
  const dir = tempDir('object-size-limit');
  const commit = Buffer.from('tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nhello\n');
  const commitId = createHash('sha1').update(`commit ${commit.length}\0`).update(commit).digest('hex');
  const liar = 'aa'.repeat(20);
  const deltaId = 'bb'.repeat(20);

  beforeAll(() => {
    // A commit entry that declares a gibibyte and holds 100 bytes; a delta whose result declares
    // a gibibyte, on a real base.
    const delta = Buffer.concat([varint(commit.length), varint(GIB), Buffer.from([5]), Buffer.from('hello')]);
    const baseEntry = Buffer.concat([entryHeader(1, commit.length), deflateSync(commit)]);
    const liarEntry = Buffer.concat([entryHeader(1, GIB), deflateSync(commit)]);
    writePack(join(dir.path, 'packed'), [
      { id: commitId, bytes: baseEntry },
      { id: liar, bytes: liarEntry },
      { id: deltaId, bytes: Buffer.concat([entryHeader(6, delta.length), ofsDistance(baseEntry.length + liarEntry.length), deflateSync(delta)]) },
    ]);
    // A loose object that declares a gibibyte.
    const loose = join(dir.path, 'loose', liar.slice(0, 2));
    mkdirSync(loose, { recursive: true });
    writeFileSync(join(loose, liar.slice(2)), deflateSync(Buffer.concat([Buffer.from(`commit ${GIB}\0`), commit])));
    // A loose object that declares 100 bytes and inflates to 64 MiB (a bomb).
    const bomb = 'cc'.repeat(20);
    mkdirSync(join(dir.path, 'loose', 'cc'), { recursive: true });
    writeFileSync(join(dir.path, 'loose', 'cc', bomb.slice(2)), deflateSync(Buffer.concat([Buffer.from('commit 100\0'), Buffer.alloc(64 * 1024 * 1024)])));
  });
  afterAll(() => dir.remove());

  /** An OFS_DELTA's distance back to its base, as git encodes it (each continuation adds one). */
  function ofsDistance(distance: number): Buffer {
    const bytes = [distance & 127];
    while ((distance >>= 7) > 0) bytes.unshift(128 | (--distance & 127));
    return Buffer.from(bytes);
  }

  it('refuses a pack entry declaring more than the limit, naming it, before inflating', () => {
    const store = new ObjectStore([join(dir.path, 'packed')], 'sha1');
    expect(store.read(commitId).data.equals(commit)).toBe(true);
    const { code, message } = refusal(() => store.read(liar));
    expect(code).toBe('LIMIT_EXCEEDED');
    expect(message).toContain(`object ${liar}`);
    expect(message).toContain(`declares ${GIB} bytes`);
    expect(message).toContain(`${DEFAULT_MAX_OBJECT_BYTES}`);
    expect(message).not.toContain('\n');
  });

  it('refuses a delta whose result declares more than the limit, naming the object', () => {
    const store = new ObjectStore([join(dir.path, 'packed')], 'sha1');
    const { code, message } = refusal(() => store.read(deltaId));
    expect(code).toBe('LIMIT_EXCEEDED');
    expect(message).toContain(`object ${deltaId}`);
    expect(message).toContain(`declares ${GIB} bytes`);
  });

  it('refuses a loose object declaring more than the limit, and a loose bomb, without inflating it whole', () => {
    const store = new ObjectStore([join(dir.path, 'loose')], 'sha1');
    const { code, message } = refusal(() => store.read(liar));
    expect(code).toBe('LIMIT_EXCEEDED');
    expect(message).toContain(`object ${liar}`);
    const bomb = refusal(() => store.read('cc'.repeat(20)));
    expect(bomb.code).toBe('OBJECT_CORRUPT');
    expect(bomb.message).toMatch(/compressed bytes for a 100-byte object/);
  });

  it('takes the limit from SIGNET_MAX_OBJECT_BYTES (verify, and the app through its settings), never from the repository', () => {
    const repo = join(dir.path, 'real');
    git(dir.path, ['init', '-q', '-b', 'main', repo]);
    // The repository's own config is whoever copied it: it must not raise the limit.
    git(repo, ['config', 'signet.maxObjectBytes', String(GIB)]);
    const tree = git(repo, ['write-tree']);
    const large = git(repo, ['hash-object', '-t', 'commit', '-w', '--stdin'], {
      input: `tree ${tree}\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\n${'x'.repeat(200_000)}\n`,
    });
    expect(openRepository({ path: repo, cwd: repo, env: {} }).objects.read(large).data.length).toBeGreaterThan(200_000);
    const limited = openRepository({ path: repo, cwd: repo, env: { SIGNET_MAX_OBJECT_BYTES: '65536' } });
    expect(refusal(() => limited.objects.read(large))).toEqual({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining(`object ${large}`) });
    expect(() => openRepository({ path: repo, cwd: repo, env: { SIGNET_MAX_OBJECT_BYTES: '16MB' } })).toThrow(
      "SIGNET_MAX_OBJECT_BYTES: '16MB' is not a positive whole number of bytes",
    );
    git(repo, ['gc', '-q']);
    expect(refusal(() => openRepository({ path: repo, cwd: repo, env: { SIGNET_MAX_OBJECT_BYTES: '65536' } }).objects.read(large)).code).toBe('LIMIT_EXCEEDED');

    const app = { GITLAB_URL: 'https://gitlab.example.com', GITLAB_TOKEN: 'token', GITLAB_WEBHOOK_SECRET: 'secret' };
    expect(readServerConfig(app, '/tmp').maxObjectBytes).toBe(DEFAULT_MAX_OBJECT_BYTES);
    expect(readServerConfig({ ...app, SIGNET_MAX_OBJECT_BYTES: '1048576' }, '/tmp').maxObjectBytes).toBe(1024 * 1024);
  });
});
