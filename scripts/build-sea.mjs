// Builds dist/signet: one self-contained executable (Node's single-executable application).
// The hook runs where there may be no Node at all (GitHub Enterprise's hook chroot), so the
// runtime travels inside the file. Steps: esbuild → one CommonJS file (SEA needs CJS) →
// sea blob → a copy of this node binary with the blob injected by postject.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/cli/sea-entry.ts'],
  outfile: 'dist/signet-sea.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  legalComments: 'none',
  // openpgp's ESM build calls createRequire(import.meta.url), which has no meaning in CJS.
  alias: { openpgp: require.resolve('openpgp').replace(/openpgp\.mjs$/, 'openpgp.min.cjs') },
  define: { SIGNET_VERSION: JSON.stringify(version), SIGNET_SEA: 'true', 'import.meta.url': '"file:///signet-sea/dist/signet.cjs"' },
  logLevel: 'error',
});

writeFileSync('dist/sea-config.json', JSON.stringify({
  main: 'dist/signet-sea.cjs',
  output: 'dist/sea-prep.blob',
  disableExperimentalSEAWarning: true,
  // A startup snapshot (src/cli/sea-entry.ts): module initialisation happens at build time.
  useSnapshot: true,
}));
// Building a snapshot warns about every built-in module Node has not certified for snapshots
// (child_process, worker_threads, module): expected here, so the output is shown only on failure.
try {
  execFileSync(process.execPath, ['--experimental-sea-config', 'dist/sea-config.json'], { stdio: 'pipe' });
} catch (error) {
  process.stderr.write(String(error.stderr ?? ''));
  throw error;
}
rmSync('dist/signet', { force: true });
copyFileSync(process.execPath, 'dist/signet');
chmodSync('dist/signet', 0o755);
execFileSync(process.execPath, [
  require.resolve('postject/dist/cli.js'), 'dist/signet', 'NODE_SEA_BLOB', 'dist/sea-prep.blob',
  '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
], { stdio: ['ignore', 'ignore', 'inherit'] });
rmSync('dist/sea-prep.blob', { force: true });
process.stdout.write('built dist/signet (single executable)\n');
