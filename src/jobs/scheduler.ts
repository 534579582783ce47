/**
 * Runs the configured jobs on their cron schedules (node-cron). With several app replicas on
 * one database, each scheduled run happens once: node-cron asks a run coordinator before every
 * run, and ours claims the (job, slot) pair in the store — the same atomic claim that makes two
 * instances post one check run. Without a store (the embedded single-process default) every
 * scheduled run simply runs.
 */
import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron';
import { JOB_NAMES, type JobName, type JobsConfig } from './config.ts';
import type { JobRun } from './context.ts';
import type { JobStore } from './ports.ts';

/** The claim namespace in the store's check-claims table. */
export const JOB_CLAIM_REPOSITORY = 'signet:jobs';

/** node-cron names a run `<task name>:<slot ISO time>`; the claim is taken for exactly that. */
export function storeRunCoordinator(store: Pick<JobStore, 'claimCheck' | 'completeCheck'>, owner: string, now: () => Date = () => new Date()): RunCoordinator {
  const split = (key: string): { job: string; slot: string } => {
    const at = key.indexOf(':');
    return { job: key.slice(0, at), slot: key.slice(at + 1) };
  };
  return {
    async shouldRun(key: string, ttlMs: number): Promise<boolean> {
      const { job, slot } = split(key);
      return store.claimCheck({ repository: JOB_CLAIM_REPOSITORY, headSha: job, trigger: slot, owner, leaseMs: ttlMs, now: now() });
    },
    async onComplete(key: string): Promise<void> {
      const { job, slot } = split(key);
      await store.completeCheck(JOB_CLAIM_REPOSITORY, job, slot, { conclusion: 'done' });
    },
  };
}

export interface SchedulerEvents {
  onRun?: (job: JobName, slot: Date, run: JobRun) => void;
  onSkip?: (job: JobName, slot: Date, reason: string) => void;
  onError?: (job: JobName, slot: Date, error: unknown) => void;
}

export interface JobScheduler {
  readonly tasks: ReadonlyMap<JobName, ScheduledTask>;
  /** The next run of each scheduled job. */
  nextRuns(): Array<{ job: JobName; at: Date | null }>;
  stop(): Promise<void>;
}

export interface SchedulerOptions extends SchedulerEvents {
  config: JobsConfig;
  run: (job: JobName, slot: Date) => Promise<JobRun>;
  /** Shared store: each slot runs on one instance only. */
  store?: Pick<JobStore, 'claimCheck' | 'completeCheck'>;
  /** This instance, for the claim's owner. */
  instanceId?: string;
  /** How long a claimed run blocks other instances if this one dies mid-run. */
  leaseMs?: number;
  now?: () => Date;
}

export function startScheduler(options: SchedulerOptions): JobScheduler {
  const tasks = new Map<JobName, ScheduledTask>();
  const coordinator = options.store ? storeRunCoordinator(options.store, options.instanceId ?? `signet-${process.pid}`, options.now) : undefined;
  for (const job of JOB_NAMES) {
    const schedule = options.config.jobs[job].schedule;
    if (!schedule) continue;
    const task = cron.schedule(
      schedule,
      async (context) => {
        const slot = context.date;
        try {
          const run = await options.run(job, slot);
          options.onRun?.(job, slot, run);
        } catch (error) {
          options.onError?.(job, slot, error);
        }
      },
      {
        name: job,
        timezone: options.config.timezone,
        noOverlap: true,
        ...(coordinator ? { distributed: true, runCoordinator: coordinator, distributedLease: options.leaseMs ?? 6 * 3_600_000 } : {}),
      },
    );
    task.on('execution:skipped', (context) => options.onSkip?.(job, context.date, context.reason ?? 'skipped'));
    tasks.set(job, task);
  }
  return {
    tasks,
    nextRuns: () => [...tasks].map(([job, task]) => ({ job, at: task.getNextRun() })),
    async stop() {
      for (const task of tasks.values()) await task.destroy();
    },
  };
}
