import pg from 'pg';
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
  type AuditRow,
} from './sql-schema.ts';
import type { AuditEntry, CheckClaim, SignetStore, VerificationRecord } from './store.ts';
import { guardStore, storeUnavailable } from './store-unavailable.ts';

/** Any fixed number: the key of the advisory lock instances take while creating the schema. */
const SCHEMA_LOCK = 0x5169_6e65;

/**
 * The shared store for several app instances: claims are decided by PostgreSQL's unique key,
 * so two instances that get the same delivery (or a redelivery) post one check run.
 */
export async function openPostgresStore(connectionString: string): Promise<SignetStore> {
  const pool = new pg.Pool({ connectionString, max: 5, connectionTimeoutMillis: 10_000 });
  // An idle client that loses its server must not crash the process.
  pool.on('error', () => {});
  const client = await pool.connect().catch(async (error: unknown) => {
    await pool.end().catch(() => {});
    throw storeUnavailable('postgres', error);
  });
  try {
    // Two instances starting together would race on CREATE TABLE IF NOT EXISTS.
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    for (const statement of schemaStatements('postgres')) await client.query(statement);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }

  return guardStore<SignetStore>({
    kind: 'postgres',
    async lookupVerdicts(repository: string, commits: string[]): Promise<Map<string, SignatureVerdict>> {
      const found = new Map<string, SignatureVerdict>();
      if (commits.length === 0) return found;
      const { rows } = await pool.query<{ commit_id: string; verdict: string }>(
        'SELECT commit_id, verdict FROM signet_verdicts WHERE repository = $1 AND commit_id = ANY($2::text[])',
        [repository, commits],
      );
      for (const row of rows) found.set(row.commit_id, JSON.parse(row.verdict) as SignatureVerdict);
      return found;
    },
    async recordFirstVerdicts(records: VerificationRecord[]): Promise<void> {
      if (records.length === 0) return;
      const db = await pool.connect();
      try {
        await db.query('BEGIN');
        for (const r of records) await db.query(RECORD_VERDICT_SQL, [r.repository, r.commit, JSON.stringify(r.verdict), r.recordedAt, r.ref, r.delivery]);
        await db.query('COMMIT');
      } catch (error) {
        await db.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        db.release();
      }
    },
    async appendAudit(entry: AuditEntry): Promise<void> {
      await pool.query(APPEND_AUDIT_SQL, [
        entry.at,
        entry.forge,
        entry.repository,
        entry.event,
        entry.delivery,
        entry.headSha ?? null,
        entry.outcome,
        entry.detail ? JSON.stringify(entry.detail) : null,
      ]);
    },
    async listAudit(repository: string, limit: number): Promise<AuditEntry[]> {
      const { rows } = await pool.query<AuditRow>(LIST_AUDIT_SQL, [repository, limit]);
      return rows.map(auditFromRow);
    },
    async claimCheck(c: CheckClaim): Promise<boolean> {
      const now = c.now.getTime();
      const { rowCount } = await pool.query(CLAIM_SQL, [c.repository, c.headSha, c.trigger, c.owner, now, now - c.leaseMs]);
      return rowCount === 1;
    },
    async completeCheck(repository, headSha, trigger, result): Promise<void> {
      await pool.query(COMPLETE_SQL, [repository, headSha, trigger, result.checkRunId ?? null, result.conclusion]);
    },
    async releaseCheck(repository, headSha, trigger): Promise<void> {
      await pool.query(RELEASE_SQL, [repository, headSha, trigger]);
    },
    async close(): Promise<void> {
      await pool.end();
    },
  });
}
