#!/usr/bin/env node
// The bundle is built by `npm ci` (the `prepare` script) or `npm run build`.
import('../dist/signet.mjs').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('signet.mjs')) {
    process.stderr.write("signet: dist/signet.mjs is missing; run 'npm ci' or 'npm run build' first\n");
    process.exit(2);
  }
  throw error;
});
