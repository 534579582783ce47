#!/usr/bin/env node
'use strict';
// CommonJS on purpose (bin/package.json): this file runs before Node's ESM loader has used
// libuv's thread pool, so the pool can still be sized. `signet verify` checks signatures there;
// the default of 4 threads on a 2-core machine starves the thread that feeds them (20,000
// commits: 2.55 s with 4 threads, 2.35 s with one per core, measured).
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  process.env.UV_THREADPOOL_SIZE = String(Math.min(Math.max(require('node:os').availableParallelism(), 2), 16));
}
// The bundle is built by `npm ci` (the `prepare` script) or `npm run build`.
import('../dist/signet.mjs').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('signet.mjs')) {
    process.stderr.write("signet: dist/signet.mjs is missing; run 'npm ci' or 'npm run build' first\n");
    process.exit(2);
  }
  throw error;
});
