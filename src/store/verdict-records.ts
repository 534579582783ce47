import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignatureVerdict } from '../core/verdict.ts';
import { recordsUnavailable } from './records-unavailable.ts';

export interface VerdictRecord {
  commit: string;
  verdict: SignatureVerdict;
  /** ISO time the server first accepted this commit. */
  acceptedAt: string;
  ref: string;
  pusher: string;
}

const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

interface Bucket {
  records: Map<string, VerdictRecord>;
  /** Whether the file ends in a newline (or is empty): a torn last line must not swallow the next record. */
  endsClean: boolean;
}

/**
 * The server's memory of first verdicts, as a file format because the hook is a single
 * executable that cannot load native addons: JSON lines in 256 append-only files named by the
 * commit id's first two hex digits (`verdicts/b1.jsonl`). A push appends one write per file it
 * touches (one file per commit cost 0.4 ms a commit in renames and inodes: 0.8 s for a
 * 2,000-commit push); a lookup reads one file, 1/256 of the history, once per instance.
 *
 * The first line for a commit wins, so two pushes racing with the same commit keep the earlier
 * verdict. A line that does not parse (a write cut short by a crash) is skipped: that commit is
 * simply judged again, never accepted on a broken record.
 */
export class VerdictRecords {
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly directory: string) {}

  lookup(commit: string): VerdictRecord | undefined {
    if (!COMMIT_ID.test(commit)) return undefined;
    return this.bucket(commit.slice(0, 2)).records.get(commit);
  }

  /** Records the first verdict only: an existing record is never overwritten. */
  recordFirst(record: VerdictRecord): void {
    this.recordAllFirst([record]);
  }

  /** The same for many commits: one append per bucket file. */
  recordAllFirst(records: Iterable<VerdictRecord>): void {
    const lines = new Map<string, string[]>();
    for (const record of records) {
      if (!COMMIT_ID.test(record.commit)) throw new Error(`not a commit id: ${JSON.stringify(record.commit)}`);
      const prefix = record.commit.slice(0, 2);
      const bucket = this.bucket(prefix);
      if (bucket.records.has(record.commit)) continue;
      bucket.records.set(record.commit, record);
      const pending = lines.get(prefix);
      if (pending) pending.push(JSON.stringify(record));
      else lines.set(prefix, [JSON.stringify(record)]);
    }
    if (lines.size === 0) return;
    try {
      mkdirSync(this.directory, { recursive: true });
      for (const [prefix, pending] of lines) {
        const bucket = this.bucket(prefix);
        appendFileSync(this.pathOf(prefix), `${bucket.endsClean ? '' : '\n'}${pending.join('\n')}\n`);
        bucket.endsClean = true;
      }
    } catch (error) {
      throw recordsUnavailable(this.directory, 'write', error);
    }
  }

  private bucket(prefix: string): Bucket {
    let bucket = this.buckets.get(prefix);
    if (bucket) return bucket;
    bucket = { records: new Map(), endsClean: true };
    let text = '';
    try {
      text = readFileSync(this.pathOf(prefix), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw recordsUnavailable(this.pathOf(prefix), 'read', error);
    }
    for (const line of text.split('\n')) {
      if (line.length === 0) continue;
      let record: VerdictRecord;
      try {
        record = JSON.parse(line) as VerdictRecord;
      } catch {
        continue;
      }
      if (typeof record?.commit === 'string' && typeof record.verdict?.status === 'string' && !bucket.records.has(record.commit)) {
        bucket.records.set(record.commit, record);
      }
    }
    bucket.endsClean = text.length === 0 || text.endsWith('\n');
    this.buckets.set(prefix, bucket);
    return bucket;
  }

  private pathOf(prefix: string): string {
    return join(this.directory, `${prefix}.jsonl`);
  }
}
