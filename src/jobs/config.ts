/**
 * The jobs configuration (YAML): which repositories to watch, where their forge issues go, and
 * when each job runs. Every field is checked and an unknown one is an error that names it, as
 * the policy parser does: a misspelt `within_dayz` silently ignored would hide expiring keys.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { validate as validateCron } from 'node-cron';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import { SignetError } from '../core/errors.ts';

export const JOB_NAMES = ['key-expiry', 'revocation-sweep', 'compliance-report'] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface ForgeTarget {
  type: 'github' | 'gitlab';
  /** GitHub `owner/name`; GitLab project path (`group/project`) or numeric id. */
  project: string;
  /** REST API root: `https://api.github.com`, `https://gitlab.example.com/api/v4`. */
  apiUrl: string;
  /** Environment variable holding the token (never the token itself in the file). */
  tokenEnv: string;
}

export interface WatchedRepository {
  /** How it is named in reports, issues and the audit trail: `github:owner/name` style or free text. */
  name: string;
  path: string;
  policy?: string;
  keyrings: string[];
  allowedSigners?: string;
  revokedKeys?: string;
  forge?: ForgeTarget;
}

export interface JobSettings {
  /** cron expression (node-cron: 5 or 6 fields); undefined: run by hand only. */
  schedule?: string;
}

export interface JobsConfig {
  source: string;
  stateDir: string;
  auditLog: string;
  timezone: string;
  repositories: WatchedRepository[];
  jobs: {
    'key-expiry': JobSettings & {
      withinDays: number;
      label: string;
      /** With `forge_accounts: true`: check the forge keys of accounts that committed within this many days. */ forgeAccountsDays: number;
    };
    'revocation-sweep': JobSettings & { lookbackDays: number; label: string };
    'compliance-report': JobSettings & { periodDays: number; publish: 'issue' | 'none'; label: string };
  };
  dashboard: { tokenEnv: string; user: string };
}

const TOP = ['state_dir', 'audit_log', 'timezone', 'repositories', 'jobs', 'dashboard'];
const REPOSITORY = ['name', 'path', 'policy', 'keyrings', 'allowed_signers', 'revoked_keys', 'forge'];
const FORGE = ['type', 'project', 'api_url', 'token_env'];
const JOB_FIELDS: Record<JobName, string[]> = {
  'key-expiry': ['schedule', 'within_days', 'label', 'forge_accounts_days'],
  'revocation-sweep': ['schedule', 'lookback_days', 'label'],
  'compliance-report': ['schedule', 'period_days', 'publish', 'label'],
};
const DASHBOARD = ['token_env', 'user'];

class ConfigReader {
  constructor(
    readonly doc: Document,
    readonly lines: LineCounter,
    readonly source: string,
  ) {}

  fail(path: Array<string | number>, message: string): never {
    const node = this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const at = node?.range ? this.lines.linePos(node.range[0]) : undefined;
    const field = path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index > 0 ? '.' : ''}${part}`)).join('');
    throw new SignetError('CONFIG_INVALID', `${this.source}${at ? `:${at.line}:${at.col}` : ''}: ${field ? `${field}: ` : ''}${message}`);
  }

  object(value: unknown, path: Array<string | number>, fields: string[]): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(path, 'must be a mapping');
    for (const key of Object.keys(value)) if (!fields.includes(key)) this.fail([...path, key], `unknown field (known: ${fields.join(', ')})`);
    return value as Record<string, unknown>;
  }

  string(value: unknown, path: Array<string | number>, required = false): string | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(path, 'is required');
      return undefined;
    }
    if (typeof value === 'number' && path.at(-1) === 'project') return String(value);
    if (typeof value !== 'string' || value.trim() === '') this.fail(path, 'must be a non-empty string');
    return value;
  }

  positive(value: unknown, path: Array<string | number>, fallback: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) this.fail(path, 'must be a whole number ≥ 1');
    return value;
  }
}

export function parseJobsConfig(text: string, source: string): JobsConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const reader: ConfigReader = new ConfigReader(doc, lines, source);
  const error = doc.errors[0];
  if (error) {
    const at = lines.linePos(error.pos[0]);
    throw new SignetError('CONFIG_INVALID', `${source}:${at.line}:${at.col}: YAML: ${error.message.split('\n')[0]}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) reader.fail([], 'the jobs configuration must be a mapping');
  const top = reader.object(doc.toJS(), [], TOP);
  const base = dirname(resolve(source));
  const path = (value: string | undefined): string | undefined => (value === undefined ? undefined : resolve(base, value));
  const stateDir = path(reader.string(top.state_dir, ['state_dir'])) ?? resolve(base, '.signet-jobs');
  const timezone = reader.string(top.timezone, ['timezone']) ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    reader.fail(['timezone'], `unknown time zone '${timezone}' (use an IANA name such as UTC or Europe/Berlin)`);
  }

  if (top.repositories !== undefined && !Array.isArray(top.repositories)) reader.fail(['repositories'], 'must be a list');
  const names = new Set<string>();
  const repositories = ((top.repositories ?? []) as unknown[]).map((entry, index): WatchedRepository => {
    const at = ['repositories', index];
    const r = reader.object(entry, at, REPOSITORY);
    const name = reader.string(r.name, [...at, 'name'], true)!;
    if (names.has(name)) reader.fail([...at, 'name'], `'${name}' is listed twice`);
    names.add(name);
    if (r.keyrings !== undefined && (!Array.isArray(r.keyrings) || r.keyrings.some((k) => typeof k !== 'string')))
      reader.fail([...at, 'keyrings'], 'must be a list of file names');
    const policy = path(reader.string(r.policy, [...at, 'policy']));
    const allowedSigners = path(reader.string(r.allowed_signers, [...at, 'allowed_signers']));
    const revokedKeys = path(reader.string(r.revoked_keys, [...at, 'revoked_keys']));
    let forge: ForgeTarget | undefined;
    if (r.forge !== undefined) {
      const f = reader.object(r.forge, [...at, 'forge'], FORGE);
      const written = reader.string(f.type, [...at, 'forge', 'type'], true);
      if (written !== 'github' && written !== 'gitlab') reader.fail([...at, 'forge', 'type'], `must be github or gitlab, not '${written}'`);
      const type: ForgeTarget['type'] = written;
      const project = reader.string(f.project, [...at, 'forge', 'project'], true)!;
      if (type === 'github' && !/^[^/\s]+\/[^/\s]+$/.test(project))
        reader.fail([...at, 'forge', 'project'], `a GitHub repository is owner/name, not '${project}'`);
      forge = {
        type,
        project,
        apiUrl: (reader.string(f.api_url, [...at, 'forge', 'api_url']) ?? (type === 'github' ? 'https://api.github.com' : 'https://gitlab.com/api/v4')).replace(
          /\/+$/,
          '',
        ),
        tokenEnv: reader.string(f.token_env, [...at, 'forge', 'token_env']) ?? (type === 'github' ? 'GITHUB_TOKEN' : 'GITLAB_TOKEN'),
      };
    }
    return {
      name,
      path: path(reader.string(r.path, [...at, 'path'], true))!,
      ...(policy ? { policy } : {}),
      keyrings: ((r.keyrings ?? []) as string[]).map((file) => resolve(base, file)),
      ...(allowedSigners ? { allowedSigners } : {}),
      ...(revokedKeys ? { revokedKeys } : {}),
      ...(forge ? { forge } : {}),
    };
  });

  const jobs = reader.object(top.jobs, ['jobs'], [...JOB_NAMES]);
  const settings = (name: JobName): Record<string, unknown> & JobSettings => {
    const job = reader.object(jobs[name], ['jobs', name], JOB_FIELDS[name]);
    const schedule = reader.string(job.schedule, ['jobs', name, 'schedule']);
    if (schedule !== undefined && !validateCron(schedule))
      reader.fail(['jobs', name, 'schedule'], `'${schedule}' is not a cron expression (minute hour day month weekday, e.g. "0 6 * * *")`);
    return { ...job, ...(schedule ? { schedule } : {}) };
  };
  const expiry = settings('key-expiry');
  const sweep = settings('revocation-sweep');
  const report = settings('compliance-report');
  const publishText = reader.string(report.publish, ['jobs', 'compliance-report', 'publish']) ?? 'none';
  if (publishText !== 'issue' && publishText !== 'none') reader.fail(['jobs', 'compliance-report', 'publish'], `must be issue or none, not '${publishText}'`);
  const publish: 'issue' | 'none' = publishText;
  const dashboard = reader.object(top.dashboard, ['dashboard'], DASHBOARD);

  return {
    source,
    stateDir,
    auditLog: path(reader.string(top.audit_log, ['audit_log'])) ?? resolve(stateDir, 'audit.log'),
    timezone,
    repositories,
    jobs: {
      'key-expiry': {
        ...(expiry.schedule ? { schedule: expiry.schedule } : {}),
        withinDays: reader.positive(expiry.within_days, ['jobs', 'key-expiry', 'within_days'], 30),
        label: reader.string(expiry.label, ['jobs', 'key-expiry', 'label']) ?? 'signet:key-expiry',
        forgeAccountsDays: reader.positive(expiry.forge_accounts_days, ['jobs', 'key-expiry', 'forge_accounts_days'], 90),
      },
      'revocation-sweep': {
        ...(sweep.schedule ? { schedule: sweep.schedule } : {}),
        lookbackDays: reader.positive(sweep.lookback_days, ['jobs', 'revocation-sweep', 'lookback_days'], 365),
        label: reader.string(sweep.label, ['jobs', 'revocation-sweep', 'label']) ?? 'signet:revoked-key',
      },
      'compliance-report': {
        ...(report.schedule ? { schedule: report.schedule } : {}),
        periodDays: reader.positive(report.period_days, ['jobs', 'compliance-report', 'period_days'], 7),
        publish,
        label: reader.string(report.label, ['jobs', 'compliance-report', 'label']) ?? 'signet:compliance-report',
      },
    },
    dashboard: {
      tokenEnv: reader.string(dashboard.token_env, ['dashboard', 'token_env']) ?? 'SIGNET_DASHBOARD_TOKEN',
      user: reader.string(dashboard.user, ['dashboard', 'user']) ?? 'signet',
    },
  };
}

export function readJobsConfig(file: string, cwd: string): JobsConfig {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SignetError(
      'CONFIG_INVALID',
      `${path}: cannot read the jobs configuration (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  return parseJobsConfig(text, path);
}
