import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignatureVerdict } from '../core/verdict.ts';

export interface VerdictRecord {
  commit: string;
  verdict: SignatureVerdict;
  /** ISO time the server first accepted this commit. */
  acceptedAt: string;
  ref: string;
  pusher: string;
}

/**
 * The server's memory of first verdicts: one small file per commit, laid out like git's loose
 * objects, so a lookup is one read and a push writes only its own commits. A file format, not
 * a database, because the hook is a single executable that cannot load native addons.
 */
export class VerdictRecords {
  constructor(readonly directory: string) {}

  lookup(commit: string): VerdictRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.pathOf(commit), 'utf8')) as VerdictRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Records the first verdict only: an existing record is never overwritten. */
  recordFirst(record: VerdictRecord): void {
    const path = this.pathOf(record.commit);
    if (this.lookup(record.commit)) return;
    mkdirSync(join(this.directory, record.commit.slice(0, 2)), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(record));
    renameSync(temporary, path);
  }

  private pathOf(commit: string): string {
    return join(this.directory, commit.slice(0, 2), commit.slice(2));
  }
}
