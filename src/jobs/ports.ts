/**
 * What the jobs need from the outside, as small interfaces so each can be faked in tests.
 *
 * - `JobStore`: the part of the app's store (src/store/store.ts) the jobs use: check-run claims
 *   double as job locks (one claim per job and scheduled slot), and job decisions join the
 *   audit trail. Both SQL stores implement it as they are.
 * - `JobState`: small JSON documents the jobs keep between runs (the registry snapshot the
 *   revocation sweep diffs against, the latest findings and reports the dashboard shows). The
 *   store has no table for these yet, so they live as files under the jobs' `state_dir`; with
 *   several replicas that directory must be shared (or the store must grow a key-value table:
 *   `getJobState(key)` / `putJobState(key, json)` is all this needs).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SignetStore } from '../store/store.ts';

export type JobStore = Pick<SignetStore, 'claimCheck' | 'completeCheck' | 'releaseCheck' | 'appendAudit' | 'listAudit'>;

export interface JobState {
  read<T>(key: string): Promise<T | undefined>;
  write(key: string, value: unknown): Promise<void>;
}

/** Keys are relative paths such as `snapshots/acme-widgets.json`. */
export function fileJobState(directory: string): JobState {
  const pathOf = (key: string): string => {
    if (key.split('/').some((part) => part === '..' || part === '')) throw new Error(`bad state key '${key}'`);
    return join(directory, key);
  };
  return {
    async read<T>(key: string): Promise<T | undefined> {
      try {
        return JSON.parse(readFileSync(pathOf(key), 'utf8')) as T;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async write(key: string, value: unknown): Promise<void> {
      const path = pathOf(key);
      mkdirSync(dirname(path), { recursive: true });
      // Unguessable and created exclusively: a symlink planted at a predictable name is never written through.
      const temporary = `${path}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
      writeFileSync(temporary, typeof value === 'string' ? value : `${JSON.stringify(value, null, 2)}\n`, { flag: 'wx' });
      renameSync(temporary, path);
    },
  };
}

export function memoryJobState(): JobState & { entries: Map<string, unknown> } {
  const entries = new Map<string, unknown>();
  return {
    entries,
    async read<T>(key: string): Promise<T | undefined> {
      const value = entries.get(key);
      return value === undefined ? undefined : (structuredClone(value) as T);
    },
    async write(key: string, value: unknown): Promise<void> {
      entries.set(key, structuredClone(value));
    },
  };
}

/** A file-safe name for a repository: `github:acme/widgets` → `github-acme-widgets`. */
export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'repository';
}

/**
 * Audit rows of every repository in a time window. The store lists audit rows per repository
 * only (`listAudit(repository, limit)`); a store that also offers this is used for
 * `signet audit export` without naming repositories. Suggested for src/store:
 * `SELECT … FROM signet_audit WHERE at >= $1 AND at < $2 ORDER BY id`.
 */
export interface AuditWindowQuery {
  listAuditSince?(since: string, until?: string): Promise<import('../store/store.ts').AuditEntry[]>;
}
