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
  entryPoints: ['src/core/openpgp/index.ts'], outfile, bundle: true, platform: 'node', format: 'esm',
  target: 'node20', packages: 'external', logLevel: 'warning',
});
const core = await import(pathToFileURL(outfile).href);

// A commit-sized payload (~300 bytes), as git hands it to gpg.
const payload = new TextEncoder().encode(
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 3f786850e387550fdab836ed7e6dc881de23001b\n'
  + 'author Alice Example <alice@example.com> 1700000000 +0100\ncommitter Alice Example <alice@example.com> 1700000000 +0100\n\n'
  + 'Add the release checklist\n\nSigned-off-by: Alice Example <alice@example.com>\n',
);

// Rates are per second of this process's CPU time (user + system), so that other work on a
// shared machine does not distort them; on an idle core that equals wall-clock time.
async function measure(run) {
  for (let i = 0; i < 50; i += 1) await run(); // warm up
  let count = 0;
  const cpu = process.cpuUsage();
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 25; i += 1) await run();
    count += 25;
  }
  const used = process.cpuUsage(cpu);
  return Math.round(count / ((used.user + used.system) / 1e6));
}

const rows = [];
for (const [label, options] of [
  ['Ed25519 (legacy EdDSA)', { type: 'ecc', curve: 'ed25519Legacy' }],
  ['RSA-3072', { type: 'rsa', rsaBits: 3072 }],
  ['ECDSA P-256', { type: 'ecc', curve: 'nistP256' }],
]) {
  const { privateKey, publicKey } = await openpgp.generateKey({ ...options, userIDs: [{ name: 'Bench', email: 'bench@example.com' }], format: 'object' });
  const signature = await openpgp.sign({ message: await openpgp.createMessage({ binary: payload }), signingKeys: privateKey, detached: true, format: 'armored' });
  const registry = await core.loadOpenPgpRegistry([{ name: 'bench.asc', text: publicKey.armor() }]);
  const now = new Date();
  const fast = await core.verifyOpenPgpSignature(registry, payload, signature, { now });
  if (fast.status !== 'G') throw new Error(`${label}: fast path says ${fast.status} (${fast.detail})`);
  // The floor: node:crypto alone checking a signature of the same kind over a 32-byte digest.
  const native = crypto.generateKeyPairSync(options.type === 'rsa' ? 'rsa' : options.curve === 'nistP256' ? 'ec' : 'ed25519', options.type === 'rsa' ? { modulusLength: 3072 } : options.curve === 'nistP256' ? { namedCurve: 'P-256' } : undefined);
  const digest = crypto.randomBytes(32);
  const algorithm = options.curve === 'ed25519Legacy' ? null : 'sha256';
  const nativeSignature = crypto.sign(algorithm, digest, native.privateKey);
  const nativeRate = await measure(async () => crypto.verify(algorithm, digest, native.publicKey, nativeSignature));
  const fastRate = await measure(() => core.verifyOpenPgpSignature(registry, payload, signature, { now }));
  const pathRate = await measure(() => core.verifyOpenPgpSignatureWithOpenPgpJs(registry, payload, signature, { now }));
  const libraryRate = await measure(async () => {
    const result = await openpgp.verify({
      message: await openpgp.createMessage({ binary: payload }),
      signature: await openpgp.readSignature({ armoredSignature: signature }),
      verificationKeys: publicKey,
    });
    await result.signatures[0].verified;
  });
  rows.push({ key: label, 'node:crypto alone /s': nativeRate, 'fast path /s': fastRate, 'openpgp.js path /s': pathRate, 'openpgp.verify() /s': libraryRate, speed_up: `${(fastRate / libraryRate).toFixed(1)}x` });
}
console.table(rows);
