/**
 * The operators' dashboard on the app's own port, under SIGNET_DASHBOARD_PATH (default
 * `/signet/`): the jobs runtime `signet jobs schedule --listen` uses (src/dashboard/runtime.ts:
 * the jobs configuration in SIGNET_JOBS_CONFIG, its scheduler, and the dashboard handler behind
 * the token named by its `dashboard.token_env`). Without a configuration or without a token
 * the dashboard is not mounted at all (its path is then the app's 404), and one log line says
 * why: an unset variable must not leave a half-open page on a public port.
 */
import type pino from 'pino';
import { startJobsRuntime } from '../dashboard/runtime.ts';
import type { HttpHandler } from '../forge/http-handler.ts';
import type { SignetStore } from '../store/store.ts';

export interface MountedDashboard {
  handlers: HttpHandler[];
  stop(): Promise<void>;
}

export function mountOperatorDashboard(env: NodeJS.ProcessEnv, store: SignetStore, instanceId: string, log: pino.Logger): MountedDashboard {
  const runtime = startJobsRuntime({ env, store, instanceId });
  if (!runtime) {
    log.info('dashboard not mounted: SIGNET_JOBS_CONFIG is not set (the dashboard and its operators’ token come from the jobs configuration, docs/jobs.md)');
    return { handlers: [], stop: async () => {} };
  }
  const tokenEnv = runtime.config.dashboard.tokenEnv;
  const path = `${(env.SIGNET_DASHBOARD_PATH ?? '/signet').replace(/\/+$/, '')}/`;
  if (!env[tokenEnv]) {
    log.info(`dashboard not mounted: no operators’ token in ${tokenEnv} (dashboard.token_env of ${runtime.config.source})`);
    return { handlers: [], stop: () => runtime.stop() };
  }
  log.info(`dashboard mounted at ${path} for the operators holding the token in ${tokenEnv}`);
  return { handlers: [runtime.handler], stop: () => runtime.stop() };
}
