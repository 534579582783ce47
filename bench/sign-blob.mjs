// sign-blob throughput and memory on a 1 GiB file, against sha256sum of the same file.
// Targets: ≥ 0.8× sha256sum's throughput, < 150 MB peak resident. Runs the CLI bundled the way
// scripts/bundle.mjs bundles it, into its own temp dir (dist/ is shared with concurrent builds).
// SIGNET_BENCH_SIZE_MIB and SIGNET_BENCH_RUNS override the file size and the number of runs.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sizeMiB = Number(process.env.SIGNET_BENCH_SIZE_MIB ?? 1024);
const runs = Number(process.env.SIGNET_BENCH_RUNS ?? 3);

async function bundleCli(outfile) {
  const { build } = await import('esbuild');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  await build({
    entryPoints: [join(root, 'src', 'cli', 'entry.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    define: { SIGNET_VERSION: JSON.stringify(version) },
    banner: { js: "import { createRequire as __signetCreateRequire } from 'node:module'; const require = __signetCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

/** Runs a command, sampling its peak resident set (VmHWM) from /proc until it exits. */
function measure(command, args, options) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let peakKiB = 0;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const sample = () => {
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (match) peakKiB = Math.max(peakKiB, Number(match[1]));
      } catch {
        // exited between samples
      }
    };
    const timer = setInterval(sample, 5);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`${command} exited ${code}: ${stderr}`));
      else resolve({ seconds, peakMB: (peakKiB * 1024) / 1e6, stdout });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'signet-bench-'));
const signet = join(dir, 'signet.mjs');
try {
  await bundleCli(signet);
  const env = { PATH: process.env.PATH, COSIGN_PASSWORD: 'bench' };
  const generated = spawnSync(process.execPath, [signet, 'generate-key-pair'], { cwd: dir, env, encoding: 'utf8' });
  if (generated.status !== 0) throw new Error(`generate-key-pair failed: ${generated.stderr}`);
  const file = join(dir, 'blob.bin');
  const fd = openSync(file, 'w');
  const block = randomBytes(1 << 20);
  for (let i = 0; i < sizeMiB; i += 1) {
    block.writeUInt32LE(i, 0); // every MiB differs
    writeSync(fd, block);
  }
  closeSync(fd);
  const bytes = sizeMiB * (1 << 20);

  // Warm the page cache so both sides read from memory, then alternate runs; keep each side's best.
  await measure('sha256sum', [file], { cwd: dir });
  const best = { sha256sum: undefined, signet: undefined };
  for (let i = 0; i < runs; i += 1) {
    const sum = await measure('sha256sum', [file], { cwd: dir });
    const sig = await measure(process.execPath, [signet, 'sign-blob', '--key', 'cosign.key', '--bundle', 'blob.sigstore.json', file], { cwd: dir, env });
    if (!best.sha256sum || sum.seconds < best.sha256sum.seconds) best.sha256sum = sum;
    if (!best.signet || sig.seconds < best.signet.seconds) best.signet = sig;
  }
  // The signature must be real: openssl checks it.
  const sigDer = join(dir, 'blob.sig');
  spawnSync('sh', ['-c', `printf %s "$1" | base64 -d > "$2"`, 'sh', best.signet.stdout.trim(), sigDer]);
  const check = spawnSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'cosign.pub'), '-signature', sigDer, file], { encoding: 'utf8' });

  const mbps = (result) => bytes / 1e6 / result.seconds;
  const ratio = mbps(best.signet) / mbps(best.sha256sum);
  const figures = {
    bench: 'sign-blob',
    sizeMiB,
    sha256sum: { seconds: +best.sha256sum.seconds.toFixed(3), MBps: +mbps(best.sha256sum).toFixed(1), peakRssMB: +best.sha256sum.peakMB.toFixed(1) },
    signet: { seconds: +best.signet.seconds.toFixed(3), MBps: +mbps(best.signet).toFixed(1), peakRssMB: +best.signet.peakMB.toFixed(1) },
    throughputRatio: +ratio.toFixed(3),
    signatureVerifiedByOpenssl: check.stdout.includes('Verified OK'),
    targets: { throughputRatioMin: 0.8, peakRssMBMax: 150 },
    met: ratio >= 0.8 && best.signet.peakMB < 150 && check.stdout.includes('Verified OK'),
  };
  console.log(
    `sign-blob ${sizeMiB} MiB: signet ${figures.signet.MBps} MB/s (${figures.signet.seconds} s, peak RSS ${figures.signet.peakRssMB} MB)` +
      ` vs sha256sum ${figures.sha256sum.MBps} MB/s (${figures.sha256sum.seconds} s, peak RSS ${figures.sha256sum.peakRssMB} MB)` +
      ` → ratio ${figures.throughputRatio}× (target ≥ 0.8), ${figures.met ? 'targets met' : 'TARGETS MISSED'}`,
  );
  console.log(JSON.stringify(figures));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
