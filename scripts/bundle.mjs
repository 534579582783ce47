// Bundles the CLI into dist/: one entry file plus lazily loaded chunks, so start-up parses
// only what a command uses (start-up is part of every hook invocation's budget).
// Files are written chunks first, entries last, each by rename, and stale chunks removed at
// the end: a signet process running while the bundle is rebuilt never sees half a build.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const result = await build({
  absWorkingDir: root,
  entryPoints: { signet: 'src/cli/entry.ts' },
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
  write: false,
  define: { SIGNET_VERSION: JSON.stringify(version) },
  // better-sqlite3 finds its native addon relative to its own package.json: inlined, it looked
  // for one beside dist/ and `audit export --sqlite` failed ("__filename is not defined").
  // Left as an import, it loads from node_modules like the app server's.
  external: ['better-sqlite3'],
  // Bundled CommonJS dependencies call require(); give every ESM file one.
  banner: { js: "import { createRequire as __signetCreateRequire } from 'node:module'; const require = __signetCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

const chunksDir = join(root, 'dist', 'chunks');
mkdirSync(chunksDir, { recursive: true });
const isChunk = (file) => dirname(file.path) === chunksDir;
const written = new Set();
for (const file of [...result.outputFiles.filter(isChunk), ...result.outputFiles.filter((f) => !isChunk(f))]) {
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, file.contents);
  renameSync(temporary, file.path);
  written.add(basename(file.path));
}
for (const name of readdirSync(chunksDir)) if (!written.has(name) && !name.endsWith('.tmp')) rmSync(join(chunksDir, name), { force: true });

// --- the app server (GitHub App + GitLab bot): `npm start` runs dist/app.mjs. Its npm packages
// stay in node_modules: better-sqlite3's native addon and Probot's optional imports cannot be
// bundled, and a long-running server gains nothing from a single file.
{
  const app = await build({
    absWorkingDir: root,
    entryPoints: { app: 'src/server/main.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: false,
    legalComments: 'none',
    write: false,
    define: { SIGNET_VERSION: JSON.stringify(version) },
    logLevel: 'warning',
  });
  for (const file of app.outputFiles) {
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
}
