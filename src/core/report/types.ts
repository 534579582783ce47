/**
 * Compliance reports as data: what happened on each protected ref over a period, and the state
 * of the keys that vouch for it. Plain JSON-serialisable objects, so the same report renders as
 * Markdown, JSON and SVG at the edge, is stored by the jobs and read by the dashboard.
 */
import type { SignatureFormat, StatusLetter } from '../verdict.ts';

export const STATUS_LETTERS: readonly StatusLetter[] = ['G', 'B', 'U', 'X', 'Y', 'R', 'E', 'N'];

export type StatusCounts = Record<StatusLetter, number>;

export type BucketSize = 'day' | 'week' | 'month';

/** Why a commit that is not `G` was allowed on a protected ref anyway. */
export type ExemptionReason =
  /** The rule accepts this letter (`accept: [G, Y]` or `[G, X]`). */
  | 'accepted-letter'
  /** The server recorded a good verdict when the commit was pushed (the key expired or rotated since). */
  | 'first-verdict';

/** One commit of the period as the report needs it. */
export interface ReportCommit {
  oid: string;
  /** Committer time, seconds since the epoch (what `git log --since` filters on). */
  committedAt: number;
  status: StatusLetter;
  format: SignatureFormat;
  /** Signing (sub)key: OpenPGP fingerprint or `SHA256:…`. */
  key?: string;
  /** OpenPGP primary key fingerprint when `key` is a subkey. */
  primaryKey?: string;
  signer?: string;
  /** Whether the policy allows this commit on the ref; undefined without a policy. */
  accepted?: boolean;
  exemption?: ExemptionReason;
}

export interface CoverageBucket {
  /** ISO time the bucket starts (UTC midnight; weeks start on Monday, months on the 1st). */
  start: string;
  /** ISO time the bucket ends (exclusive). */
  end: string;
  commits: number;
  /** Commits carrying any signature (every letter but N). */
  signed: number;
  /** Commits signed by a registry key (G). */
  good: number;
}

export interface SignerCount {
  /** `Name <email>` of an OpenPGP key, the principal of an SSH key, or the key when unknown. */
  signer: string;
  key: string;
  format: SignatureFormat;
  commits: number;
  statuses: Partial<StatusCounts>;
}

export interface ExemptCommit {
  oid: string;
  status: StatusLetter;
  reason: ExemptionReason;
}

export interface TagSummary {
  /** `refs/tags/…`. */
  ref: string;
  name: string;
  status: StatusLetter;
  signer?: string;
  /** Tagger time, seconds. */
  taggedAt: number;
}

export interface RefReport {
  ref: string;
  tip: string | null;
  /** Indexes of the policy rules that protect the ref (empty without a policy). */
  rules: number[];
  commits: number;
  signed: number;
  good: number;
  statuses: StatusCounts;
  /** Commits the policy allows; undefined without a policy. */
  compliant?: number;
  /** Commits the policy would refuse (not compliant); undefined without a policy. */
  violations?: number;
  exemptions: ExemptCommit[];
  signers: SignerCount[];
  coverage: CoverageBucket[];
}

export interface RegistryKeyReport {
  kind: 'openpgp' | 'ssh';
  /** OpenPGP primary fingerprint, or SSH `SHA256:…`. */
  id: string;
  /** OpenPGP user IDs, or SSH principals. */
  names: string[];
  /** The file it came from (and line, for SSH). */
  source: string;
  createdAt?: number;
  /** When the key stops being usable for signing (seconds); absent: never. */
  expiresAt?: number;
  /** Revoked in the registry (OpenPGP revocation signature, or listed in the SSH revoked keys). */
  revoked: boolean;
  /** When, if the revocation says (OpenPGP). */
  revokedAt?: number;
  /** Creation of the newest signing (sub)key, or the SSH line's valid-after. */
  lastRotation?: number;
  /** Fingerprints of the signing (sub)keys, so commits can be attributed to the key. */
  signingKeys: string[];
  /** Commits of the period signed by this key (any ref of the report). */
  commitsInPeriod: number;
}

export interface ComplianceReport {
  repository: string;
  generatedAt: string;
  since: string;
  until: string;
  bucket: BucketSize;
  policy: string | null;
  refs: RefReport[];
  /** Tags of the period under refs the policy requires signed tags on (none without a policy). */
  tags: TagSummary[];
  keys: RegistryKeyReport[];
  /** Keys of the registry's files signet cannot use (skipped, one line each naming file and key); absent when none. */
  keyringWarnings?: string[];
}

export function emptyStatusCounts(): StatusCounts {
  return { G: 0, B: 0, U: 0, X: 0, Y: 0, R: 0, E: 0, N: 0 };
}
