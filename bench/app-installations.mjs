// Benchmark of the GitHub App at an organisation's scale: check runs per second across 100
// installations, each with its own repository holding a 250-commit pull request (125 commits
// signed by alice with OpenPGP, 125 by bob with SSH), objects already cached, with GitHub's
// spacing of content-creating requests as in production (1 s per installation: a check run's
// create and completion are a second apart). Deliveries come round-robin over the
// installations, many in flight, as an organisation's busy hour would bring them. The app runs
// as deployments run it (`node dist/app.mjs`, SQLite store) against the test fakes: a local
// GitHub REST API and `git http-backend`, all on this machine.
// Usage: node bench/app-installations.mjs [--installations N] [--deliveries N] [--concurrency C] [--spacing MS] [--json]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appEnvironment, loadAppBenchHelpers, makePullRequestRepo } from './app-bench-fixture.mjs';

const root = resolve(new URL('..', import.meta.url).pathname);
const argument = (name, fallback) => {
  const index = process.argv.indexOf(name);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
};
const INSTALLATIONS = argument('--installations', 100);
const DELIVERIES = argument('--deliveries', 400);
const CONCURRENCY = argument('--concurrency', 40);
const SPACING_MS = argument('--spacing', 1000);
const SECRET = 'bench-secret';
const say = (text) => process.stdout.write(`${text}\n`);

const h = await loadAppBenchHelpers(root, 'app-installations');

const dir = mkdtempSync(join(tmpdir(), 'signet-installations-bench-'));
const { repo, head } = makePullRequestRepo(h, 'org-0/repo', say);

const backend = await h.startGitHttpBackend(repo.root);
const github = await h.startFakeGitHub();
// Every installation has its own repository name (its own object cache and claims); the same
// commits stand behind each, served from one bare repository.
const orgs = Array.from({ length: INSTALLATIONS }, (_, i) => ({ installationId: 1000 + i, fullName: `org-${i}/repo` }));
for (const org of orgs) github.repositories.set(org.fullName, repo.bare);
github.users.set('bob', { sshSigningKeys: [repo.bobSshPublicKey] });
github.emailLogins.set(h.bob.email, 'bob');

const port = await h.freePort();
// APP_CPU_PROF=DIR: the app writes a V8 CPU profile there (where a check's time goes).
const profile = process.env.APP_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.APP_CPU_PROF] : [];
const app = spawn(process.execPath, [...profile, 'dist/app.mjs'], {
  cwd: root,
  env: appEnvironment({ github, port, secret: SECRET, cacheDir: join(dir, 'cache'), sqlitePath: join(dir, 'signet.sqlite'), writeIntervalMs: SPACING_MS }),
  stdio: ['ignore', 'inherit', 'inherit'],
});
const url = `http://127.0.0.1:${port}`;
const hook = `${url}/api/github/webhooks`;

function rerun(org) {
  const payload = h.retarget(h.example('check_run', 'rerequested'), {
    fullName: org.fullName,
    cloneUrl: `${backend.origin}/${repo.path}`,
    installationId: org.installationId,
  });
  Object.assign(payload.check_run, {
    name: 'signet/signatures',
    head_sha: head,
    pull_requests: [{ number: 1, head: { ref: 'bench', sha: head }, base: { ref: 'main', sha: repo.heads.main } }],
  });
  payload.check_run.check_suite = { ...payload.check_run.check_suite, head_branch: null, head_sha: head, pull_requests: [] };
  return payload;
}

// Probot answers a delivery still being handled after 9 s with 202, so completion is read where
// GitHub would see it: the check run created with the delivery's id as external_id, completed.
const waiting = new Map();
const byDelivery = new Map();
let scanned = 0;
const poller = setInterval(() => {
  for (; scanned < github.checkRuns.length; scanned++) byDelivery.set(String(github.checkRuns[scanned].created.external_id), github.checkRuns[scanned]);
  for (const [id, done] of waiting) {
    if (byDelivery.get(id)?.current?.status === 'completed') {
      waiting.delete(id);
      done();
    }
  }
}, 20);

/** Deliveries round-robin over the installations, `concurrency` in flight; each one's time to a completed check run. */
async function drive(count, concurrency) {
  let sent = 0;
  const latencies = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < count) {
        const org = orgs[sent++ % orgs.length];
        const id = crypto.randomUUID();
        const t = Date.now();
        const completed = new Promise((resolve) => waiting.set(id, resolve));
        const response = await h.deliver(hook, SECRET, 'check_run', rerun(org), { id });
        if (response.status !== 200 && response.status !== 202) throw new Error(`delivery answered ${response.status}`);
        await completed;
        latencies.push(Date.now() - t);
      }
    }),
  );
  return latencies;
}

function checkRuns(since) {
  const runs = github.checkRuns.slice(since);
  for (const run of runs) {
    const rows = String(run.current?.output?.summary ?? '')
      .split('\n')
      .filter((l) => l.startsWith('| `')).length;
    if (run.current?.conclusion !== 'success' || rows !== 250)
      throw new Error(`unexpected check run on ${run.repository}: ${run.current?.conclusion}, ${rows} rows: ${run.current?.output?.title}`);
  }
  return runs.length;
}

/** For each installation, the least time between two of its consecutive check-run writes. */
function closestWritesPerInstallation(since) {
  const byRepo = new Map();
  for (const r of github.requests.slice(since)) {
    if (r.method === 'GET' || !/\/check-runs/.test(r.path)) continue;
    const name = r.path.split('/').slice(2, 4).join('/');
    byRepo.set(name, [...(byRepo.get(name) ?? []), r.at]);
  }
  let least = Infinity;
  for (const times of byRepo.values()) for (let i = 1; i < times.length; i++) least = Math.min(least, times[i] - times[i - 1]);
  return least;
}

const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // starting
    }
    if (i > 150) throw new Error('the app did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  say(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length}, Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at the start`);
  // Warm every installation's repository cache and its first check (clone, keys, policy ETag).
  const warmStarted = Date.now();
  const before = github.checkRuns.length;
  await drive(INSTALLATIONS, Math.min(CONCURRENCY, 16));
  checkRuns(before);
  say(`warm-up: ${INSTALLATIONS} installations' first check runs (cold: clone, keys, policy) in ${((Date.now() - warmStarted) / 1000).toFixed(1)} s`);

  const runsBefore = github.checkRuns.length;
  const requestsBefore = github.requests.length;
  const t0 = Date.now();
  const latencies = await drive(DELIVERIES, CONCURRENCY);
  const seconds = (Date.now() - t0) / 1000;
  const posted = checkRuns(runsBefore);
  if (posted !== DELIVERIES) throw new Error(`${posted} check runs for ${DELIVERIES} deliveries`);
  const closest = closestWritesPerInstallation(requestsBefore);
  const perSecond = DELIVERIES / seconds;
  say(
    `check runs across ${INSTALLATIONS} installations, 250-commit pull requests cached, ${SPACING_MS} ms write spacing per installation, ${CONCURRENCY} deliveries in flight:`,
  );
  say(
    `  ${perSecond.toFixed(1)} check runs/s (${DELIVERIES} in ${seconds.toFixed(1)} s; latency p50 ${percentile(latencies, 0.5)} ms, p95 ${percentile(latencies, 0.95)} ms)`,
  );
  say(`  closest two writes of one installation: ${closest} ms (spacing ${SPACING_MS} ms); load average ${loadavg()[0].toFixed(1)} at the end`);
  if (closest < SPACING_MS - 2) throw new Error(`an installation's writes came ${closest} ms apart, under the ${SPACING_MS} ms spacing`);
  if (process.argv.includes('--json'))
    say(
      JSON.stringify({
        installations: INSTALLATIONS,
        deliveries: DELIVERIES,
        concurrency: CONCURRENCY,
        spacingMs: SPACING_MS,
        perSecond,
        p50: percentile(latencies, 0.5),
        p95: percentile(latencies, 0.95),
        closestMs: closest,
      }),
    );
} finally {
  clearInterval(poller);
  app.kill('SIGTERM');
  await new Promise((r) => app.once('exit', r));
  await github.stop();
  await backend.stop();
  repo.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
