import { parseArgs } from 'node:util';
import { kindOfCode, SignetError } from '../../core/errors.ts';
import { terminalText } from '../../core/render/terminal-text.ts';
import { JOB_NAMES, readJobsConfig, type JobName } from '../../jobs/config.ts';
import type { JobRun } from '../../jobs/context.ts';
import { jobEnvironment } from '../../jobs/environment.ts';
import type { SignetStore } from '../../store/store.ts';
import { runJob } from '../../jobs/run-job.ts';
import { startScheduler } from '../../jobs/scheduler.ts';
import { startJobsRuntime } from '../../dashboard/runtime.ts';
import { dayCount, inTimeZone, parseDateOption } from '../../report/dates.ts';
import { EXIT_OK, EXIT_OUTAGE, EXIT_POLICY_FAILED, EXIT_USAGE, type CliIO } from '../io.ts';

const HELP = `usage: signet jobs run JOB --config FILE [--now TIME] [--dry-run] [--format text|json]
       signet jobs list --config FILE
       signet jobs schedule --config FILE [--listen [HOST:]PORT]

Runs signet's scheduled jobs by hand, lists their schedules, or runs the scheduler in the
foreground (for deployments without the app; with DATABASE_URL set, replicas sharing the
PostgreSQL database run each scheduled job once).

Jobs:
  key-expiry          registry keys expiring within within_days (default 30): one forge issue
                      per key, updated, closed when the key is extended
  revocation-sweep    commits on protected refs signed by revoked or removed keys after that
  compliance-report   the report of the last period_days per repository (state_dir/reports,
                      and an issue with publish: issue)

  --config FILE   jobs configuration (see docs/jobs.md)
  --now TIME      run as if at TIME (ISO 8601)
  --dry-run       find, but file, update and close no issue
  --format FORMAT text (default) or json
  --listen ADDR   (schedule) also serve the dashboard on [HOST:]PORT (default host 127.0.0.1),
                  for the operators holding the token in dashboard.token_env

Exit status (run): 0 nothing found; 1 findings; 2 an error (configuration, or a repository
the job could not check).
`;

function describeRun(run: JobRun): string {
  const lines: string[] = [];
  for (const r of run.repositories) {
    const issues = r.issues
      ? `; issues: ${
          [
            ['created', r.issues.created],
            ['updated', r.issues.updated],
            ['closed', r.issues.closed],
          ]
            .filter(([, n]) => (n as number[]).length > 0)
            .map(([what, n]) => `${what} ${(n as number[]).map((x) => `#${x}`).join(' ')}`)
            .join(', ') || 'unchanged'
        }`
      : '';
    lines.push(`${run.job}  ${r.repository}  ${r.outcome === 'error' ? `error: ${r.error}` : `${r.findings} finding${r.findings === 1 ? '' : 's'}`}${issues}`);
    const data = r.data as { findings?: Array<Record<string, unknown>> } | Array<Record<string, unknown>> | undefined;
    const findings = Array.isArray(data) ? data : data?.findings;
    for (const finding of findings ?? []) {
      if (run.job === 'key-expiry')
        lines.push(
          `  ${finding.state === 'expired' ? 'expired' : 'expires'} ${String(finding.expiresAt).slice(0, 10)} (${dayCount(Number(finding.daysLeft))})  ${finding.kind} ${finding.id}  ${(finding.names as string[]).join(', ')}`,
        );
      else lines.push(`  ${String(finding.commit).slice(0, 12)} ${finding.ref} ${finding.status}  ${finding.how} key ${finding.key}: ${finding.why}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function openJobStore(env: NodeJS.ProcessEnv, cwd: string): Promise<SignetStore | undefined> {
  if (!env.DATABASE_URL) return undefined;
  const { openStore } = await import('../../store/store.ts');
  try {
    return await openStore({ DATABASE_URL: env.DATABASE_URL }, cwd);
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `DATABASE_URL: cannot open the store (${(error as Error).message.split('\n')[0]})`);
  }
}

export async function runJobs(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      now: { type: 'string' },
      'dry-run': { type: 'boolean' },
      format: { type: 'string', default: 'text' },
      listen: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const [action, name, ...extra] = positionals;
  if (values.help || action === undefined) {
    io.stdout.write(HELP);
    return values.help ? EXIT_OK : EXIT_USAGE;
  }
  if (values.format !== 'text' && values.format !== 'json') throw new SignetError('USAGE', `--format must be text or json, not '${values.format}'`);
  if (!values.config) throw new SignetError('USAGE', '--config FILE is required (the jobs configuration, see docs/jobs.md)');
  const config = readJobsConfig(values.config, io.cwd);

  if (action === 'list') {
    const scheduler = startScheduler({
      config,
      run: async () => {
        throw new Error('not run');
      },
    });
    const next = new Map(scheduler.nextRuns().map((n) => [n.job, n.at]));
    await scheduler.stop();
    for (const job of JOB_NAMES) {
      const schedule = config.jobs[job].schedule;
      const at = next.get(job);
      // The next run in the configured time zone, as the schedule is read (UTC would look an hour off).
      io.stdout.write(
        `${job.padEnd(18)} ${schedule ? `"${schedule}" (${config.timezone}), next ${at ? inTimeZone(at, config.timezone) : '-'}` : 'by hand only'}\n`,
      );
    }
    io.stdout.write(
      `${config.repositories.length} repositor${config.repositories.length === 1 ? 'y' : 'ies'}: ${config.repositories.map((r) => r.name).join(', ') || '-'}\n`,
    );
    return EXIT_OK;
  }

  if (action === 'run') {
    if (!name || !(JOB_NAMES as readonly string[]).includes(name) || extra.length > 0)
      throw new SignetError('USAGE', `jobs run takes one job: ${JOB_NAMES.join(', ')}`);
    const now = values.now ? parseDateOption('now', values.now, new Date()) : undefined;
    const store = await openJobStore(io.env, io.cwd);
    try {
      const environment = jobEnvironment(config, {
        env: io.env,
        ...(now ? { now } : {}),
        ...(store ? { store } : {}),
        ...(values['dry-run'] ? { dryRun: true } : {}),
      });
      const run = await runJob(name as JobName, environment);
      io.stdout.write(values.format === 'json' ? `${JSON.stringify(run, null, 2)}\n` : describeRun(run));
      const errors = run.repositories.filter((r) => r.outcome === 'error');
      if (errors.length > 0) {
        for (const r of errors) io.stderr.write(`signet jobs: ${terminalText(`${r.repository}: ${r.error}`)}\n`);
        // Only outages (the forge or the store down): 3, the next run may succeed; else fix the configuration.
        return errors.every((r) => r.code !== undefined && kindOfCode(r.code) === 'outage') ? EXIT_OUTAGE : EXIT_USAGE;
      }
      return run.repositories.some((r) => r.outcome === 'findings') ? EXIT_POLICY_FAILED : EXIT_OK;
    } finally {
      await store?.close();
    }
  }

  if (action === 'schedule') {
    const store = await openJobStore(io.env, io.cwd);
    const runtime = startJobsRuntime({
      env: io.env,
      configPath: values.config,
      ...(store ? { store } : {}),
      instanceId: `${process.pid}`,
      onRun: (_job, slot, run) => io.stderr.write(`${slot.toISOString()} ${describeRun(run)}`),
      onError: (job, slot, error) => io.stderr.write(`${slot.toISOString()} ${job}: ${(error as Error).message}\n`),
    })!;
    for (const { job, at } of runtime.scheduler.nextRuns()) io.stderr.write(`signet jobs: ${job} next at ${at?.toISOString() ?? '-'}\n`);
    let server: import('node:http').Server | undefined;
    if (values.listen) {
      const match = /^(?:(.*):)?(\d+)$/.exec(values.listen);
      if (!match) throw new SignetError('USAGE', `--listen takes [HOST:]PORT, not '${values.listen}'`);
      const { createServer } = await import('node:http');
      const http = createServer((req, res) => {
        runtime.handler(req, res).then(
          (handled) => {
            if (!handled) {
              res.writeHead(404, { 'content-type': 'text/plain' });
              res.end('not found\n');
            }
          },
          () => res.destroy(),
        );
      });
      server = http;
      await new Promise<void>((resolve) => http.listen(Number(match[2]), match[1] || '127.0.0.1', resolve));
      const address = http.address();
      io.stderr.write(
        `signet jobs: dashboard on http://${match[1] || '127.0.0.1'}:${typeof address === 'object' && address ? address.port : match[2]}${io.env.SIGNET_DASHBOARD_PATH ?? '/signet'}/\n`,
      );
    }
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    server?.close();
    await runtime.stop();
    await store?.close();
    return EXIT_OK;
  }
  throw new SignetError('USAGE', `unknown jobs action '${action}' (run, list or schedule)`);
}
