// Micro-benchmark of OpenPGP signature verification on one core: our fast path (own armor and
// packet reader, node:crypto) against the openpgp.js path and openpgp.js's own verify().
// Usage: node bench/openpgp-micro.mjs [seconds-per-measurement]
import { build } from 'esbuild';
import * as openpgp from 'openpgp';
import crypto from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const seconds = Number(process.argv[2] ?? 2);
mkdirSync('.bench', { recursive: true });
const outfile = resolve('.bench/openpgp-core.mjs');
await build({
  entryPoints: ['src/core/openpgp/index.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
const core = await import(pathToFileURL(outfile).href);

// A commit-sized payload (~300 bytes), as git hands it to gpg.
const payload = new TextEncoder().encode(
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 3f786850e387550fdab836ed7e6dc881de23001b\n' +
    'author Alice Example <alice@example.com> 1700000000 +0100\ncommitter Alice Example <alice@example.com> 1700000000 +0100\n\n' +
    'Add the release checklist\n\nSigned-off-by: Alice Example <alice@example.com>\n',
);

// Rates are per second of this process's CPU time (user + system), so that other work on a
// shared machine distorts them less; the variants run in interleaved rounds and each reports its
// best round, the one least disturbed by neighbours. On an idle core that is the plain rate.
async function rate(run, millis) {
  let count = 0;
  const cpu = process.cpuUsage();
  const until = performance.now() + millis;
  while (performance.now() < until) {
    for (let i = 0; i < 25; i += 1) await run();
    count += 25;
  }
  const used = process.cpuUsage(cpu);
  return count / ((used.user + used.system) / 1e6);
}

async function compare(variants) {
  for (const run of Object.values(variants)) for (let i = 0; i < 50; i += 1) await run(); // warm up
  const best = Object.fromEntries(Object.keys(variants).map((name) => [name, 0]));
  const rounds = Math.max(3, Math.round(seconds * 2));
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, run] of Object.entries(variants)) best[name] = Math.max(best[name], await rate(run, 500));
  }
  return Object.fromEntries(Object.entries(best).map(([name, value]) => [name, Math.round(value)]));
}

const rows = [];
for (const [label, options] of [
  ['Ed25519 (legacy EdDSA)', { type: 'ecc', curve: 'ed25519Legacy' }],
  ['RSA-3072', { type: 'rsa', rsaBits: 3072 }],
  ['ECDSA P-256', { type: 'ecc', curve: 'nistP256' }],
]) {
  const { privateKey, publicKey } = await openpgp.generateKey({ ...options, userIDs: [{ name: 'Bench', email: 'bench@example.com' }], format: 'object' });
  // Distinct commits, as a real range has: nothing can be served from a cache.
  const commits = [];
  for (let index = 0; index < 64; index += 1) {
    const body = new TextEncoder().encode(`${new TextDecoder().decode(payload)}Change-Id: I${index.toString(16).padStart(40, '0')}\n`);
    commits.push({
      body,
      signature: await openpgp.sign({ message: await openpgp.createMessage({ binary: body }), signingKeys: privateKey, detached: true, format: 'armored' }),
    });
  }
  let next = 0;
  const pick = () => commits[next++ & 63];
  const registry = await core.loadOpenPgpRegistry([{ name: 'bench.asc', text: publicKey.armor() }]);
  const now = new Date();
  for (const commit of commits) {
    const fast = await core.verifyOpenPgpSignature(registry, commit.body, commit.signature, { now });
    if (fast.status !== 'G') throw new Error(`${label}: fast path says ${fast.status} (${fast.detail})`);
  }
  // The floor: node:crypto alone checking a signature of the same kind over a 32-byte digest.
  const native = crypto.generateKeyPairSync(
    options.type === 'rsa' ? 'rsa' : options.curve === 'nistP256' ? 'ec' : 'ed25519',
    options.type === 'rsa' ? { modulusLength: 3072 } : options.curve === 'nistP256' ? { namedCurve: 'P-256' } : undefined,
  );
  const digest = crypto.randomBytes(32);
  const algorithm = options.curve === 'ed25519Legacy' ? null : 'sha256';
  const nativeSignature = crypto.sign(algorithm, digest, native.privateKey);
  const rates = await compare({
    native: async () => crypto.verify(algorithm, digest, native.publicKey, nativeSignature),
    fast: () => {
      const c = pick();
      return core.verifyOpenPgpSignature(registry, c.body, c.signature, { now });
    },
    path: () => {
      const c = pick();
      return core.verifyOpenPgpSignatureWithOpenPgpJs(registry, c.body, c.signature, { now });
    },
    library: async () => {
      const c = pick();
      const result = await openpgp.verify({
        message: await openpgp.createMessage({ binary: c.body }),
        signature: await openpgp.readSignature({ armoredSignature: c.signature }),
        verificationKeys: publicKey,
      });
      await result.signatures[0].verified;
    },
  });
  const [nativeRate, fastRate, pathRate, libraryRate] = [rates.native, rates.fast, rates.path, rates.library];
  rows.push({
    key: label,
    'node:crypto alone /s': nativeRate,
    'fast path /s': fastRate,
    'openpgp.js path /s': pathRate,
    'openpgp.verify() /s': libraryRate,
    speed_up: `${(fastRate / libraryRate).toFixed(1)}x`,
  });
}
console.table(rows);
