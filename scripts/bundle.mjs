// Bundles the CLI into one ESM file: one file to load starts faster than hundreds of modules,
// and start-up is part of every hook invocation's budget.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

rmSync(new URL('../dist/chunks', import.meta.url), { recursive: true, force: true });

await build({
  // Split so each command loads only what it uses: `verify` does not parse the signing
  // pipelines, and openpgp.js loads only when there are OpenPGP keys to read.
  entryPoints: { signet: 'src/cli/entry.ts', 'verify-worker': 'src/git/verify-worker.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: false,
  legalComments: 'none',
  define: { SIGNET_VERSION: JSON.stringify(version) },
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __signetCreateRequire } from 'node:module'; const require = __signetCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
