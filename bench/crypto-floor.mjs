// The floor under `signet verify` on this machine: Node's start-up plus N Ed25519 checks on
// libuv's thread pool (one thread per core, as signet runs them), with nothing else to do —
// no git objects, no parsing, no output. Prints JSON: { startupMs, checksMs, n }.
// Run as: UV_THREADPOOL_SIZE=<cores> node bench/crypto-floor.mjs N
import { generateKeyPairSync, sign, verify } from 'node:crypto';

const startupMs = performance.now(); // since this process started
const n = Number(process.argv[2] ?? 2000);
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const messages = Array.from({ length: n }, (_, i) => Buffer.from(`commit ${i} `.repeat(60)));
const signatures = messages.map((message) => sign(null, message, privateKey));
const started = performance.now();
await new Promise((resolve, reject) => {
  let next = 0;
  let done = 0;
  const check = () => {
    const i = next++;
    verify(null, messages[i], publicKey, signatures[i], (error, valid) => {
      if (error || !valid) return reject(error ?? new Error('a good signature did not verify'));
      if (++done === n) return resolve();
      if (next < n) check();
    });
  };
  for (let k = 0; k < Math.min(256, n); k++) check();
});
process.stdout.write(`${JSON.stringify({ startupMs, checksMs: performance.now() - started, n })}\n`);
