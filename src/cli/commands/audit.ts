import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SignetError } from '../../core/errors.ts';
import { configValue, readGitConfig } from '../../git/git-config.ts';
import { openRepository } from '../../git/repository.ts';
import { fromStoreEntry, inWindow, mergeByTime, readAuditLog, type AuditRecord } from '../../jobs/audit-trail.ts';
import { readJobsConfig } from '../../jobs/config.ts';
import type { AuditWindowQuery } from '../../jobs/ports.ts';
import { parseDateOption } from '../../report/dates.ts';
import type { SignetStore } from '../../store/store.ts';
import { LineWriter } from '../line-writer.ts';
import { EXIT_OK, type CliIO } from '../io.ts';

const HELP = `usage: signet audit export --since DATE [--until DATE] [--log FILE]… [--repo DIR]…
                           [--config FILE] [--database URL | --sqlite FILE]
                           [--store-repository NAME]…

Prints the audit trail as JSON lines, oldest first: every decision of the pre-receive hook,
the GitHub App and GitLab bot (from the store), and the scheduled jobs — who, what, when,
verdict. Each source is append-only; this merges them by time.

  --since DATE              start (2026-01-31, an ISO time, or 30d / 12w / 6h ago)
  --until DATE              end (exclusive); default now
  --log FILE                a JSON-lines audit log (hook or jobs; repeatable)
  --repo DIR                a repository with the hook installed: its signet audit log
                            (git config signet.auditLog, default <git dir>/signet/audit.log)
  --config FILE             jobs configuration: the jobs' audit log, the hook logs of its
                            repositories, and its forge repositories in the store
  --database URL            the app's PostgreSQL store (default DATABASE_URL)
  --sqlite FILE             the app's SQLite store
  --store-repository NAME   store rows of this repository (github:owner/name, gitlab:group/project)

Record: {"at","source","actor","action","repository","verdict","ref"?,"detail"?}
`;

export async function runAudit(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      since: { type: 'string' },
      until: { type: 'string' },
      log: { type: 'string', multiple: true },
      repo: { type: 'string', multiple: true },
      config: { type: 'string' },
      database: { type: 'string' },
      sqlite: { type: 'string' },
      'store-repository': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT_OK;
  }
  if (positionals[0] !== 'export' || positionals.length !== 1) throw new SignetError('USAGE', "audit takes one action: export (see 'signet audit --help')");
  if (!values.since) throw new SignetError('USAGE', '--since DATE is required (e.g. --since 2026-01-01 or --since 7d)');
  const now = new Date();
  const window = { since: parseDateOption('since', values.since, now), ...(values.until ? { until: parseDateOption('until', values.until, now) } : {}) };

  const explicit = (values.log ?? []).map((file) => resolve(io.cwd, file));
  for (const file of explicit) if (!existsSync(file)) throw new SignetError('USAGE', `--log ${file}: no such file`);
  // Logs found through --repo and --config may not exist yet (no push, no job run so far).
  const logs = new Set(explicit);
  const repositories = new Set(values['store-repository'] ?? []);
  const repos = [...(values.repo ?? [])];
  // Run inside a repository with nothing named: that repository's hook log, as a person expects.
  if (explicit.length === 0 && repos.length === 0 && !values.config && !values.database && !io.env.DATABASE_URL && !values.sqlite) {
    try {
      repos.push(openRepository({ cwd: io.cwd, env: io.env }).commonDir);
    } catch {
      // not in a repository: the usage error below says what to give
    }
  }
  /** Which repository each hook log belongs to, to fill records that do not say. */
  const logRepository = new Map<string, string>();
  if (values.config) {
    const config = readJobsConfig(values.config, io.cwd);
    logs.add(config.auditLog);
    for (const repository of config.repositories) {
      repos.push(repository.path);
      if (repository.forge) repositories.add(`${repository.forge.type}:${repository.forge.project}`);
    }
  }
  for (const path of repos) {
    const repo = openRepository({ path, cwd: io.cwd, env: {} });
    const configured = configValue(readGitConfig(join(repo.commonDir, 'config')), 'signet.auditLog');
    const log = configured ? resolve(repo.commonDir, configured) : join(repo.commonDir, 'signet', 'audit.log');
    logs.add(log);
    logRepository.set(log, configValue(readGitConfig(join(repo.commonDir, 'config')), 'signet.repository') ?? repo.commonDir);
  }
  const databaseUrl = values.database ?? io.env.DATABASE_URL;
  if (logs.size === 0 && !databaseUrl && !values.sqlite)
    throw new SignetError('USAGE', 'nothing to export from: not inside a repository, and no --log, --repo, --config, --database or --sqlite given');

  const problems: string[] = [];
  const sources: AuditRecord[][] = [];
  for (const log of logs) if (existsSync(log)) sources.push(await readAuditLog(log, window, (problem) => problems.push(problem), logRepository.get(log)));
  if (databaseUrl || values.sqlite) {
    const store = await openAuditStore(databaseUrl, values.sqlite, io.cwd);
    try {
      const query = store as SignetStore & AuditWindowQuery;
      if (query.listAuditSince) {
        sources.push((await query.listAuditSince(window.since.toISOString(), window.until?.toISOString())).map(fromStoreEntry));
      } else {
        if (repositories.size === 0) problems.push('the store lists audit rows per repository: name them with --store-repository or --config');
        for (const repository of repositories) {
          const entries = await store.listAudit(repository, 100_000);
          sources.push(entries.map(fromStoreEntry).filter((record) => inWindow(record, window)));
        }
      }
    } finally {
      await store.close();
    }
  }
  const out = new LineWriter(io.stdout);
  for (const record of mergeByTime(...sources)) await out.line(JSON.stringify(record));
  await out.flush();
  for (const problem of problems) io.stderr.write(`signet audit: ${problem}\n`);
  return EXIT_OK;
}

async function openAuditStore(databaseUrl: string | undefined, sqlite: string | undefined, cwd: string): Promise<SignetStore> {
  const { openStore } = await import('../../store/store.ts');
  return openStore(sqlite ? { SIGNET_SQLITE_PATH: sqlite } : { DATABASE_URL: databaseUrl }, cwd);
}
