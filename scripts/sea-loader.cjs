'use strict';
// The single executable's main script (scripts/build-sea.mjs). signet itself is an asset of the
// executable, compiled here with the V8 code cache the build made after a warm-up run, so a
// push does not compile the functions verify and the hook call: a code cache from Node's own
// `useCodeCache` holds only a script's top level. Node's SEA `require` loads built-in modules
// only, which is all the bundle asks of it.
//
// The code cache is read in place (getRawAsset: a view of the executable's own bytes), not copied
// (getAsset): glibc's malloc raises its mmap threshold to the size of the largest block freed, and
// freeing a copy (strace: a 3.3 MB munmap at start-up) put every later allocation under that size
// (pack windows, the walk's chunks) on the heap, where freed ones stay resident. `main ^root` over
// 100,000 commits: 122-127 -> 120 MiB, steadier.
//
// The bundle's source is read from the file instead, 64 KiB at a time through one small buffer: V8
// keeps the source for the whole run (functions compile lazily from it), and decoding it from
// the mapping held it twice, as the mapping's pages (resident once touched, for the whole run:
// JavaScript cannot unmap them) and as the string. Read from the file, the pages stay in the
// page cache, outside this process.
const { closeSync, openSync, readSync } = require('node:fs');
const { getRawAsset } = require('node:sea');
const { Script } = require('node:vm');

// Where the bundle's bytes start in the executable file: written here by scripts/build-sea.mjs
// after the bundle was injected (same width, so nothing moves). Zeros: not patched.
const SOURCE_AT = 'signet-source-at:0000000000000000';
const CHUNK_BYTES = 64 * 1024;
/**
 * Bytes compared with the mapping at a few places. Few on purpose: a read fault on a file mapping
 * maps the 64 KiB around it (the kernel's fault-around), so one spot per chunk made every page of
 * the bundle resident again.
 */
const SPOT_BYTES = 64;
const SPOTS = 4;

/**
 * The bundle's source from the executable file, or undefined when it cannot be read there or the
 * bytes read differ from the mapping's at a spot checked (an executable edited after the build,
 * no /proc): then the caller decodes the mapping, which is always right, only larger.
 * /proc/self/exe is the running file itself, never a newer one installed at the same path, and
 * the kernel refuses writes to it while it runs: only the offset can be wrong, and the spots
 * (the first and last bytes among them) catch that.
 */
function sourceFromFile(mapped) {
  const at = Number(SOURCE_AT.slice(SOURCE_AT.indexOf(':') + 1));
  if (!(at > 0) || mapped.length < SPOT_BYTES) return undefined;
  let fd;
  try {
    fd = openSync('/proc/self/exe', 'r');
  } catch {
    return undefined; // no /proc (a chroot): the mapping serves
  }
  try {
    const spot = Buffer.allocUnsafe(SPOT_BYTES);
    for (let index = 0; index < SPOTS; index++) {
      const place = Math.floor(((mapped.length - SPOT_BYTES) * index) / (SPOTS - 1));
      if (!readFully(fd, spot, SPOT_BYTES, at + place)) return undefined;
      if (Buffer.compare(spot, mapped.subarray(place, place + SPOT_BYTES)) !== 0) return undefined;
    }
    const chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    const parts = [];
    for (let done = 0; done < mapped.length;) {
      const length = Math.min(CHUNK_BYTES, mapped.length - done);
      if (!readFully(fd, chunk, length, at + done)) return undefined;
      parts.push(chunk.latin1Slice(0, length));
      done += length;
    }
    return parts.join('');
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at `position` into the start of `buffer`: false at the file's end. */
function readFully(fd, buffer, length, position) {
  for (let read = 0; read < length;) {
    const got = readSync(fd, buffer, read, length - read, position + read);
    if (got <= 0) return false;
    read += got;
  }
  return true;
}

const mapped = Buffer.from(getRawAsset('signet.cjs'));
// The bundle is ASCII (the build checks): latin1 is exact, and V8 holds it one byte a character.
const source = sourceFromFile(mapped) ?? mapped.toString('latin1');
const script = new Script(source, {
  filename: 'signet.cjs',
  cachedData: Buffer.from(getRawAsset('signet.cache')),
});
script.runInThisContext()(exports, require, module, __filename, __dirname);
