#!/usr/bin/env node
'use strict';
// CommonJS on purpose (bin/package.json): this file runs before Node's ESM loader has used
// libuv's thread pool, so the pool can still be sized (process-tuning.js).
require('./process-tuning.js').tuneProcess();
// The bundle is built by `npm ci` (the `prepare` script) or `npm run build`.
import('../dist/signet.mjs').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('signet.mjs')) {
    process.stderr.write("signet: dist/signet.mjs is missing; run 'npm ci' or 'npm run build' first\n");
    process.exit(2);
  }
  throw error;
});
