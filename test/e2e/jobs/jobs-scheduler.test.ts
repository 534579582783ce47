import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseJobsConfig, type JobName } from '../../../src/jobs/config.ts';
import type { JobRun } from '../../../src/jobs/context.ts';
import { startScheduler, storeRunCoordinator, type JobScheduler } from '../../../src/jobs/scheduler.ts';
import { openPostgresStore } from '../../../src/store/sql-postgres.ts';
import { openSqliteStore } from '../../../src/store/sql-sqlite.ts';
import type { SignetStore } from '../../../src/store/store.ts';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.ts';

/**
 * Schedules under a controlled clock: vitest's fake timers drive both Date and the timers
 * node-cron arms, so days pass in milliseconds and every run lands on its exact slot.
 */
const config = (jobs: string, timezone = 'UTC') => parseJobsConfig(`timezone: ${timezone}\nstate_dir: /tmp/unused\njobs:\n${jobs}`, '/etc/signet/jobs.yml');

function recorder() {
  const runs: Array<{ job: JobName; slot: string }> = [];
  const run = async (job: JobName, slot: Date): Promise<JobRun> => {
    runs.push({ job, slot: slot.toISOString() });
    return { job, startedAt: slot.toISOString(), finishedAt: slot.toISOString(), repositories: [] };
  };
  return { runs, run };
}

describe('job schedules under a controlled clock', () => {
  const schedulers: JobScheduler[] = [];
  afterEach(async () => {
    for (const scheduler of schedulers.splice(0)) await scheduler.stop();
    vi.useRealTimers();
  });

  it('runs each job at the minutes its cron expression names, and only then', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-01T05:58:30Z') }); // a Sunday
    const { runs, run } = recorder();
    schedulers.push(
      startScheduler({
        config: config('  key-expiry: { schedule: "0 6 * * *" }\n  compliance-report: { schedule: "0 7 * * 1" }\n  revocation-sweep: {}\n'),
        run,
      }),
    );
    expect(schedulers[0]!.nextRuns()).toEqual([
      { job: 'key-expiry', at: new Date('2026-03-01T06:00:00Z') },
      { job: 'compliance-report', at: new Date('2026-03-02T07:00:00Z') },
    ]);
    await vi.advanceTimersByTimeAsync(60_000); // 05:59:30
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(3 * 86_400_000 + 60_000);
    expect(runs).toEqual([
      { job: 'key-expiry', slot: '2026-03-01T06:00:00.000Z' },
      { job: 'key-expiry', slot: '2026-03-02T06:00:00.000Z' },
      { job: 'compliance-report', slot: '2026-03-02T07:00:00.000Z' },
      { job: 'key-expiry', slot: '2026-03-03T06:00:00.000Z' },
      { job: 'key-expiry', slot: '2026-03-04T06:00:00.000Z' },
    ]);
  });

  it('keeps to local time across a daylight-saving change in the configured time zone', async () => {
    vi.useFakeTimers({ now: new Date('2026-03-27T00:00:00Z') });
    const { runs, run } = recorder();
    schedulers.push(startScheduler({ config: config('  key-expiry: { schedule: "0 6 * * *" }\n', 'Europe/Berlin'), run }));
    await vi.advanceTimersByTimeAsync(4 * 86_400_000);
    // 06:00 in Berlin is 05:00Z in winter time and 04:00Z from 29 March (summer time).
    expect(runs.map((r) => r.slot)).toEqual(['2026-03-27T05:00:00.000Z', '2026-03-28T05:00:00.000Z', '2026-03-29T04:00:00.000Z', '2026-03-30T04:00:00.000Z']);
  });

  it('refuses schedules that are not cron expressions, naming the field and line', () => {
    expect(() => config('  key-expiry:\n    schedule: "every day"\n')).toThrow(
      /jobs\.yml:5:15: jobs\.key-expiry\.schedule: 'every day' is not a cron expression/,
    );
    expect(() => config('  key-expiry: { within_dayz: 3 }\n')).toThrow(/jobs\.key-expiry\.within_dayz: unknown field/);
    expect(() => config('  key-expiry: {}\n', 'Mars/Olympus')).toThrow(/timezone: unknown time zone 'Mars\/Olympus'/);
  });
});

/** Two instances (two schedulers, two store connections) on one database: each slot runs once. */
describe('several replicas run each scheduled job once', () => {
  let dir: string;
  let postgres: TestPostgres;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'signet-jobs-lock-'));
    postgres = await startPostgres();
  });
  afterAll(() => {
    postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function twoInstances(open: () => Promise<SignetStore>): Promise<void> {
    const stores = [await open(), await open()];
    // The database answers over real sockets while the clock is fake: keep the calls in flight,
    // and let each minute pass only once every claim has its answer (awaited, not timed).
    const inFlight = new Set<Promise<unknown>>();
    const track = <T>(call: Promise<T>): Promise<T> => {
      inFlight.add(call);
      return call.finally(() => inFlight.delete(call));
    };
    const counted = stores.map((store) => ({
      claimCheck: (claim: Parameters<SignetStore['claimCheck']>[0]) => track(store.claimCheck(claim)),
      completeCheck: (...args: Parameters<SignetStore['completeCheck']>) => track(store.completeCheck(...args)),
    }));
    const settle = async (): Promise<void> => {
      for (;;) {
        // A few turns let a finished claim's continuation (the run, then its completion) start.
        for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
        if (inFlight.size === 0) return;
        await Promise.allSettled([...inFlight]);
      }
    };
    vi.useFakeTimers({ now: new Date('2026-05-04T23:59:50Z'), toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const { runs, run } = recorder();
    const owners: string[] = [];
    const skipped: string[] = [];
    const schedulers = stores.map((store, index) =>
      startScheduler({
        config: config('  key-expiry: { schedule: "*/10 * * * *" }\n'),
        run: async (job, slot) => {
          owners.push(`instance-${index}`);
          return run(job, slot);
        },
        store: counted[index]!,
        instanceId: `instance-${index}`,
        onSkip: (job, slot, reason) => skipped.push(`${job} ${slot.toISOString()} ${reason}`),
      }),
    );
    try {
      // Steps end on the minute, so a slot's claim starts at the end of a step and is answered
      // before the fake clock moves on (the pool's own connection timeout is a faked timer too).
      for (const step of [10_000, ...Array<number>(59).fill(60_000)]) {
        await vi.advanceTimersByTimeAsync(step);
        await settle();
      }
    } finally {
      for (const scheduler of schedulers) await scheduler.stop();
      vi.useRealTimers();
      for (const store of stores) await store.close();
    }
    const slots = ['00:00', '00:10', '00:20', '00:30', '00:40', '00:50'].map((t) => `2026-05-05T${t}:00.000Z`);
    expect(runs.map((r) => r.slot)).toEqual(slots);
    expect(skipped.sort()).toEqual(slots.map((slot) => `key-expiry ${slot} not-elected`).sort());
    expect(owners).toHaveLength(6);
  }

  it('SQLite (one file, two connections)', async () => {
    const file = join(dir, 'jobs.sqlite');
    await twoInstances(async () => openSqliteStore(file));
  });

  it('PostgreSQL (two pools): the claim is atomic across connections', async () => {
    await twoInstances(() => openPostgresStore(postgres.url));
  });

  it('PostgreSQL: of many concurrent claims for one slot exactly one wins, and a finished slot is never run again', async () => {
    const stores = await Promise.all([openPostgresStore(postgres.url), openPostgresStore(postgres.url), openPostgresStore(postgres.url)]);
    try {
      const coordinators = stores.map((store, index) => storeRunCoordinator(store, `replica-${index}`));
      for (const slot of ['2026-06-01T06:00:00.000Z', '2026-06-02T06:00:00.000Z']) {
        const key = `revocation-sweep:${slot}`;
        const answers = await Promise.all(coordinators.flatMap((c) => [c.shouldRun(key, 60_000), c.shouldRun(key, 60_000)]));
        expect(answers.filter(Boolean)).toHaveLength(1);
        await coordinators[answers.indexOf(true) >> 1]!.onComplete!(key);
        expect(await coordinators[2]!.shouldRun(key, 0)).toBe(false);
      }
    } finally {
      for (const store of stores) await store.close();
    }
  });
});
