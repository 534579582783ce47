/**
 * Jobs and dashboard inside a long-running server (the app, or `signet jobs schedule`):
 * everything from one jobs configuration. For the app: with SIGNET_JOBS_CONFIG set,
 *
 *   const jobs = startJobsRuntime({ env: process.env, store, instanceId });
 *   extraHandlers: () => [...(jobs ? [jobs.handler] : [])]      // and jobs.stop() on shutdown
 *
 * The scheduler asks the store to elect one instance per run only on PostgreSQL (several
 * replicas); the embedded SQLite default is one process and needs no election.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJobsConfig, type JobsConfig } from '../jobs/config.ts';
import type { JobRun } from '../jobs/context.ts';
import { jobEnvironment } from '../jobs/environment.ts';
import { fileJobState, type JobStore } from '../jobs/ports.ts';
import { runJob } from '../jobs/run-job.ts';
import { startScheduler, type JobScheduler } from '../jobs/scheduler.ts';
import { dashboardHandler } from './handler.ts';
import { loadDashboardView } from './view.ts';

export interface JobsRuntime {
  config: JobsConfig;
  scheduler: JobScheduler;
  /** The dashboard: answers under `basePath`, returns false for other paths. */
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  env: NodeJS.ProcessEnv;
  /** The app's store; its kind decides whether runs are elected. */
  store?: JobStore & { kind?: 'sqlite' | 'postgres' };
  instanceId?: string;
  /** Default SIGNET_JOBS_CONFIG. */
  configPath?: string;
  /** Default SIGNET_DASHBOARD_PATH or `/signet`. */
  basePath?: string;
  onRun?: (job: string, slot: Date, run: JobRun) => void;
  onError?: (job: string, slot: Date, error: unknown) => void;
  now?: () => Date;
}

export function startJobsRuntime(options: RuntimeOptions): JobsRuntime | undefined {
  const path = options.configPath ?? options.env.SIGNET_JOBS_CONFIG;
  if (!path) return undefined;
  const config = readJobsConfig(path, process.cwd());
  const environment = jobEnvironment(config, {
    env: options.env,
    ...(options.store ? { store: options.store } : {}),
    actor: `scheduler:${options.instanceId ?? process.pid}`,
  });
  const elect = options.store && options.store.kind === 'postgres' ? { store: options.store } : {};
  const scheduler = startScheduler({
    config,
    run: (job) => runJob(job, environment),
    ...elect,
    ...(options.instanceId ? { instanceId: options.instanceId } : {}),
    ...(options.onRun ? { onRun: options.onRun } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const now = options.now ?? (() => new Date());
  const handler = dashboardHandler({
    basePath: options.basePath ?? options.env.SIGNET_DASHBOARD_PATH ?? '/signet',
    token: options.env[config.dashboard.tokenEnv],
    user: config.dashboard.user,
    load: () => loadDashboardView({ config, state: fileJobState(config.stateDir), ...(options.store ? { store: options.store } : {}), now }),
  });
  return { config, scheduler, handler, stop: () => scheduler.stop() };
}
