import { hostname, userInfo } from 'node:os';
import { jobAuditLog } from './audit-trail.ts';
import type { JobsConfig } from './config.ts';
import type { JobEnvironment } from './context.ts';
import type { FetchLike } from './http.ts';
import { fileJobState, type JobStore } from './ports.ts';

export interface EnvironmentOptions {
  env: NodeJS.ProcessEnv;
  /** Fixed "now" (CLI --now); default the clock. */
  now?: Date;
  store?: JobStore;
  fetch?: FetchLike;
  actor?: string;
  dryRun?: boolean;
}

/** The production wiring: state files and the audit log where the configuration says. */
export function jobEnvironment(config: JobsConfig, options: EnvironmentOptions): JobEnvironment {
  const audit = jobAuditLog(config.auditLog);
  let actor = options.actor;
  if (!actor) {
    let user = 'unknown';
    try {
      user = userInfo().username;
    } catch {
      // no passwd entry (containers): keep 'unknown'
    }
    actor = `${user}@${hostname()}`;
  }
  return {
    config,
    now: options.now ? () => options.now! : () => new Date(),
    env: options.env,
    state: fileJobState(config.stateDir),
    audit: (record) => audit.write(record),
    actor,
    ...(options.store ? { store: options.store } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
  };
}
