import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const tuning = new URL('../../../bin/process-tuning.js', import.meta.url).pathname;
const probe = (env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []): { pool: string; delayed: unknown; afterOptimise: unknown; stderr: string } => {
  const script = `const t = require(${JSON.stringify(tuning)}); t.tuneProcess(); const key = Symbol.for('signet.optimiserDelayed'); const delayed = globalThis[key]; t.optimiseNow(); console.log(JSON.stringify({ pool: process.env.UV_THREADPOOL_SIZE, delayed, afterOptimise: globalThis[key] }));`;
  const base = { ...process.env };
  delete base.UV_THREADPOOL_SIZE;
  const run = spawnSync(process.execPath, [...nodeFlags, '-e', script], { encoding: 'utf8', env: { ...base, ...env } });
  return { ...JSON.parse(run.stdout), stderr: run.stderr };
};

describe('process tuning (bin/process-tuning.js)', () => {
  it('sizes the pool, delays the optimising compiler and switches it on when asked, printing nothing', () => {
    const { pool, delayed, afterOptimise, stderr } = probe();
    expect(Number(pool)).toBeGreaterThanOrEqual(2);
    expect(delayed).toBe(true);
    expect(afterOptimise).toBe(false);
    // V8 prints "unrecognized flag" for a flag it lacks; the hook's stderr reaches the pusher.
    expect(stderr).toBe('');
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
