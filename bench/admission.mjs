// Benchmark of `signet admission`: latency of one AdmissionReview for a pod of 3 images
// (p50/p99), uncached (cache TTLs 0: every review resolves the tags and verifies the
// signatures against the registry) and cached, and cached reviews per second sustained with
// 16 in flight. The webhook runs as deployed (`node bin/signet.js admission`, HTTPS) against a
// real registry (Debian docker-registry on 127.0.0.1), images signed by signet.
// Usage: node bench/admission.mjs [--seconds S]
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(new URL('..', import.meta.url).pathname);
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg === -1 ? 5 : Number(process.argv[secondsArg + 1]);

mkdirSync(join(root, '.bench'), { recursive: true });
const helpersFile = join(root, '.bench', 'admission-bench-helpers.mjs');
await build({
  stdin: { contents: "export * from './test/helpers/sign-registry.ts';\nexport * from './test/helpers/sign-cli.ts';", resolveDir: root, loader: 'ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: helpersFile,
  packages: 'external',
  logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
const h = await import(helpersFile);

const dir = mkdtempSync(join(tmpdir(), 'signet-admission-bench-'));
const run = (cmd, args) => h.mustRun(cmd, args, { cwd: dir });
run('openssl', [
  'req',
  '-x509',
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:P-256',
  '-nodes',
  '-days',
  '1',
  '-subj',
  '/CN=bench CA',
  '-keyout',
  'ca.key',
  '-out',
  'ca.pem',
]);
run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=admission', '-keyout', 'tls.key', '-out', 'tls.csr']);
writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
run('openssl', [
  'x509',
  '-req',
  '-in',
  'tls.csr',
  '-CA',
  'ca.pem',
  '-CAkey',
  'ca.key',
  '-CAcreateserial',
  '-days',
  '1',
  '-extfile',
  'san.ext',
  '-out',
  'tls.crt',
]);
const ca = readFileSync(join(dir, 'ca.pem'));
const registry = await h.startRegistry(dir);
const env = { PATH: process.env.PATH, DOCKER_CONFIG: registry.dockerConfig, COSIGN_PASSWORD: 'bench' };
copyFileSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
const signet = (args) => h.runSignet(args, { cwd: dir, env });
await signet(['generate-key-pair']);
const images = [];
for (const name of ['web', 'sidecar', 'init']) {
  const digest = h.pushTestImage(dir, registry, `acme/${name}`, name, `${name}\n`);
  const signed = await signet(['sign-image', '--key', 'cosign.key', `${registry.host}/acme/${name}@${digest}`]);
  if (signed.code !== 0) throw new Error(signed.stderr);
  images.push(`${registry.host}/acme/${name}:${name}`);
}

function policy(ttl) {
  return `cache: { ttl_seconds: ${ttl}, failure_ttl_seconds: ${ttl}, tag_ttl_seconds: ${ttl} }\npolicies:\n  - name: acme\n    images: ["${registry.host}/acme/**"]\n    authorities:\n      - key: { path: cosign.pub }\n`;
}

async function startWebhook(name, ttl) {
  writeFileSync(join(dir, `${name}.yml`), policy(ttl));
  const child = spawn(
    process.execPath,
    [join(root, 'bin/signet.js'), 'admission', '--listen', '127.0.0.1:0', '--tls-cert', 'tls.crt', '--tls-key', 'tls.key', '--policy', `${name}.yml`],
    { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const port = await new Promise((resolvePort, reject) => {
    let seen = '';
    child.stderr.on('data', (chunk) => {
      seen += chunk;
      const match = /"port":(\d+)/.exec(seen);
      if (match) resolvePort(Number(match[1]));
    });
    child.on('exit', () => reject(new Error(seen)));
  });
  child.stderr.resume();
  return { child, port };
}

const agent = new Agent({ keepAlive: true, maxSockets: 64, ca });
let uid = 0;
function review() {
  uid += 1;
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `bench-${uid}`,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'default',
      name: 'web',
      dryRun: false,
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web' },
        spec: {
          initContainers: [{ name: 'init', image: images[2] }],
          containers: [
            { name: 'web', image: images[0] },
            { name: 'sidecar', image: images[1] },
          ],
        },
      },
    },
  });
}
function post(port) {
  return new Promise((resolveAnswer, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/validate', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => {
        const allowed = JSON.parse(text).response?.allowed;
        if (allowed !== true) reject(new Error(`not admitted: ${text}`));
        else resolveAnswer(performance.now() - started);
      });
    });
    req.on('error', reject);
    req.end(review());
  });
}
const pct = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

const figures = {};
try {
  const cold = await startWebhook('uncached', 0);
  for (let i = 0; i < 5; i++) await post(cold.port);
  const coldTimes = [];
  for (let i = 0; i < 200; i++) coldTimes.push(await post(cold.port));
  cold.child.kill('SIGTERM');
  figures.uncached = { p50: pct(coldTimes, 50), p99: pct(coldTimes, 99) };

  const warm = await startWebhook('cached', 300);
  for (let i = 0; i < 50; i++) await post(warm.port);
  const warmTimes = [];
  for (let i = 0; i < 2000; i++) warmTimes.push(await post(warm.port));
  figures.cached = { p50: pct(warmTimes, 50), p99: pct(warmTimes, 99) };
  let done = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        await post(warm.port);
        done += 1;
      }
    }),
  );
  figures.reviewsPerSecond = done / SECONDS;
  warm.child.kill('SIGTERM');
} finally {
  await registry.stop();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
}
const ms = (value) => `${value.toFixed(2)} ms`;
console.log(
  `admission, pod of 3 images, uncached (tags resolved, signatures verified each review): p50 ${ms(figures.uncached.p50)}, p99 ${ms(figures.uncached.p99)} (target p99 <= 300 ms)`,
);
console.log(`admission, pod of 3 images, cached: p50 ${ms(figures.cached.p50)}, p99 ${ms(figures.cached.p99)} (target p99 <= 5 ms)`);
console.log(`admission, cached reviews per second, 16 in flight for ${SECONDS} s: ${figures.reviewsPerSecond.toFixed(0)}/s (target >= 1,000/s)`);
console.log(JSON.stringify(figures));
