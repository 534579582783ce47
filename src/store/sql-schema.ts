/**
 * The tables both SQL stores use. Written once in the SQL the two engines share; the
 * PostgreSQL store swaps the audit key for BIGSERIAL. Claims keep `claimed_at` in
 * milliseconds so lease arithmetic is plain integer comparison on both engines.
 */
export function schemaStatements(engine: 'sqlite' | 'postgres'): string[] {
  const auditId = engine === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  return [
    `CREATE TABLE IF NOT EXISTS signet_verdicts (
      repository TEXT NOT NULL,
      commit_id TEXT NOT NULL,
      verdict TEXT NOT NULL,
      recorded_at TEXT NOT NULL,
      ref TEXT NOT NULL,
      delivery TEXT NOT NULL,
      PRIMARY KEY (repository, commit_id)
    )`,
    `CREATE TABLE IF NOT EXISTS signet_audit (
      id ${auditId},
      at TEXT NOT NULL,
      forge TEXT NOT NULL,
      repository TEXT NOT NULL,
      event TEXT NOT NULL,
      delivery TEXT NOT NULL,
      head_sha TEXT,
      outcome TEXT NOT NULL,
      detail TEXT
    )`,
    'CREATE INDEX IF NOT EXISTS signet_audit_by_repository ON signet_audit (repository, id)',
    `CREATE TABLE IF NOT EXISTS signet_check_claims (
      repository TEXT NOT NULL,
      head_sha TEXT NOT NULL,
      trigger_key TEXT NOT NULL,
      owner TEXT NOT NULL,
      state TEXT NOT NULL,
      claimed_at BIGINT NOT NULL,
      check_run_id TEXT,
      conclusion TEXT,
      PRIMARY KEY (repository, head_sha, trigger_key)
    )`,
  ];
}

/**
 * One statement claims a check on both engines: insert, or take over a claim whose lease ran
 * out; a row comes back only for the caller that now owns the claim. PostgreSQL serialises the
 * conflicting inserts on the primary key, so two instances never both get a row.
 */
export const CLAIM_SQL = `INSERT INTO signet_check_claims (repository, head_sha, trigger_key, owner, state, claimed_at)
  VALUES ($1, $2, $3, $4, 'claimed', $5)
  ON CONFLICT (repository, head_sha, trigger_key) DO UPDATE SET owner = excluded.owner, claimed_at = excluded.claimed_at
  WHERE signet_check_claims.state = 'claimed' AND signet_check_claims.claimed_at < $6
  RETURNING owner`;

export const COMPLETE_SQL = `UPDATE signet_check_claims SET state = 'done', check_run_id = $4, conclusion = $5
  WHERE repository = $1 AND head_sha = $2 AND trigger_key = $3`;

export const RELEASE_SQL = `DELETE FROM signet_check_claims WHERE repository = $1 AND head_sha = $2 AND trigger_key = $3 AND state = 'claimed'`;

export const RECORD_VERDICT_SQL = `INSERT INTO signet_verdicts (repository, commit_id, verdict, recorded_at, ref, delivery)
  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (repository, commit_id) DO NOTHING`;

export const APPEND_AUDIT_SQL = `INSERT INTO signet_audit (at, forge, repository, event, delivery, head_sha, outcome, detail)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;

export const LIST_AUDIT_SQL = `SELECT at, forge, repository, event, delivery, head_sha, outcome, detail FROM signet_audit
  WHERE repository = $1 ORDER BY id DESC LIMIT $2`;

export interface AuditRow {
  at: string;
  forge: string;
  repository: string;
  event: string;
  delivery: string;
  head_sha: string | null;
  outcome: string;
  detail: string | null;
}

/** PostgreSQL numbers parameters `$N`; better-sqlite3 binds numbered ones only by name, so `$N` becomes `@pN`. */
export function toSqliteParameters(sql: string): string {
  return sql.replace(/\$(\d+)/g, '@p$1');
}

/** The values of `$1…$N` as better-sqlite3's named parameters. */
export function sqliteParameters(...values: unknown[]): Record<string, unknown> {
  return Object.fromEntries(values.map((value, index) => [`p${index + 1}`, value]));
}

export function auditFromRow(row: AuditRow): import('./store.ts').AuditEntry {
  return {
    at: row.at,
    forge: row.forge === 'gitlab' ? 'gitlab' : 'github',
    repository: row.repository,
    event: row.event,
    delivery: row.delivery,
    ...(row.head_sha ? { headSha: row.head_sha } : {}),
    outcome: row.outcome,
    ...(row.detail ? { detail: JSON.parse(row.detail) as Record<string, unknown> } : {}),
  };
}
