'use strict';
// The single executable's main script (scripts/build-sea.mjs). signet itself is an asset of the
// executable, compiled here with the V8 code cache the build made after a warm-up run, so a
// push does not compile the functions verify and the hook call: a code cache from Node's own
// `useCodeCache` holds only a script's top level. Node's SEA `require` loads built-in modules
// only, which is all the bundle asks of it.
const { getAsset } = require('node:sea');
const { Script } = require('node:vm');

const script = new Script(getAsset('signet.cjs', 'utf8'), {
  filename: 'signet.cjs',
  cachedData: Buffer.from(getAsset('signet.cache')),
});
script.runInThisContext()(exports, require, module, __filename, __dirname);
