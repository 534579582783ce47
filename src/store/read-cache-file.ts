import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * What a cache file may weigh: far above what a million commits write (a verdict line is about
 * 100 bytes), far below what would exhaust memory reading it.
 */
export const CACHE_FILE_MAX_BYTES = 512 * 1024 * 1024;

/** A cache file that is there but cannot be used: the caller ignores it and works again. */
export class UnusableCacheFile extends Error {}

/**
 * Reads a cache file that whoever can write the cache directory (a CI cache restored from an
 * untrusted job, `--cache DIR` in a checkout) may have replaced. Undefined when there is none.
 *
 * A plain read would hang on a FIFO planted at the name, read forever from a symlink to
 * /dev/zero, or fill memory from a huge file; signet only ever renames regular files into place,
 * so anything else is foreign: the file is opened without following a symlink and without
 * blocking, and must be a regular file of bounded size, else UnusableCacheFile names why.
 */
export function readCacheFile(path: string, maxBytes = CACHE_FILE_MAX_BYTES): Buffer | undefined {
  const file = openCacheFile(path, maxBytes);
  if (!file) return undefined;
  try {
    const bytes = Buffer.allocUnsafe(file.size);
    const filled = file.read(bytes, 0);
    // A file that shrank while being read is used as far as it went: its MAC decides the rest.
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } finally {
    file.close();
  }
}

/** A cache file open for reading in pieces (a long one need not be held whole). */
export interface CacheFileReader {
  /** Its size when opened. */
  readonly size: number;
  /** Fills `buffer` from `position` as far as the file goes; the bytes read. */
  read(buffer: Buffer, position: number): number;
  close(): void;
}

/** Opens a cache file with readCacheFile's guarantees (no symlink, FIFO or device; bounded size). */
export function openCacheFile(path: string, maxBytes = CACHE_FILE_MAX_BYTES): CacheFileReader | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new UnusableCacheFile('a symbolic link, not a file signet wrote');
    throw new UnusableCacheFile(`cannot be opened (${code ?? (error as Error).message})`);
  }
  let size: number;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UnusableCacheFile('not a regular file');
    if (stat.size > maxBytes) throw new UnusableCacheFile(`${stat.size} bytes, over the ${maxBytes}-byte bound`);
    size = stat.size;
  } catch (error) {
    closeSync(fd);
    if (error instanceof UnusableCacheFile) throw error;
    throw new UnusableCacheFile(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return {
    size,
    read(buffer: Buffer, position: number): number {
      let filled = 0;
      try {
        while (filled < buffer.length) {
          const read = readSync(fd, buffer, filled, buffer.length - filled, position + filled);
          if (read === 0) break;
          filled += read;
        }
      } catch (error) {
        throw new UnusableCacheFile(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      return filled;
    },
    close(): void {
      closeSync(fd);
    },
  };
}
