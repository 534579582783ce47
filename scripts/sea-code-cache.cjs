'use strict';
// Makes the single executable's V8 code cache (scripts/build-sea.mjs): compiles the wrapped
// bundle as scripts/sea-loader.cjs does, runs the bundle's warm-up (src/cli/warm-up.ts: verify
// and the hook on a two-commit repository) instead of its main, then writes the code cache,
// which now holds the bytecode of every function the warm-up compiled. Code only: no state of
// this run is in it. Run by the Node 24 the executable is made of, with its V8 flags.
const { readFileSync, writeFileSync } = require('node:fs');
const { Script } = require('node:vm');

const [source, output] = process.argv.slice(2);
const script = new Script(readFileSync(source, 'utf8'), { filename: 'signet.cjs' });
globalThis[Symbol.for('signet.codeCacheWarmUp')] = (warmUp) =>
  warmUp().then(
    () => writeFileSync(output, script.createCachedData()),
    (error) => {
      process.stderr.write(`signet: the code cache's warm-up failed: ${error?.stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
script.runInThisContext()(exports, require, module, __filename, __dirname);
