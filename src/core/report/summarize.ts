import { SignetError } from '../errors.ts';
import { emptyStatusCounts, type BucketSize, type CoverageBucket, type ExemptCommit, type RefReport, type ReportCommit, type SignerCount } from './types.ts';

const DAY = 86_400;

/** Daily buckets up to a month, weekly up to half a year, monthly beyond: a readable number of bars. */
export function defaultBucket(sinceSeconds: number, untilSeconds: number): BucketSize {
  const span = untilSeconds - sinceSeconds;
  return span <= 31 * DAY ? 'day' : span <= 183 * DAY ? 'week' : 'month';
}

/** Bucket boundaries (seconds) covering [since, until): UTC days, ISO weeks starting Monday, or calendar months. */
export function bucketBoundaries(sinceSeconds: number, untilSeconds: number, size: BucketSize): Array<[number, number]> {
  if (!(untilSeconds > sinceSeconds)) throw new SignetError('USAGE', 'the report period is empty: --until must be after --since');
  if (size === 'month') {
    const first = new Date(sinceSeconds * 1000);
    const months: Array<[number, number]> = [];
    for (let year = first.getUTCFullYear(), month = first.getUTCMonth(); ; month++) {
      const start = Date.UTC(year, month, 1) / 1000;
      if (start >= untilSeconds) break;
      months.push([start, Date.UTC(year, month + 1, 1) / 1000]);
    }
    return months;
  }
  const width = size === 'day' ? DAY : 7 * DAY;
  let start = Math.floor(sinceSeconds / DAY) * DAY;
  // 1970-01-01 was a Thursday: day index + 3 is the number of days since a Monday.
  if (size === 'week') start -= ((Math.floor(start / DAY) + 3) % 7) * DAY;
  const buckets: Array<[number, number]> = [];
  for (let at = start; at < untilSeconds; at += width) buckets.push([at, at + width]);
  if (buckets.length > 2000) throw new SignetError('USAGE', `the period holds ${buckets.length} ${size}s; choose a shorter period or weekly buckets`);
  return buckets;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

export interface SummarizeOptions {
  ref: string;
  tip: string | null;
  rules: number[];
  since: number;
  until: number;
  bucket: BucketSize;
  /** Whether a policy judged the commits (`accepted` set on each). */
  judged: boolean;
}

/** Counts one ref's commits of the period: letters, signers, exemptions and coverage per bucket. */
export function summarizeRef(commits: readonly ReportCommit[], options: SummarizeOptions): RefReport {
  const inPeriod = commits.filter((commit) => commit.committedAt >= options.since && commit.committedAt < options.until);
  const statuses = emptyStatusCounts();
  const signers = new Map<string, SignerCount>();
  const exemptions: ExemptCommit[] = [];
  let compliant = 0;
  for (const commit of inPeriod) {
    statuses[commit.status]++;
    if (commit.accepted) compliant++;
    if (commit.exemption) exemptions.push({ oid: commit.oid, status: commit.status, reason: commit.exemption });
    if (commit.status === 'N' || !commit.key) continue;
    const key = commit.primaryKey ?? commit.key;
    const entry = signers.get(key) ?? { signer: commit.signer ?? key, key, format: commit.format, commits: 0, statuses: {} };
    entry.commits++;
    entry.statuses[commit.status] = (entry.statuses[commit.status] ?? 0) + 1;
    signers.set(key, entry);
  }
  const boundaries = bucketBoundaries(options.since, options.until, options.bucket);
  const coverage: CoverageBucket[] = boundaries.map(([start, end]) => ({ start: iso(start), end: iso(end), commits: 0, signed: 0, good: 0 }));
  for (const commit of inPeriod) {
    const bucket = coverage[bucketIndex(boundaries, commit.committedAt)];
    if (!bucket) continue;
    bucket.commits++;
    if (commit.status !== 'N') bucket.signed++;
    if (commit.status === 'G') bucket.good++;
  }
  const total = inPeriod.length;
  return {
    ref: options.ref,
    tip: options.tip,
    rules: options.rules,
    commits: total,
    signed: total - statuses.N,
    good: statuses.G,
    statuses,
    ...(options.judged ? { compliant, violations: total - compliant } : {}),
    exemptions,
    signers: [...signers.values()].sort((a, b) => b.commits - a.commits || a.signer.localeCompare(b.signer)),
    coverage,
  };
}

/** The bucket holding a time: binary search, since months differ in length. */
function bucketIndex(boundaries: Array<[number, number]>, at: number): number {
  let low = 0;
  let high = boundaries.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [start, end] = boundaries[middle]!;
    if (at < start) high = middle - 1;
    else if (at >= end) low = middle + 1;
    else return middle;
  }
  return -1;
}

/** Share of commits signed by a registry key, 0–1; 1 when there were no commits. */
export function coverageRatio(counts: { commits: number; good: number }): number {
  return counts.commits === 0 ? 1 : counts.good / counts.commits;
}
