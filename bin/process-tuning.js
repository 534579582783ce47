'use strict';
// How a short-lived signet process sets up its runtime. Shared by bin/signet.js and the single
// executable (src/cli/sea-entry.ts); it must run before anything has used libuv's thread pool.
const { availableParallelism } = require('node:os');
const { PerformanceObserver } = require('node:perf_hooks');
const v8 = require('node:v8');

/**
 * After this long the optimising compiler is switched on (`verify` also switches it on at its
 * 2,500th commit). A 2,000-commit verify spent about 250 ms of CPU in TurboFan's background
 * threads to save 70 ms on the main thread, and on two cores those threads take CPU from the
 * signature checks (2,000 commits: 495 → 440 ms without it; 20,000 commits: 2.0 s with it from
 * the start, 2.8 s without it, ~2.05 s with it switched on at the 2,500th commit).
 */
const OPTIMISE_AFTER_MS = 500;

function tuneProcess() {
  // One pool thread per core for the signature checks (crypto.verify with a callback): the
  // default of 4 on a 2-core machine starves the thread that feeds them (20,000 commits:
  // 2.55 s with 4 threads, 2.35 s with one per core, measured).
  if (process.env.UV_THREADPOOL_SIZE === undefined) {
    process.env.UV_THREADPOOL_SIZE = String(Math.min(Math.max(availableParallelism(), 2), 16));
  }
  // V8 prints "unrecognized flag" to stderr for a flag it does not know, and the hook's stderr
  // goes to the person pushing: the flags below are set only on the V8 versions of Node 20, 22
  // and 24, which have them (measured on Node 20's).
  const v8Major = Number(process.versions.v8.split('.')[0]);
  if (!(v8Major >= 11 && v8Major <= 13)) return;
  // The young generation grows eightfold instead of twofold after a busy scavenge: a verify run
  // allocates tens of megabytes of short-lived objects, and starting from 1 MiB it spent 17
  // pauses (40 ms) getting there; now 10 (27 ms). It stops at 16 MiB (capYoungGeneration).
  capYoungGeneration();
  // V8 grows the old generation's limit by up to 4x (Node 24) or 2x (Node 20) after a full
  // collection, and a verify run's promoted garbage (commit buffers that outlived two scavenges
  // while their checks ran; the buffers' bytes are outside the heap, so the heap's own limit is
  // reached late) then stays resident. A fixed growth of 20% collects it sooner. Node 24,
  // 100,000 commits: 173 → 140 MiB from node, 261 → 202 MiB from the single executable. Node 20,
  // 100,000 commits, with the cache on (first run / replay at the clock, load ~3): 126–133 /
  // 145–159 MiB → 110–111 / 122–123 MiB, --no-cache 108–120 → 105 MiB; wall times within 3%.
  v8.setFlagsFromString('--heap-growing-percent=20');
  // Leave V8's tiering alone when someone has set it themselves.
  // The single executable ignores NODE_OPTIONS (scripts/build-sea.mjs, execArgvExtension).
  // SIGNET_SEA: esbuild's define, set in the executable only.
  const inSea = typeof SIGNET_SEA !== 'undefined' && SIGNET_SEA;
  const v8Options = `${process.execArgv.join(' ')} ${inSea ? '' : (process.env.NODE_OPTIONS ?? '')}`;
  if (!/--(no-)?(opt|turbofan)\b/.test(v8Options) && process.env.SIGNET_EAGER_JIT === undefined) {
    v8.setFlagsFromString('--no-turbofan');
    globalThis[DELAYED] = true;
    setTimeout(optimiseNow, OPTIMISE_AFTER_MS).unref();
  }
}

/**
 * The young generation (both semi-spaces, as V8's new_space reports it) stops growing once it
 * has reached this size. V8 grows it whenever the bytes surviving scavenges since the last
 * growth exceed its capacity, which a long run always reaches: left alone it ends at V8's
 * maximum (32 MiB on Node 20, 128 MiB on Node 24), resident for the rest of the run, where
 * `verify` over a million commits must stay within 128 MiB. The maximum can only be set when
 * the isolate is created (--max-semi-space-size), but the growth factor is read at each growth.
 */
const YOUNG_GENERATION_CAP_BYTES = 16 * 1024 * 1024;
/** How much one growth multiplies the young generation by, at most. */
const YOUNG_GROWTH_FACTOR = 8;

// Shared through the global object, as DELAYED below: the bundle carries its own copy of this file.
const TUNING = Symbol.for('signet.youngGenerationHeld');
const FACTOR = Symbol.for('signet.youngGrowthFactor');

/**
 * Sets the growth factor so that the next growth lands at the cap at most (8× while far below it,
 * then what is left, then 1), and watches each collection to set it again. The watcher's callback
 * runs only when the event loop turns, and a replay of a memoised range never lets it: there two
 * growths in a row took the young generation past the cap to 32 MiB. With the factor set ahead,
 * one growth cannot pass the cap, and holdYoungGeneration (called by `verify` every few hundred
 * commits) sets it again between growths however long the loop runs.
 */
function capYoungGeneration() {
  globalThis[TUNING] = true;
  holdYoungGeneration();
  const observer = new PerformanceObserver(() => {
    if (!holdYoungGeneration()) observer.disconnect();
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** Sets the young generation's growth factor for its size now; false once it is at the cap (or not tuned). */
function holdYoungGeneration() {
  if (globalThis[TUNING] !== true) return false;
  const newSpace = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  const size = newSpace?.space_size ?? YOUNG_GENERATION_CAP_BYTES;
  const factor = Math.max(1, Math.min(YOUNG_GROWTH_FACTOR, Math.floor(YOUNG_GENERATION_CAP_BYTES / Math.max(size, 1))));
  if (factor !== globalThis[FACTOR]) {
    v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
    globalThis[FACTOR] = factor;
  }
  if (factor > 1) return true;
  globalThis[TUNING] = false;
  return false;
}
// Shared through the global object: the bundle carries its own copy of this file.
const DELAYED = Symbol.for('signet.optimiserDelayed');

/**
 * Switches the optimising compiler on now, if tuneProcess delayed it: for a caller that knows
 * early that its run will be long (`verify` past a few thousand commits).
 */
function optimiseNow() {
  if (!globalThis[DELAYED]) return;
  globalThis[DELAYED] = false;
  v8.setFlagsFromString('--turbofan');
}

module.exports = { tuneProcess, optimiseNow, holdYoungGeneration };
