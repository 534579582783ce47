import { hash as oneShotHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants, inflateSync, type ZlibOptions } from 'node:zlib';
import { SignetError } from '../core/errors.ts';
import type { GitObject, ObjectType } from './git-object.ts';
import { hashLength, type HashAlgorithm } from './hash-algorithm.ts';
import { DEFAULT_MAX_OBJECT_BYTES, objectTooLarge } from './object-size-limit.ts';
import { PackFile } from './pack-file.ts';

const objectTypes = new Set<ObjectType>(['commit', 'tree', 'blob', 'tag']);

/**
 * Reads objects from a list of object directories (loose objects and packs), for SHA-1 and
 * SHA-256 repositories. Every object read is hashed and compared with its id, as git's
 * parse_object does: a store that hands out content under the wrong id would let a signature
 * be checked over bytes other than the ones the ref points at.
 */
export class ObjectStore {
  private packs: PackFile[] | undefined;
  private generation = 0;
  /** Bytes an object id: 20 (SHA-1) or 32 (SHA-256). */
  readonly idLength: number;
  /**
   * Recently read objects, already checked, up to a byte budget: a range is walked first and
   * verified after, so each commit is inflated and hashed once, not twice.
   */
  private readonly recent = new Map<string, GitObject>();
  private recentBytes = 0;
  private static readonly RECENT_BUDGET = 64 * 1024 * 1024;
  private recentBudget = ObjectStore.RECENT_BUDGET;
  /**
   * The commits of `.git/shallow` (a clone made with --depth): git treats them as having no
   * parents even when their parents are present, so every history walk over this store does.
   */
  shallow: ReadonlySet<string> = new Set();
  private maxBytes = DEFAULT_MAX_OBJECT_BYTES;

  constructor(
    readonly directories: string[],
    readonly hashAlgorithm: HashAlgorithm,
  ) {
    this.idLength = hashLength(hashAlgorithm);
  }

  read(oid: string): GitObject {
    const object = this.tryRead(oid);
    if (!object) throw new SignetError('OBJECT_MISSING', `object ${oid} is missing from ${this.directories[0]}`);
    return object;
  }

  tryRead(oid: string): GitObject | undefined {
    // Only well-formed ids are ever cached, so a hit needs no check.
    const cached = this.recent.get(oid);
    if (cached) return cached;
    if (oid.length !== this.idLength * 2 || !/^[0-9a-f]+$/.test(oid)) {
      throw new SignetError('OBJECT_MALFORMED', `'${oid}' is not a ${this.hashAlgorithm} object id`);
    }
    const object = this.readUnchecked(Buffer.from(oid, 'hex'), true);
    if (object) {
      this.checkHash(oid, object);
      this.remember(oid, object);
    }
    return object;
  }

  private remember(oid: string, object: GitObject): void {
    const size = object.data.length + 100;
    if (size > this.recentBudget / 16) return;
    this.recent.set(oid, object);
    this.recentBytes += size;
    this.evictRecent();
  }

  /**
   * Sets the byte budget of recently read objects (undefined: the default, 64 MiB). A caller that
   * reads each commit again right after the walk found it needs only a window's worth: a 64 MiB
   * cache that a 100,000-commit walk fills is resident memory that buys nothing there.
   */
  limitRecent(bytes: number | undefined): void {
    this.recentBudget = bytes ?? ObjectStore.RECENT_BUDGET;
    this.evictRecent();
  }

  private evictRecent(): void {
    while (this.recentBytes > this.recentBudget) {
      const [oldest, value] = this.recent.entries().next().value as [string, GitObject];
      this.recent.delete(oldest);
      this.recentBytes -= value.data.length + 100;
    }
  }

  /**
   * The largest object read (object-size-limit.ts): a pack entry, delta result or loose object
   * declaring more is refused, naming it, before a buffer of its size is made.
   */
  get maxObjectBytes(): number {
    return this.maxBytes;
  }

  set maxObjectBytes(bytes: number) {
    this.maxBytes = bytes;
    for (const pack of this.packs ?? []) pack.maxObjectBytes = bytes;
  }

  /** Bytes of recently read objects held now: for the test that a streamed range keeps only a window. */
  get recentHeldBytes(): number {
    return this.recentBytes;
  }

  has(oid: string): boolean {
    const id = Buffer.from(oid, 'hex');
    if (this.packList().some((pack) => pack.has(id))) return true;
    return this.directories.some((directory) => looseExists(join(directory, oid.slice(0, 2), oid.slice(2))));
  }

  /** Full ids that start with the given hex prefix (at most `limit`). */
  findByPrefix(prefix: string, limit = 2): string[] {
    const found = new Set<string>();
    for (const pack of this.packList()) for (const oid of pack.index.findPrefix(prefix, limit)) found.add(oid);
    if (prefix.length >= 2) {
      for (const directory of this.directories) {
        let names: string[] = [];
        try {
          names = readdirSync(join(directory, prefix.slice(0, 2)));
        } catch {
          continue;
        }
        for (const name of names) if ((prefix.slice(0, 2) + name).startsWith(prefix)) found.add(prefix.slice(0, 2) + name);
      }
    }
    return [...found].slice(0, limit);
  }

  /**
   * Changes whenever the pack list is read (again): the ordinals packOrdinal gave before are
   * void then (a repack during a walk).
   */
  get packGeneration(): number {
    this.packList();
    return this.generation;
  }

  /** How many entries the packs hold, all packs together: the range of packOrdinal. */
  get packEntries(): number {
    return this.packList().reduce((sum, pack) => sum + pack.index.count, 0);
  }

  /**
   * The object's ordinal among all pack entries (pack after pack, its place in each index), or
   * -1 when no pack holds it: a dense, exact number per packed object, so a set of a million
   * commits can be a million bits.
   */
  packOrdinal(oid: string): number {
    const id = Buffer.from(oid, 'hex');
    const packs = this.packList();
    let base = 0;
    for (let index = 0; index < packs.length; index++) {
      const position = packs[index]!.position(id);
      if (position >= 0) return base + position;
      base += packs[index]!.index.count;
    }
    return -1;
  }

  /** The id (hex) of the pack entry with this ordinal (the inverse of packOrdinal). */
  idAtOrdinal(ordinal: number): string {
    const packs = this.packList();
    let base = 0;
    for (let index = 0; index < packs.length; index++) {
      const count = packs[index]!.index.count;
      if (ordinal >= base && ordinal < base + count) return packs[index]!.index.idAt(ordinal - base);
      base += count;
    }
    throw new RangeError(`no pack entry ${ordinal}`);
  }

  close(): void {
    for (const pack of this.packs ?? []) pack.close();
    this.packs = undefined;
    this.recent.clear();
    this.recentBytes = 0;
  }

  private readUnchecked(id: Buffer, rescanPacks: boolean): GitObject | undefined {
    const resolveBase = (baseId: Buffer): GitObject | undefined => this.readUnchecked(baseId, false);
    const packs = this.packList();
    for (let index = 0; index < packs.length; index++) {
      const object = packs[index]!.read(id, resolveBase);
      if (object) return object;
    }
    const oid = id.toString('hex');
    for (const directory of this.directories) {
      const object = readLoose(join(directory, oid.slice(0, 2), oid.slice(2)), oid, this.maxBytes);
      if (object) return object;
    }
    if (rescanPacks) {
      // A repack may have moved loose objects into a new pack since we listed them.
      const before = this.packs?.length ?? 0;
      for (const pack of this.packs ?? []) pack.close();
      this.packs = undefined;
      if (this.packList().length !== before) return this.readUnchecked(id, false);
    }
    return undefined;
  }

  private packList(): PackFile[] {
    if (!this.packs) {
      this.generation++;
      this.packs = [];
      for (const directory of this.directories) {
        let names: string[];
        try {
          names = readdirSync(join(directory, 'pack'));
        } catch {
          continue;
        }
        const indexes = new Set(names.filter((name) => name.endsWith('.idx')));
        for (const name of names.sort()) {
          if (name.endsWith('.pack') && indexes.has(name.replace(/\.pack$/, '.idx'))) {
            const pack = new PackFile(join(directory, 'pack', name), this.idLength);
            pack.maxObjectBytes = this.maxBytes;
            this.packs.push(pack);
          }
        }
      }
    }
    return this.packs;
  }

  private checkHash(oid: string, object: GitObject): void {
    // One buffer and a one-shot hash: a streaming Hash object costs more than the copy.
    const header = `${object.type} ${object.data.length}\0`;
    const framed = Buffer.allocUnsafe(header.length + object.data.length);
    for (let index = 0; index < header.length; index++) framed[index] = header.charCodeAt(index);
    framed.set(object.data, header.length);
    if (oneShotHash(this.hashAlgorithm, framed, 'hex') !== oid)
      throw new SignetError('OBJECT_CORRUPT', `object ${oid} is corrupt: its content hashes to another id`);
  }
}

function looseExists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw new SignetError('OBJECT_CORRUPT', `cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Bytes read first of a loose object: its header inflates from far fewer. */
const LOOSE_HEAD_BYTES = 512;

/**
 * The loose object at `path`, or undefined when there is none. Its header (`type size\0`) is
 * inflated from the file's first bytes and its size checked against `maxBytes` before the rest
 * is read or inflated; the file may not be much larger than that size compresses to, and the
 * whole inflates to at most the header and that size (zlib stops there).
 */
function readLoose(path: string, oid: string, maxBytes: number): GitObject | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new SignetError('OBJECT_CORRUPT', `cannot read object ${oid} at ${path}: ${(error as Error).message}`);
  }
  try {
    const fileSize = fstatSync(fd).size;
    const head = readFully(fd, Math.min(fileSize, LOOSE_HEAD_BYTES), path);
    // A file that fits in the head is inflated whole at once (from so few bytes the output is
    // bounded by deflate's ratio, ~1032:1); a larger one has its header read from a partial
    // inflation of the head first.
    const whole = head.length === fileSize;
    const start = inflateLoose(head, path, whole ? {} : { finishFlush: constants.Z_SYNC_FLUSH });
    const { type, size, headerLength } = looseHeader(start, path);
    if (size > maxBytes) throw objectTooLarge(`object ${oid} (${path})`, size, maxBytes);
    let raw = start;
    if (!whole) {
      // Deflate's worst case (stored blocks) is 5 bytes per block of up to 64 KiB; twice the
      // content leaves room for any encoder's choice and still bounds what is read.
      if (fileSize > 2 * (headerLength + size) + 4096)
        throw new SignetError('OBJECT_CORRUPT', `${path}: ${fileSize} compressed bytes for a ${size}-byte object`);
      const compressed = Buffer.concat([head, readFully(fd, fileSize - head.length, path, head.length)]);
      raw = inflateLoose(compressed, path, { maxOutputLength: headerLength + size });
    }
    if (raw.length !== headerLength + size) throw new SignetError('OBJECT_CORRUPT', `${path}: malformed loose object header`);
    return { type, data: raw.subarray(headerLength) };
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, length: number, path: string, position = 0): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const read = readSync(fd, bytes, done, length - done, position + done);
    if (read === 0) throw new SignetError('OBJECT_CORRUPT', `${path}: truncated loose object`);
    done += read;
  }
  return bytes;
}

function inflateLoose(compressed: Buffer, path: string, options: ZlibOptions): Buffer {
  try {
    return inflateSync(compressed, options);
  } catch (error) {
    throw new SignetError('OBJECT_CORRUPT', `${path}: cannot inflate loose object (${(error as Error).message})`);
  }
}

/** `type size\0` from the start of a loose object's inflated bytes (the rest may not be inflated yet). */
function looseHeader(start: Buffer, path: string): { type: ObjectType; size: number; headerLength: number } {
  const space = start.indexOf(0x20);
  const nul = start.indexOf(0, space + 1);
  const type = start.toString('latin1', 0, space) as ObjectType;
  const digits = start.toString('latin1', space + 1, nul);
  const size = Number(digits);
  if (space < 0 || nul < 0 || nul > 32 || !objectTypes.has(type) || !/^(0|[1-9][0-9]*)$/.test(digits) || !Number.isSafeInteger(size)) {
    throw new SignetError('OBJECT_CORRUPT', `${path}: malformed loose object header`);
  }
  return { type, size, headerLength: nul + 1 };
}
