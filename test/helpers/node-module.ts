/**
 * Runs a TypeScript module of the project in a plain child `node` (Node 20 cannot import .ts):
 * esbuild bundles it into .tmp/ inside the project, so its npm imports still resolve from
 * node_modules, and the child is this very runtime (process.execPath).
 */
import { mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

export function bundleForNode(entry: string): string {
  const dir = resolve('.tmp', 'test-bundles');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${basename(entry, '.ts')}-${process.pid}.mjs`);
  buildSync({
    entryPoints: [resolve(entry)],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    banner: { js: "import { createRequire as __signetRequire } from 'node:module'; const require = __signetRequire(import.meta.url);" },
  });
  return out;
}
