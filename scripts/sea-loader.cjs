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
// The bundle's source is read from the file instead, 64 KiB at a time through one small buffer:
// V8 keeps the source for the whole run (functions compile lazily from it), and decoding it from
// the mapping held it twice, as the mapping's pages (resident once touched, for the whole run:
// JavaScript cannot unmap them) and as the string. Read from the file, the pages stay in the
// page cache, outside this process. What is read is used only if its SHA-256 is the one the
// build wrote here: V8 checks a code cache against its source's length alone, so source bytes
// other than the build's would be compiled beside the build's bytecode without a word.
const { createHash } = require('node:crypto');
const { closeSync, constants, fstatSync, openSync, readSync } = require('node:fs');
const { getRawAsset } = require('node:sea');
const { Script } = require('node:vm');

// Written here by scripts/build-sea.mjs after the bundle was injected (same width, so nothing
// moves): where the bundle's bytes start in the executable file, and their SHA-256. Zeros: not
// patched, and the mapping serves.
const SOURCE_AT = 'signet-source-at:0000000000000000';
const SOURCE_SHA256 = 'signet-source-sha256:0000000000000000000000000000000000000000000000000000000000000000';
const CHUNK_BYTES = 64 * 1024;

/** The hex after a patched marker's colon. */
const patched = (marker) => marker.slice(marker.indexOf(':') + 1);

/**
 * The bundle's source (`length` bytes) from the executable file, or undefined when it cannot be
 * read there or what was read is not the build's bytes (not Linux, no procfs at /proc in a
 * chroot, an executable edited after the build, a read error): then the caller decodes the
 * mapping, which is always right, only larger. Nothing here throws: an error would print a stack
 * trace on the hook's stderr, which the pusher reads.
 */
function sourceFromFile(length) {
  const at = Number.parseInt(patched(SOURCE_AT), 10);
  const digest = patched(SOURCE_SHA256);
  if (process.platform !== 'linux' || !(at > 0) || /^0+$/.test(digest)) return undefined;
  let fd;
  try {
    // Non-blocking: something planted at that path (a FIFO) must not hang the hook.
    fd = openSync('/proc/self/exe', constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return undefined;
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    const parts = [];
    for (let done = 0; done < length;) {
      const size = Math.min(CHUNK_BYTES, length - done);
      if (!readFully(fd, chunk, size, at + done)) return undefined;
      hash.update(chunk.subarray(0, size));
      parts.push(chunk.toString('latin1', 0, size));
      done += size;
    }
    return hash.digest('hex') === digest ? parts.join('') : undefined;
  } catch {
    return undefined; // the mapping serves: the same source, decoded from memory
  } finally {
    if (fd !== undefined) closeSync(fd);
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
const source = sourceFromFile(mapped.length) ?? mapped.toString('latin1');
const script = new Script(source, {
  filename: 'signet.cjs',
  cachedData: Buffer.from(getRawAsset('signet.cache')),
});
script.runInThisContext()(exports, require, module, __filename, __dirname);
