'use strict';
// The single executable's main script (scripts/build-sea.mjs). signet itself is an asset of the
// executable, compiled here with the V8 code cache the build made after a warm-up run, so a
// push does not compile the functions verify and the hook call: a code cache from Node's own
// `useCodeCache` holds only a script's top level. Node's SEA `require` loads built-in modules
// only, which is all the bundle asks of it.
//
// Both assets are read in place (getRawAsset: a view of the executable's own bytes), not copied
// (getAsset): glibc's malloc raises its mmap threshold to the size of the largest block freed, and
// freeing the copies (strace: a 3.3 MB munmap at start-up) put every later allocation under that
// size (pack windows, the walk's chunks) on the heap, where freed ones stay resident. `main ^root` over 100,000
// commits: 122-127 -> 120 MiB, steadier.
const { getRawAsset } = require('node:sea');
const { Script } = require('node:vm');

// The bundle is ASCII (the build checks): latin1 is exact, and V8 holds it one byte a character.
const script = new Script(Buffer.from(getRawAsset('signet.cjs')).toString('latin1'), {
  filename: 'signet.cjs',
  cachedData: Buffer.from(getRawAsset('signet.cache')),
});
script.runInThisContext()(exports, require, module, __filename, __dirname);
