import type { JobName } from './config.ts';
import { runComplianceReport } from './compliance-report.ts';
import type { JobEnvironment, JobRun } from './context.ts';
import { runKeyExpiry } from './key-expiry.ts';
import { runRevocationSweep } from './revocation-sweep.ts';

const RUNNERS: Record<JobName, (environment: JobEnvironment) => Promise<JobRun>> = {
  'key-expiry': runKeyExpiry,
  'revocation-sweep': runRevocationSweep,
  'compliance-report': runComplianceReport,
};

export function runJob(name: JobName, environment: JobEnvironment): Promise<JobRun> {
  return RUNNERS[name](environment);
}
