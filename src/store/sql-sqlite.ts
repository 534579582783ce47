import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { SignatureVerdict } from '../core/verdict.ts';
import {
  APPEND_AUDIT_SQL,
  CLAIM_SQL,
  COMPLETE_SQL,
  LIST_AUDIT_SQL,
  RECORD_VERDICT_SQL,
  RELEASE_SQL,
  auditFromRow,
  schemaStatements,
  sqliteParameters,
  toSqliteParameters,
  type AuditRow,
} from './sql-schema.ts';
import type { AuditEntry, CheckClaim, SignetStore, VerificationRecord } from './store.ts';
import { guardStore, storeUnavailable } from './store-unavailable.ts';

/**
 * The default store: one SQLite file, WAL mode so readers never wait for the writer. One
 * process owns the file; several app instances need the PostgreSQL store.
 */
export function openSqliteStore(path: string): SignetStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const binding = nativeBindingForThisNode();
  let db: Database.Database;
  try {
    db = new Database(path, binding ? { nativeBinding: binding } : {});
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    for (const statement of schemaStatements('sqlite')) db.exec(statement);
  } catch (error) {
    throw storeUnavailable('sqlite', error);
  }
  const sql = (text: string) => db.prepare(toSqliteParameters(text));
  const claim = sql(CLAIM_SQL);
  const complete = sql(COMPLETE_SQL);
  const release = sql(RELEASE_SQL);
  const record = sql(RECORD_VERDICT_SQL);
  const audit = sql(APPEND_AUDIT_SQL);
  const listAudit = sql(LIST_AUDIT_SQL);
  const recordAll = db.transaction((records: VerificationRecord[]) => {
    for (const r of records) record.run(sqliteParameters(r.repository, r.commit, JSON.stringify(r.verdict), r.recordedAt, r.ref, r.delivery));
  });

  return guardStore<SignetStore>({
    kind: 'sqlite',
    async lookupVerdicts(repository: string, commits: string[]): Promise<Map<string, SignatureVerdict>> {
      const found = new Map<string, SignatureVerdict>();
      // SQLite allows 32 766 parameters a statement; stay far below.
      for (let start = 0; start < commits.length; start += 500) {
        const chunk = commits.slice(start, start + 500);
        const rows = db
          .prepare(`SELECT commit_id, verdict FROM signet_verdicts WHERE repository = ? AND commit_id IN (${chunk.map(() => '?').join(',')})`)
          .all(repository, ...chunk) as Array<{ commit_id: string; verdict: string }>;
        for (const row of rows) found.set(row.commit_id, JSON.parse(row.verdict) as SignatureVerdict);
      }
      return found;
    },
    async recordFirstVerdicts(records: VerificationRecord[]): Promise<void> {
      recordAll(records);
    },
    async appendAudit(entry: AuditEntry): Promise<void> {
      audit.run(
        sqliteParameters(
          entry.at,
          entry.forge,
          entry.repository,
          entry.event,
          entry.delivery,
          entry.headSha ?? null,
          entry.outcome,
          entry.detail ? JSON.stringify(entry.detail) : null,
        ),
      );
    },
    async listAudit(repository: string, limit: number): Promise<AuditEntry[]> {
      return (listAudit.all(sqliteParameters(repository, limit)) as AuditRow[]).map(auditFromRow);
    },
    async claimCheck(c: CheckClaim): Promise<boolean> {
      const now = c.now.getTime();
      return claim.get(sqliteParameters(c.repository, c.headSha, c.trigger, c.owner, now, now - c.leaseMs)) !== undefined;
    },
    async completeCheck(repository, headSha, trigger, result): Promise<void> {
      complete.run(sqliteParameters(repository, headSha, trigger, result.checkRunId ?? null, result.conclusion));
    },
    async releaseCheck(repository, headSha, trigger): Promise<void> {
      release.run(sqliteParameters(repository, headSha, trigger));
    },
    async close(): Promise<void> {
      db.close();
    },
  });
}

/**
 * better-sqlite3's addon is compiled for one Node ABI (npm ci builds it for the Node that runs
 * it). scripts/build-native-abi.mjs builds it for another Node (CI runs the suite on Node 20 and
 * 24 from one install) into `build-abi<N>/` beside the default build; the addon for this
 * process's ABI is taken from there when it exists, else the default one.
 */
function nativeBindingForThisNode(): string | undefined {
  try {
    const packageDir = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
    const candidate = join(packageDir, `build-abi${process.versions.modules}`, 'Release', 'better_sqlite3.node');
    return existsSync(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}
