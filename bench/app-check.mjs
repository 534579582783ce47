// Benchmark of the GitHub App: webhook → completed check run for a 250-commit pull request
// (125 commits signed by alice with OpenPGP from the policy keyring, 125 by bob with the SSH key
// he registered on the forge), cold (empty object cache) and cached (objects, keys and policy
// cached), and deliveries per second. The app runs as deployments run it (`node dist/app.mjs`,
// SQLite store) against the test fakes: a local GitHub REST API and `git http-backend`.
// Usage: node bench/app-check.mjs [--deliveries N] [--concurrency C]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appEnvironment, loadAppBenchHelpers, makePullRequestRepo } from './app-bench-fixture.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};
const DELIVERIES = argument('--deliveries', 30);
const CONCURRENCY = argument('--concurrency', 4);
const SECRET = 'bench-secret';
const FULL_NAME = 'bench-org/bench-repo';

const h = await loadAppBenchHelpers(root, 'app-bench');

const dir = mkdtempSync(join(tmpdir(), 'signet-app-bench-'));
const { repo, head } = makePullRequestRepo(h, FULL_NAME, (line) => process.stdout.write(`${line}\n`));
repo.updateRef('refs/pull/1/head', head);

const backend = await h.startGitHttpBackend(repo.root);
const github = await h.startFakeGitHub();
github.repositories.set(FULL_NAME, repo.bare);
github.users.set('bob', { sshSigningKeys: [repo.bobSshPublicKey] });
github.emailLogins.set(h.bob.email, 'bob');

async function startApp(name, writeIntervalMs) {
  const port = await h.freePort();
  const child = spawn(process.execPath, ['dist/app.mjs'], {
    cwd: root,
    env: appEnvironment({ github, port, secret: SECRET, cacheDir: join(dir, `cache-${name}`), sqlitePath: join(dir, `${name}.sqlite`), writeIntervalMs }),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error('the app did not start');
}

const info = { fullName: FULL_NAME, cloneUrl: `${backend.origin}/${repo.path}`, installationId: 1 };
function rerun() {
  const payload = h.retarget(h.example('check_run', 'rerequested'), info);
  Object.assign(payload.check_run, {
    name: 'signet/signatures',
    head_sha: head,
    pull_requests: [{ number: 1, head: { ref: 'bench', sha: head }, base: { ref: 'main', sha: repo.heads.main } }],
  });
  payload.check_run.check_suite = { ...payload.check_run.check_suite, head_branch: null, head_sha: head, pull_requests: [] };
  return payload;
}
function opened() {
  const payload = h.retarget(h.example('pull_request', 'opened'), info);
  payload.number = 1;
  Object.assign(payload.pull_request, { number: 1 });
  payload.pull_request.head = { ...payload.pull_request.head, sha: head, ref: 'bench', repo: { full_name: FULL_NAME } };
  payload.pull_request.base = { ...payload.pull_request.base, sha: repo.heads.main, ref: 'main', repo: { full_name: FULL_NAME } };
  return payload;
}
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

function checkLast() {
  const run = github.checkRuns.at(-1);
  const rows = String(run?.current?.output?.summary ?? '')
    .split('\n')
    .filter((l) => l.startsWith('| `')).length;
  if (run?.current?.conclusion !== 'success' || rows !== 250)
    throw new Error(`unexpected check run: ${run?.current?.conclusion}, ${rows} rows: ${run?.current?.output?.title}`);
}

async function measure(label, writeIntervalMs, deliveries) {
  const app = await startApp(label, writeIntervalMs);
  try {
    const hook = `${app.url}/api/github/webhooks`;
    const cold = await h.deliver(hook, SECRET, 'pull_request', opened());
    if (cold.status !== 200) throw new Error(`cold delivery answered ${cold.status}`);
    checkLast();
    const cached = [];
    for (let i = 0; i < 5; i++) {
      const response = await h.deliver(hook, SECRET, 'check_run', rerun());
      checkLast();
      cached.push(response.ms);
    }
    const before = github.checkRuns.length;
    const t0 = Date.now();
    let sent = 0;
    const latencies = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < deliveries) {
          sent++;
          const response = await h.deliver(hook, SECRET, 'check_run', rerun());
          if (response.status !== 200) throw new Error(`delivery answered ${response.status}`);
          latencies.push(response.ms);
        }
      }),
    );
    const seconds = (Date.now() - t0) / 1000;
    const posted = github.checkRuns.length - before;
    if (posted !== deliveries) throw new Error(`${posted} check runs for ${deliveries} deliveries`);
    return {
      cold: cold.ms,
      cachedMedian: percentile(cached, 0.5),
      perSecond: deliveries / seconds,
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
    };
  } finally {
    app.child.kill('SIGTERM');
    await new Promise((r) => app.child.once('exit', r));
  }
}

try {
  process.stdout.write(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}\n`);
  const fast = await measure('no-spacing', 0, DELIVERIES);
  process.stdout.write(`webhook → check run, 250-commit pull request (250 rows, success):\n`);
  process.stdout.write(`  cold (empty cache: full fetch, keys, policy):  ${fast.cold.toFixed(0)} ms\n`);
  process.stdout.write(`  cached (objects, keys, policy ETag):           ${fast.cachedMedian.toFixed(0)} ms (median of 5)\n`);
  process.stdout.write(
    `  throughput, ${DELIVERIES} deliveries × ${CONCURRENCY} concurrent, no write spacing: ${fast.perSecond.toFixed(2)} webhooks/s (latency p50 ${fast.p50.toFixed(0)} ms, p95 ${fast.p95.toFixed(0)} ms)\n`,
  );
  const spaced = await measure('github-spacing', 1000, Math.min(DELIVERIES, 8));
  process.stdout.write(
    `  throughput with GitHub's 1 s write spacing (production default): ${spaced.perSecond.toFixed(2)} webhooks/s (2 writes per check run)\n`,
  );
} finally {
  await github.stop();
  await backend.stop();
  repo.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
