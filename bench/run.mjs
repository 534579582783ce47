// `npm run bench`: signet side by side with the peer it replaces, on the same data, as ratios.
// Repositories are generated once into .bench/ (gitignored) and reused.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const benchDir = join(root, '.bench');
const only = process.argv.slice(2);
const want = (name) => only.length === 0 || only.includes(name);
const results = { machine: machine(), date: new Date().toISOString(), figures: {} };

function machine() {
  return `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${execFileSync('git', ['--version'], { encoding: 'utf8' }).trim()}, ${execFileSync('gpg', ['--version'], { encoding: 'utf8' }).split('\n')[0]}`;
}

function wall(command, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { maxBuffer: 512 * 1024 * 1024, ...options });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0 && !options.allowFailure) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr?.toString().slice(0, 500)}`);
  }
  return { ms, stdout: result.stdout?.toString() ?? '', status: result.status };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function fmt(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

function row(label, ours, theirs, note = '') {
  const ratio = theirs ? `${(theirs / ours).toFixed(1)}×` : '';
  console.log(`  ${label.padEnd(44)} ${fmt(ours).padStart(10)}  ${theirs ? fmt(theirs).padStart(10) : ''.padStart(10)}  ${ratio.padStart(7)}  ${note}`);
}

/** A speed row's share of the floor measured in the same run: floor time / signet's time (100% = at the floor). */
function ofFloor(floorMs, ms) {
  return `${Math.round((100 * floorMs) / ms)}% of the floor`;
}

function ensureRepo(name, generator, nOpenpgp, nSsh) {
  const dir = join(benchDir, name);
  const args =
    generator === 'git'
      ? ['bash', [join(root, 'bench/make-bench-repo.sh'), dir, String(nOpenpgp), String(nSsh)]]
      : [process.execPath, [join(root, 'bench/make-bench-repo-fast.mjs'), dir, String(nOpenpgp), String(nSsh)]];
  execFileSync(args[0], args[1], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

function signetVerifyArgs(dir) {
  return [
    'verify',
    '--repo',
    join(dir, 'repo'),
    '--keyring',
    join(dir, 'keys/registry.asc'),
    '--allowed-signers',
    join(dir, 'keys/allowed_signers'),
    '--format',
    'jsonl',
    '--no-cache',
    'main',
  ];
}

function gitEnvFor(dir) {
  return { ...process.env, GNUPGHOME: join(dir, 'gnupg-verify'), GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
}

function countLetters(lines, pick) {
  const counts = {};
  for (const line of lines) {
    if (!line) continue;
    const letter = pick(line);
    counts[letter] = (counts[letter] ?? 0) + 1;
  }
  return counts;
}

execFileSync(process.execPath, [join(root, 'scripts/bundle.mjs')], { stdio: 'inherit' });

let seaBuilt = false;
/** dist/signet, built once per run (the hook benchmark uses it too). */
function seaBin() {
  if (!seaBuilt) execFileSync(process.execPath, [join(root, 'scripts/build-sea.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  seaBuilt = true;
  return join(root, 'dist/signet');
}

/** Median of 5 runs of bench/crypto-floor.mjs, the thread pool sized as signet sizes it. */
function cryptoFloor(n) {
  const runs = [];
  for (let i = 0; i < 5; i++) {
    const run = wall(process.execPath, [join(root, 'bench/crypto-floor.mjs'), String(n)], {
      env: { ...process.env, UV_THREADPOOL_SIZE: String(Math.min(Math.max(cpus().length, 2), 16)) },
    });
    const figures = JSON.parse(run.stdout);
    runs.push({ ...figures, total: figures.startupMs + figures.checksMs });
  }
  return runs.sort((a, b) => a.total - b.total)[Math.floor(runs.length / 2)];
}
const signetBin = join(root, 'bin/signet.js');
console.log(`signet benchmarks — ${results.machine}\n`);

// NODE_EXTRA_CA_CERTS makes every Node process parse that certificate file before any of its
// code runs (this VM sets it to the whole system bundle for its proxy: about 40 ms a start).
// `signet verify` and the hook open no TLS connection and git never reads it, so it is unset
// for every run below, the peer's included; the cost is measured and printed instead.
if (process.env.NODE_EXTRA_CA_CERTS) {
  const startup = (env) => median(Array.from({ length: 7 }, () => wall(process.execPath, ['-e', '0'], { env }).ms));
  const withCerts = startup(process.env);
  delete process.env.NODE_EXTRA_CA_CERTS;
  const without = startup(process.env);
  console.log(`  note: NODE_EXTRA_CA_CERTS is set here; unset for these runs (Node start-up ${fmt(withCerts)} with it, ${fmt(without)} without)\n`);
  results.extraCaCertsStartupMs = { with: withCerts, without };
}
console.log(`  ${'what'.padEnd(44)} ${'signet'.padStart(10)}  ${'peer'.padStart(10)}  ${'ratio'.padStart(7)}`);

if (want('verify')) {
  const dir = ensureRepo('repo-2k', 'git', 1000, 1000);
  // signet from node and from the single executable, interleaved: this VM's speed drifts by
  // tens of percent within minutes, and interleaving keeps the drift out of the comparison.
  // git before and after signet's runs; the faster of the two counts (the ratio errs low).
  const gitLog = () =>
    wall('git', ['-C', join(dir, 'repo'), '-c', `gpg.ssh.allowedSignersFile=${join(dir, 'keys/allowed_signers')}`, 'log', '--pretty=%H %G?', 'main'], {
      env: gitEnvFor(dir),
    });
  const gitBefore = gitLog();
  const runs = [];
  const seaRuns = [];
  let ours;
  for (let i = 0; i < 11; i++) {
    const run = wall(process.execPath, [signetBin, ...signetVerifyArgs(dir)]);
    runs.push(run.ms);
    ours = run.stdout;
    seaRuns.push(wall(seaBin(), signetVerifyArgs(dir)).ms);
  }
  const theirs = [gitBefore, gitLog()].sort((a, b) => a.ms - b.ms)[0];
  const ourCounts = countLetters(ours.split('\n'), (line) => JSON.parse(line).status);
  const theirCounts = countLetters(theirs.stdout.split('\n'), (line) => line.split(' ')[1]);
  if (JSON.stringify(ourCounts) !== JSON.stringify(theirCounts))
    throw new Error(`verdicts differ: signet ${JSON.stringify(ourCounts)} git ${JSON.stringify(theirCounts)}`);
  const ms = median(runs);
  // What no implementation on this machine can beat: Node's start-up and 2,000 Ed25519 checks on
  // the thread pool (one thread per core) with nothing else to do. See README, "Where the time goes".
  // Measured in the same run, and each speed row says what share of it signet reaches.
  const floor = cryptoFloor(2000);
  const floorMs = floor.startupMs + floor.checksMs;
  row('verify 2,000 commits (1k OpenPGP + 1k SSH)', ms, theirs.ms, `${ofFloor(floorMs, ms)}; start-up included; same letters ${JSON.stringify(ourCounts)}`);
  // The same command from the single executable (its V8 snapshot holds the loaded modules).
  const seaMs = median(seaRuns);
  row('  the same, single executable (dist/signet)', seaMs, theirs.ms, `${ofFloor(floorMs, seaMs)}; start-up included`);
  row(
    '  floor: node start-up + 2,000 Ed25519 checks',
    floor.startupMs + floor.checksMs,
    theirs.ms,
    `start-up ${fmt(floor.startupMs)} + checks ${fmt(floor.checksMs)}, no git, no parsing`,
  );
  results.figures.verify2k = {
    signetMs: ms,
    singleExecutableMs: seaMs,
    gitMs: theirs.ms,
    ratio: theirs.ms / ms,
    singleExecutableRatio: theirs.ms / seaMs,
    gitCommitsPerSecond: 2000 / (theirs.ms / 1000),
    floorMs,
    floorShare: floorMs / ms,
    singleExecutableFloorShare: floorMs / seaMs,
  };
}

if (want('realistic')) {
  // A history shaped like a real project (bench/make-realistic-repo.sh): 30 signers with every
  // kind of key, unknown signers, unsigned stretches, mergetags, OpenTimestamps blocks. The
  // uniform repository above is the best case; this one is what a project's history looks like.
  const dir = join(benchDir, 'repo-realistic');
  execFileSync('bash', [join(root, 'bench/make-realistic-repo.sh'), dir, '60'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const info = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8'));
  const gitLog = () =>
    wall('git', ['-C', join(dir, 'repo'), '-c', `gpg.ssh.allowedSignersFile=${join(dir, 'keys/allowed_signers')}`, 'log', '--pretty=%H %G?', 'main'], {
      env: gitEnvFor(dir),
    });
  const gitBefore = gitLog();
  const runs = [];
  let ours;
  for (let i = 0; i < 7; i++) {
    const run = wall(process.execPath, [signetBin, ...signetVerifyArgs(dir)], { allowFailure: true });
    runs.push(run.ms);
    ours = run.stdout;
  }
  const theirs = [gitBefore, gitLog()].sort((a, b) => a.ms - b.ms)[0];
  const ourLetters = new Map(
    ours
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((record) => record.commit)
      .map((record) => [record.commit, record.status]),
  );
  const differing = theirs.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .filter(([commit, letter]) => ourLetters.get(commit) !== letter);
  if (differing.length > 0 || ourLetters.size !== info.commits)
    throw new Error(`realistic history: ${differing.length} verdicts differ from git's (${ourLetters.size} of ${info.commits} commits listed)`);
  const counts = countLetters(theirs.stdout.split('\n'), (line) => line.split(' ')[1]);
  const ms = median(runs);
  row(
    `verify a realistic history, ${info.commits.toLocaleString('en-US')} commits`,
    ms,
    theirs.ms,
    `start-up included; ${info.signers} signers, same letters ${JSON.stringify(counts)}`,
  );
  results.figures.verifyRealistic = { commits: info.commits, signers: info.signers, signetMs: ms, gitMs: theirs.ms, ratio: theirs.ms / ms, letters: counts };
}

if (want('throughput')) {
  const dir = ensureRepo('repo-20k', 'fast', 10000, 10000);
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(wall(process.execPath, [signetBin, ...signetVerifyArgs(dir)]).ms);
  const ms = median(runs);
  const seaRuns = [];
  for (let i = 0; i < 3; i++) seaRuns.push(wall(seaBin(), signetVerifyArgs(dir)).ms);
  const seaMs = median(seaRuns);
  const floor = cryptoFloor(20000);
  const floorMs = floor.startupMs + floor.checksMs;
  row(
    'verify 20,000 commits',
    ms,
    undefined,
    `${ofFloor(floorMs, ms)}; ${Math.round(20000 / (ms / 1000)).toLocaleString('en-US')} commits/s, start-up included`,
  );
  row(
    '  the same, single executable (dist/signet)',
    seaMs,
    undefined,
    `${ofFloor(floorMs, seaMs)}; ${Math.round(20000 / (seaMs / 1000)).toLocaleString('en-US')} commits/s, start-up included`,
  );
  row(
    '  floor: node start-up + 20,000 Ed25519 checks',
    floor.startupMs + floor.checksMs,
    undefined,
    `${Math.round(20000 / ((floor.startupMs + floor.checksMs) / 1000)).toLocaleString('en-US')} checks/s, no git, no parsing`,
  );
  results.figures.verify20k = {
    signetMs: ms,
    commitsPerSecond: 20000 / (ms / 1000),
    singleExecutableMs: seaMs,
    singleExecutableCommitsPerSecond: 20000 / (seaMs / 1000),
    floorMs,
    floorShare: floorMs / ms,
    singleExecutableFloorShare: floorMs / seaMs,
  };
}

if (want('memory')) {
  // Memory stays bounded on long ranges: peak RSS of `signet verify` over 20,000 and 100,000
  // signed commits (output streamed to /dev/null), from node and from the single executable,
  // beside git rev-list walking the same range; then from node with the cache on, first run and replay.
  const peak = (command, args) => {
    const run = spawnSync('/usr/bin/time', ['-f', '%M', command, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
    if (run.status !== 0) throw new Error(`${command} exited ${run.status}: ${run.stderr.slice(-500)}`);
    return Number(run.stderr.trim().split('\n').pop()) / 1024;
  };
  const figures = {};
  // With the cache on (the default run): a first run, which fills the verdict cache and writes the
  // walk memo, then the replay that reads them; each from node, with a fresh cache under /tmp.
  const cachedPeaks = (args) => {
    const cache = mkdtempSync(join(tmpdir(), 'signet-bench-cache-'));
    try {
      const withCache = args.flatMap((arg) => (arg === '--no-cache' ? ['--cache', cache] : [arg]));
      const first = peak(process.execPath, [signetBin, ...withCache]);
      return { first, replay: peak(process.execPath, [signetBin, ...withCache]) };
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  };
  const showCached = (label, { first, replay }) =>
    console.log(
      `  ${`peak RSS, verify ${label}, cache on`.padEnd(44)} ${`${first.toFixed(0)} MiB`.padStart(10)}  ${''.padStart(10)}  ${''.padStart(7)}  first run (writes the cache); cached replay ${replay.toFixed(0)} MiB`,
    );
  const show = (label, ours, theirs, sea) =>
    console.log(
      `  ${`peak RSS, verify ${label} commits`.padEnd(44)} ${`${ours.toFixed(0)} MiB`.padStart(10)}  ${`${theirs.toFixed(0)} MiB`.padStart(10)}  ${''.padStart(7)}  peer: git rev-list of the range; single executable ${sea.toFixed(0)} MiB`,
    );
  // A range with an exclusion (`main ^root`: every commit but the first) walks differently: git's
  // limit_list keeps every commit it meets until the walk ends (src/git/limited-walk.ts).
  const exclusionRow = (label, dir, args) => {
    const { root: rootCommit } = JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8'));
    const withExclusion = [...args, `^${rootCommit}`];
    const ours = peak(process.execPath, [signetBin, ...withExclusion]);
    const sea = peak(seaBin(), withExclusion);
    const theirs = peak('git', ['-C', join(dir, 'repo'), 'rev-list', 'main', `^${rootCommit}`]);
    console.log(
      `  ${`peak RSS, verify main ^root, ${label}`.padEnd(44)} ${`${ours.toFixed(0)} MiB`.padStart(10)}  ${`${theirs.toFixed(0)} MiB`.padStart(10)}  ${''.padStart(7)}  peer: git rev-list main ^root; single executable ${sea.toFixed(0)} MiB`,
    );
    return { signetPeakMiB: ours, singleExecutablePeakMiB: sea, gitRevListPeakMiB: theirs };
  };
  for (const [label, name, n] of [
    ['20,000', 'repo-20k', 10000],
    ['100,000', 'repo-100k', 50000],
  ]) {
    const dir = ensureRepo(name, 'fast', n, n);
    const ours = peak(process.execPath, [signetBin, ...signetVerifyArgs(dir)]);
    const sea = peak(seaBin(), signetVerifyArgs(dir));
    const theirs = peak('git', ['-C', join(dir, 'repo'), 'rev-list', 'main']);
    show(label, ours, theirs, sea);
    const cached = cachedPeaks(signetVerifyArgs(dir));
    showCached(label, cached);
    figures[name] = {
      signetPeakMiB: ours,
      singleExecutablePeakMiB: sea,
      gitRevListPeakMiB: theirs,
      cacheFirstPeakMiB: cached.first,
      cacheReplayPeakMiB: cached.replay,
    };
    if (name === 'repo-100k') figures[name].exclusion = exclusionRow(label, dir, signetVerifyArgs(dir));
  }
  // A million SSH-signed commits (bench/make-bench-repo-pack.mjs writes the pack directly; about
  // 2.3 minutes on the 2-core VM: 136 s measured 2026-12-05). Built only when asked for: SIGNET_BENCH_1M=1, or built before.
  const million = join(benchDir, 'repo-1m');
  if (process.env.SIGNET_BENCH_1M || existsSync(join(million, 'info.json'))) {
    execFileSync(process.execPath, [join(root, 'bench/make-bench-repo-pack.mjs'), million, '1000000'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const args = [
      'verify',
      '--repo',
      join(million, 'repo'),
      '--allowed-signers',
      join(million, 'keys/allowed_signers'),
      '--format',
      'jsonl',
      '--no-cache',
      'main',
    ];
    const started = process.hrtime.bigint();
    const ours = peak(process.execPath, [signetBin, ...args]);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const sea = peak(seaBin(), args);
    const theirs = peak('git', ['-C', join(million, 'repo'), 'rev-list', 'main']);
    show('1,000,000', ours, theirs, sea);
    const cached = cachedPeaks(args);
    showCached('1,000,000', cached);
    const exclusion = exclusionRow('1,000,000', million, args);
    figures['repo-1m'] = {
      signetPeakMiB: ours,
      singleExecutablePeakMiB: sea,
      gitRevListPeakMiB: theirs,
      signetMs: ms,
      cacheFirstPeakMiB: cached.first,
      cacheReplayPeakMiB: cached.replay,
      exclusion,
    };
  } else {
    console.log(`  ${'peak RSS, verify 1,000,000 commits'.padEnd(44)} skipped: .bench/repo-1m is not built (SIGNET_BENCH_1M=1 builds it, ~2.5 min)`);
  }
  // Peak RSS moves with the machine's load (garbage awaits collection longer): printed beside it.
  figures.loadAverageAtEnd = loadavg()[0];
  console.log(`  ${'(memory rows: load average at their end'.padEnd(44)} ${figures.loadAverageAtEnd.toFixed(1)})`);
  results.figures.memory = figures;
}

if (want('cache')) {
  // Repeated runs pay for new commits only: `verify --all` over 100,000 unchanged commits with a
  // fresh verdict cache (cold), then again (cached), then with one new commit on top (moved tip). Without --now the OpenPGP half is verified
  // again each time (its expiry is judged at the clock); with --now every verdict is reused.
  const dir = ensureRepo('repo-100k', 'fast', 50000, 50000);
  const figures = {};
  for (const [label, extra] of [
    ['at the clock', []],
    ['--now given', ['--now', '2030-01-01T00:00:00Z']],
  ]) {
    const cache = join(benchDir, `verify-cache-${extra.length ? 'now' : 'clock'}`);
    rmSync(cache, { recursive: true, force: true });
    const args = [
      signetBin,
      'verify',
      '--repo',
      join(dir, 'repo'),
      '--keyring',
      join(dir, 'keys/registry.asc'),
      '--allowed-signers',
      join(dir, 'keys/allowed_signers'),
      '--format',
      'jsonl',
      '--cache',
      cache,
      ...extra,
      '--all',
    ];
    const cold = wall(process.execPath, args).ms;
    const cached = median([0, 1, 2].map(() => wall(process.execPath, args).ms));
    row(`verify --all 100,000, cold cache (${label})`, cold, undefined, 'start-up included; writes the cache');
    row(`verify --all 100,000, cached (${label})`, cached, undefined, `${(cold / cached).toFixed(1)}× faster than cold`);
    // A moved tip, the common CI case: one new SSH-signed commit on main (a new one each time,
    // on the same old tip: each run finds the earlier memos, walks the new commit, replays).
    const repo = join(dir, 'repo');
    const oldMain = execFileSync('git', ['-C', repo, 'rev-parse', 'main'], { encoding: 'utf8' }).trim();
    const date = `${Number(execFileSync('git', ['-C', repo, 'show', '-s', '--format=%ct', oldMain], { encoding: 'utf8' })) + 100_000} +0000`;
    let moved;
    try {
      moved = median(
        [0, 1, 2].map((index) => {
          const next = execFileSync(
            'git',
            [
              '-C',
              repo,
              '-c',
              'gpg.format=ssh',
              '-c',
              `user.signingkey=${join(dir, 'ssh/bench-ssh')}`,
              'commit-tree',
              '-S',
              '-p',
              oldMain,
              '-m',
              `moved tip ${index}`,
              `${oldMain}^{tree}`,
            ],
            { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } },
          ).trim();
          execFileSync('git', ['-C', repo, 'update-ref', 'refs/heads/main', next]);
          return wall(process.execPath, args).ms;
        }),
      );
    } finally {
      execFileSync('git', ['-C', repo, 'update-ref', 'refs/heads/main', oldMain]);
    }
    row(
      `verify --all 100,000 + 1 new on top (${label})`,
      moved,
      undefined,
      `${(cold / moved).toFixed(1)}× faster than cold; the new commit walked, the old tip's memo replayed`,
    );
    figures[extra.length ? 'now' : 'clock'] = { coldMs: cold, cachedMs: cached, movedTipMs: moved };
  }
  results.figures.verifyCache100k = figures;
}

if (want('hook')) {
  const dir = ensureRepo('repo-2k', 'git', 1000, 1000);
  seaBin();
  const source = join(dir, 'repo');
  const commits = execFileSync('git', ['-C', source, 'rev-list', '--reverse', 'main'], { encoding: 'utf8' }).trim().split('\n');
  const hookDir = join(benchDir, 'hook');
  rmSync(hookDir, { recursive: true, force: true });
  mkdirSync(hookDir, { recursive: true });
  writeFileSync(
    join(hookDir, 'policy.yml'),
    `version: 1\nkeys:\n  openpgp: [${join(dir, 'keys/registry.asc')}]\n  ssh_allowed_signers: ${join(dir, 'keys/allowed_signers')}\nrules:\n  - refs: ["refs/heads/*"]\n    require_signed_commits: true\n`,
  );
  const makeServer = (name, hookBody) => {
    const server = join(hookDir, `${name}.git`);
    execFileSync('git', ['init', '-q', '--bare', server]);
    const times = join(hookDir, `${name}.times`);
    writeFileSync(
      join(server, 'hooks', 'pre-receive'),
      `#!/bin/sh\nstart=$(date +%s%N)\n${hookBody}\nrc=$?\necho $(( ($(date +%s%N) - start) / 1000 )) >> '${times}'\nexit $rc\n`,
    );
    chmodSync(join(server, 'hooks', 'pre-receive'), 0o755);
    return { server, times };
  };
  copyFileSync(join(root, 'dist/signet'), join(hookDir, 'signet'));
  const signet = makeServer('signet', `SIGNET_POLICY='${join(hookDir, 'policy.yml')}' '${join(hookDir, 'signet')}' hook pre-receive`);
  const loop = makeServer(
    'verify-commit-loop',
    `export GNUPGHOME='${join(dir, 'gnupg-verify')}'\nfail=0\nwhile read old new ref; do\n  for c in $(git rev-list "$new" --not --all); do git -c gpg.ssh.allowedSignersFile='${join(dir, 'keys/allowed_signers')}' verify-commit "$c" >/dev/null 2>&1 || fail=1; done\ndone\n[ $fail -eq 0 ]`,
  );
  const pushTo = (target, commit) => {
    const result = spawnSync('git', ['-C', source, 'push', '-q', target.server, `${commit}:refs/heads/main`], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`push to ${target.server} failed: ${result.stderr}`);
  };
  const timesOf = (target) =>
    readFileSync(target.times, 'utf8')
      .trim()
      .split('\n')
      .map((line) => Number(line) / 1000);
  // 1-commit pushes: seed with the history up to commit 1,950, then push one commit at a time.
  for (const target of [signet, loop]) {
    pushTo(target, commits[1949]);
    rmSync(target.times, { force: true });
    for (let i = 1950; i < 1970; i++) pushTo(target, commits[i]);
  }
  const oneOurs = median(timesOf(signet));
  const oneTheirs = median(timesOf(loop));
  row('hook, 1-commit push (median of 20)', oneOurs, oneTheirs, 'hook wall time, start-up included');
  // A 2,000-commit push into empty repositories.
  for (const target of [signet, loop]) {
    rmSync(target.server, { recursive: true, force: true });
  }
  const signet2 = makeServer('signet', `SIGNET_POLICY='${join(hookDir, 'policy.yml')}' '${join(hookDir, 'signet')}' hook pre-receive`);
  const loop2 = makeServer(
    'verify-commit-loop',
    `export GNUPGHOME='${join(dir, 'gnupg-verify')}'\nfail=0\nwhile read old new ref; do\n  for c in $(git rev-list "$new" --not --all); do git -c gpg.ssh.allowedSignersFile='${join(dir, 'keys/allowed_signers')}' verify-commit "$c" >/dev/null 2>&1 || fail=1; done\ndone\n[ $fail -eq 0 ]`,
  );
  rmSync(signet2.times, { force: true });
  rmSync(loop2.times, { force: true });
  pushTo(signet2, commits[commits.length - 1]);
  pushTo(loop2, commits[commits.length - 1]);
  const allOurs = timesOf(signet2)[0];
  const allTheirs = timesOf(loop2)[0];
  row('hook, 2,000-commit push', allOurs, allTheirs, 'hook wall time');
  results.figures.hook = { oneCommitMs: oneOurs, oneCommitLoopMs: oneTheirs, twoThousandMs: allOurs, twoThousandLoopMs: allTheirs };
}

for (const [name, script] of [
  ['micro', 'bench/openpgp-micro.mjs'],
  ['micro', 'bench/ssh-micro.mjs'],
  ['sign', 'bench/sign-blob.mjs'],
  ['app', 'bench/app-check.mjs'],
  // check runs/s across 100 installations (GitHub's spacing per installation)
  ['installations', 'bench/app-installations.mjs'],
  ['admission', 'bench/admission.mjs'],
]) {
  if (!want(name) || !existsSync(join(root, script))) continue;
  console.log(`\n${script}:`);
  const run = spawnSync(process.execPath, [join(root, script)], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', timeout: 900_000 });
  process.stdout.write(
    run.stdout
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
  );
  results.figures[script] = run.stdout.trim();
}

mkdirSync(benchDir, { recursive: true });
writeFileSync(join(benchDir, 'results.json'), JSON.stringify(results, null, 2));
console.log(`\nfigures saved to .bench/results.json`);
