/**
 * The audit trail as one stream of records, whoever decided: the pre-receive hook (pino JSON
 * lines in `<repo>/signet/audit.log`), the app and the GitLab bot (the store's audit table),
 * `/sign-release` (recorded by the app) and the jobs (pino JSON lines in the jobs' audit log).
 * Append-only at every source; `signet audit export` merges them by time.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import pino from 'pino';
import type { AuditEntry } from '../store/store.ts';

export interface AuditRecord {
  /** ISO time of the decision. */
  at: string;
  /** Who decided: `hook`, `github-app`, `gitlab-bot`, `jobs`. */
  source: string;
  /** Who asked: the pusher, the webhook sender, the job's scheduler. */
  actor: string;
  /** What was decided about: `push`, `pull_request.synchronize`, `job:key-expiry`, … */
  action: string;
  repository: string;
  /** What was decided: `accepted`, `rejected`, `success`, `failure`, `findings`, `ok`, `error`, … */
  verdict: string;
  /** A ref, when the decision is about one. */
  ref?: string;
  detail?: Record<string, unknown>;
}

/** Writes job decisions as JSON lines, synchronously and appending, as the hook does. */
export function jobAuditLog(path: string): { write(record: Omit<AuditRecord, 'source'>): void } {
  const logger = pino(
    { base: { component: 'jobs' }, timestamp: false, messageKey: 'message' },
    pino.destination({ dest: path, sync: true, mkdir: true, append: true }),
  );
  return {
    write(record) {
      logger.info({ ...record, source: 'jobs' });
    },
  };
}

/** A hook audit line → a record; undefined for lines that are not decisions. */
export function fromHookLine(line: Record<string, unknown>): AuditRecord | undefined {
  if (line.component === 'jobs' && line.source === 'jobs' && typeof line.at === 'string') {
    const { level: _level, component: _component, ...record } = line;
    return record as unknown as AuditRecord;
  }
  const at = typeof line.time === 'string' ? line.time : typeof line.time === 'number' ? new Date(line.time).toISOString() : undefined;
  if (!at) return undefined;
  if (line.component !== 'pre-receive') return undefined;
  const commits = Array.isArray(line.commits) ? (line.commits as Array<{ status?: string; accepted?: boolean }>) : [];
  const letters: Record<string, number> = {};
  for (const commit of commits) if (commit.status) letters[commit.status] = (letters[commit.status] ?? 0) + 1;
  const verdict = line.event === 'push-error' ? 'error' : line.allowed === true ? 'accepted' : 'rejected';
  return {
    at,
    source: 'hook',
    actor: String(line.pusher ?? 'unknown'),
    action: String(line.event ?? 'push'),
    repository: String(line.repository ?? 'unknown'),
    verdict,
    ...(typeof line.ref === 'string' ? { ref: line.ref } : {}),
    detail: {
      ...(line.old !== undefined ? { old: line.old } : {}),
      ...(line.new !== undefined ? { new: line.new } : {}),
      ...(line.host !== undefined ? { host: line.host } : {}),
      ...(commits.length > 0 ? { commits: commits.length, letters, rejectedCommits: commits.filter((c) => c.accepted === false).length } : {}),
      ...(Array.isArray(line.violations) && line.violations.length > 0 ? { violations: line.violations } : {}),
      ...(line.error !== undefined ? { error: line.error } : {}),
      ...(Array.isArray(line.updates) ? { updates: line.updates } : {}),
    },
  };
}

/** A row of the store's audit table → a record. */
export function fromStoreEntry(entry: AuditEntry): AuditRecord {
  const sender = entry.detail?.sender ?? entry.detail?.actor;
  const { sender: _sender, actor: _actor, ref, ...detail } = entry.detail ?? {};
  return {
    at: entry.at,
    source: entry.event.startsWith('job:') ? 'jobs' : entry.forge === 'gitlab' ? 'gitlab-bot' : 'github-app',
    actor: typeof sender === 'string' ? sender : entry.forge,
    action: entry.event,
    repository: entry.repository,
    verdict: entry.outcome,
    ...(typeof ref === 'string' ? { ref } : {}),
    detail: { delivery: entry.delivery, ...(entry.headSha ? { headSha: entry.headSha } : {}), ...detail },
  };
}

export interface AuditWindow {
  since: Date;
  until?: Date;
}

export function inWindow(record: AuditRecord, window: AuditWindow): boolean {
  const at = Date.parse(record.at);
  return at >= window.since.getTime() && (window.until === undefined || at < window.until.getTime());
}

/** Reads JSON-lines audit logs (hook or jobs), keeping the decisions in the window. */
/**
 * @param repository the repository the log belongs to (a hook log found through --repo): fills
 * the records that do not name one (written before the hook recorded it on plain git servers).
 */
export async function readAuditLog(path: string, window: AuditWindow, onProblem: (message: string) => void, repository?: string): Promise<AuditRecord[]> {
  if (!existsSync(path)) {
    onProblem(`${path}: no such audit log`);
    return [];
  }
  const records: AuditRecord[] = [];
  let number = 0;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      onProblem(`${path}:${number}: not a JSON line, skipped`);
      continue;
    }
    const record = parsed && typeof parsed === 'object' ? fromHookLine(parsed as Record<string, unknown>) : undefined;
    if (record && repository && record.repository === 'unknown') record.repository = repository;
    if (record && inWindow(record, window)) records.push(record);
  }
  return records;
}

/** Oldest first; records at the same instant keep their source order. */
export function mergeByTime(...sources: AuditRecord[][]): AuditRecord[] {
  return sources
    .flat()
    .map((record, index) => ({ record, index }))
    .sort((a, b) => Date.parse(a.record.at) - Date.parse(b.record.at) || a.index - b.index)
    .map(({ record }) => record);
}
