/**
 * What the app and the GitLab bot remember between deliveries: the first verdict of each
 * commit, an audit trail, and which check runs have been claimed, so that redeliveries and
 * several app instances on one database post each check once. SQLite by default, PostgreSQL
 * when DATABASE_URL is set; both speak the same SQL (upserts with RETURNING).
 */
import { SignetError } from '../core/errors.ts';
import type { SignatureVerdict } from '../core/verdict.ts';

export interface VerificationRecord {
  /** `github:owner/name` or `gitlab:group/project`. */
  repository: string;
  commit: string;
  verdict: SignatureVerdict;
  /** ISO time the verdict was first recorded. */
  recordedAt: string;
  ref: string;
  /** The delivery that produced it. */
  delivery: string;
}

export interface AuditEntry {
  /** ISO time. */
  at: string;
  forge: 'github' | 'gitlab';
  repository: string;
  /** `push`, `pull_request.synchronize`, … */
  event: string;
  delivery: string;
  headSha?: string;
  /** `success`, `failure`, `neutral`, `skipped`, `error`. */
  outcome: string;
  /** Small JSON-serialisable detail (counts, the error line). */
  detail?: Record<string, unknown>;
}

export interface CheckClaim {
  repository: string;
  headSha: string;
  /** What asked for the check: the delivery id, or a key shared by deliveries that ask for the same check. */
  trigger: string;
  /** Who claims it (instance id), for the audit and for debugging. */
  owner: string;
  /** A claim not completed after this long may be taken over (the instance died mid-way). */
  leaseMs: number;
  now: Date;
}

export interface SignetStore {
  readonly kind: 'sqlite' | 'postgres';
  /** First verdicts recorded for these commits of one repository. */
  lookupVerdicts(repository: string, commits: string[]): Promise<Map<string, SignatureVerdict>>;
  /** Records each verdict unless one is already recorded for that repository and commit. */
  recordFirstVerdicts(records: VerificationRecord[]): Promise<void>;
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  listAudit(repository: string, limit: number): Promise<AuditEntry[]>;
  /**
   * Atomically claims the check for (repository, headSha, trigger): true for exactly one caller
   * across every instance on the database, unless a claim was left unfinished past its lease.
   */
  claimCheck(claim: CheckClaim): Promise<boolean>;
  /** Marks a claim done: it is never taken again. */
  completeCheck(repository: string, headSha: string, trigger: string, result: { checkRunId?: string; conclusion: string }): Promise<void>;
  /** Gives a claim up (posting failed), so a redelivery may try again. */
  releaseCheck(repository: string, headSha: string, trigger: string): Promise<void>;
  close(): Promise<void>;
}

export interface StoreEnvironment {
  DATABASE_URL?: string | undefined;
  /** SQLite file; default `.data/signet.sqlite` under the working directory. */
  SIGNET_SQLITE_PATH?: string | undefined;
}

/** PostgreSQL when DATABASE_URL is set, else SQLite; drivers load only when chosen. */
export async function openStore(env: StoreEnvironment, cwd: string): Promise<SignetStore> {
  if (env.DATABASE_URL) {
    const { openPostgresStore } = await import('./sql-postgres.ts');
    return openPostgresStore(env.DATABASE_URL);
  }
  let sqlite: typeof import('./sql-sqlite.ts');
  try {
    sqlite = await import('./sql-sqlite.ts');
  } catch (error) {
    // The single executable carries no native addon; from node, a broken install.
    throw new SignetError(
      'STORE_UNAVAILABLE',
      `the sqlite store is unavailable: better-sqlite3 cannot be loaded (${(error as Error).message.split('\n')[0]}); ` +
        `${typeof SIGNET_SEA !== 'undefined' && SIGNET_SEA ? 'the single executable has no SQLite driver: use --database URL (PostgreSQL) or run signet from node' : 'run npm ci'}`,
      { cause: error },
    );
  }
  const { openSqliteStore } = sqlite;
  const { resolve } = await import('node:path');
  return openSqliteStore(resolve(cwd, env.SIGNET_SQLITE_PATH ?? '.data/signet.sqlite'));
}

/** Defined true by the single executable's build (scripts/build-sea.mjs). */
declare const SIGNET_SEA: boolean | undefined;
