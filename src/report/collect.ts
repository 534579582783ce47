/**
 * Builds a compliance report for a local repository: walks each protected ref, verifies the
 * commits of the period with the one verifier every face uses, lets the policy judge them as a
 * push would, and counts. The numbers are git's: letters are `%G?`, the period filters on the
 * committer date as `git log --since/--until` does.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SignetError } from '../core/errors.ts';
import { parseTag, readCommitLinks } from '../core/git/signed-object.ts';
import { evaluateRefUpdate, parsePolicy, rulesForRef, type CommitInput, type Policy } from '../core/policy/index.ts';
import { defaultBucket, summarizeRef } from '../core/report/summarize.ts';
import type { BucketSize, ComplianceReport, ExemptionReason, ReportCommit, TagSummary } from '../core/report/types.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import { verifyCommitObject, verifyTagObject, type CommitResult, type KeyRegistries } from '../core/verify-object.ts';
import { openRepository, type Repository } from '../git/repository.ts';
import { listCommits } from '../git/rev-walk.ts';
import { commitChangedPaths } from '../git/commit-changed-paths.ts';
import { buildRegistries, keylessIdentitiesOf, readRegistrySources, type RegistrySources } from '../keys/load-registries.ts';
import { VerdictRecords } from '../store/verdict-records.ts';
import { registryKeyReports } from './registry-keys.ts';

const GOOD_SIGNATURE = new Set(['G', 'X', 'Y', 'R']);

export interface ReportRequest {
  /** Work tree, .git or bare repository; default the current one. */
  repo?: string;
  cwd: string;
  since: Date;
  until: Date;
  /** Refs to report on (`main` or `refs/heads/main`); default: the refs the policy protects, else every branch. */
  refs?: string[];
  bucket?: BucketSize;
  keyrings?: string[];
  allowedSigners?: string;
  revokedKeys?: string;
  /** Policy file: its key files join the registries and it decides exemptions and compliance. */
  policy?: string;
  /** How the repository is named in the report; default its path. */
  name?: string;
  /** "Now" for key expiry judgements, as `git log` judges them when run; default the current time. */
  now?: Date;
}

/** Everything a report and the jobs built on it need, loaded once. */
export interface ReportContext {
  repo: Repository;
  policy: Policy | undefined;
  policyPath: string | undefined;
  sources: RegistrySources;
  registries: KeyRegistries;
}

export async function loadReportContext(
  request: Pick<ReportRequest, 'repo' | 'cwd' | 'keyrings' | 'allowedSigners' | 'revokedKeys' | 'policy'>,
): Promise<ReportContext> {
  const repo = openRepository({ ...(request.repo ? { path: request.repo } : {}), cwd: request.cwd, env: {} });
  let policy: Policy | undefined;
  let policyPath: string | undefined;
  const keyrings = (request.keyrings ?? []).map((file) => resolve(request.cwd, file));
  let allowedSigners = request.allowedSigners ? resolve(request.cwd, request.allowedSigners) : undefined;
  let revokedKeys = request.revokedKeys ? resolve(request.cwd, request.revokedKeys) : undefined;
  if (request.policy) {
    policyPath = resolve(request.cwd, request.policy);
    let text: string;
    try {
      text = readFileSync(policyPath, 'utf8');
    } catch (error) {
      throw new SignetError('CONFIG_INVALID', `${policyPath}: cannot read the policy (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    policy = parsePolicy(text, policyPath);
    const base = dirname(policyPath);
    keyrings.unshift(...policy.keys.openpgp.map((file) => resolve(base, file)));
    allowedSigners ??= policy.keys.sshAllowedSigners ? resolve(base, policy.keys.sshAllowedSigners) : undefined;
    revokedKeys ??= policy.keys.sshRevokedKeys ? resolve(base, policy.keys.sshRevokedKeys) : undefined;
  }
  // The policy's X.509 roots and CRLs, trusted root and keyless identities, as the hook reads them.
  const base = policyPath ? dirname(policyPath) : request.cwd;
  const sources = readRegistrySources({
    keyrings,
    allowedSigners,
    revokedKeys,
    x509Roots: policy?.keys.x509Roots?.map((file) => resolve(base, file)),
    crls: policy?.keys.x509Crls?.map((file) => resolve(base, file)),
    trustedRoot: policy?.keys.trustedRoot ? resolve(base, policy.keys.trustedRoot) : undefined,
    keylessIdentities: keylessIdentitiesOf(policy?.keys.keyless),
  });
  return { repo, policy, policyPath, sources, registries: await buildRegistries(sources) };
}

/** The refs a report covers: as asked, else those the policy protects, else every branch. */
export function protectedRefs(repo: Repository, policy: Policy | undefined, asked: string[] | undefined): { branches: string[]; tags: string[] } {
  if (asked && asked.length > 0) {
    const resolved = asked.map((name) => {
      for (const candidate of name.startsWith('refs/') ? [name] : [`refs/heads/${name}`, `refs/tags/${name}`, `refs/${name}`]) {
        if (repo.refs.exists(candidate)) return candidate;
      }
      throw new SignetError('USAGE', `--ref ${name}: no such ref in ${repo.gitDir}`);
    });
    return { branches: resolved.filter((ref) => !ref.startsWith('refs/tags/')), tags: resolved.filter((ref) => ref.startsWith('refs/tags/')) };
  }
  const all = [...repo.refs.list('refs/').keys()];
  if (!policy) return { branches: all.filter((ref) => ref.startsWith('refs/heads/')), tags: [] };
  return {
    branches: all.filter((ref) => !ref.startsWith('refs/tags/') && rulesForRef(policy, ref).some((rule) => rule.requireSignedCommits)),
    tags: all.filter((ref) => ref.startsWith('refs/tags/') && rulesForRef(policy, ref).some((rule) => rule.requireSignedTags)),
  };
}

/** Peels a ref's target through annotated tags to a commit. */
export function peelToCommit(repo: Repository, oid: string): string | undefined {
  let current = oid;
  for (let depth = 0; depth < 64; depth++) {
    const object = repo.objects.tryRead(current);
    if (!object) return undefined;
    if (object.type === 'commit') return current;
    if (object.type !== 'tag') return undefined;
    current = parseTag(object.data, repo.hashAlgorithm, `tag ${current}`).object;
  }
  return undefined;
}

/** Commits reachable from `tip` whose committer time is in [since, until), newest first. */
export function commitsInPeriod(repo: Repository, tip: string, since: number, until: number): Array<{ oid: string; time: number }> {
  const found: Array<{ oid: string; time: number }> = [];
  for (const oid of listCommits(repo.objects, [tip], [])) {
    const { time } = readCommitLinks(repo.objects.read(oid).data, `commit ${oid}`);
    if (time >= since && time < until) found.push({ oid, time });
  }
  return found;
}

/** Verifies commits once however many refs reach them. */
export class CommitVerifier {
  private readonly cache = new Map<string, CommitResult>();
  constructor(
    private readonly context: ReportContext,
    private readonly now: Date,
  ) {}

  async verify(oid: string): Promise<CommitResult> {
    let result = this.cache.get(oid);
    if (!result) {
      const object = this.context.repo.objects.read(oid);
      if (object.type !== 'commit') throw new SignetError('OBJECT_MALFORMED', `${oid} is a ${object.type}, not a commit`);
      result = await verifyCommitObject(oid, object.data, this.context.registries, { hash: this.context.repo.hashAlgorithm, now: this.now });
      this.cache.set(oid, result);
    }
    return result;
  }

  get results(): IterableIterator<CommitResult> {
    return this.cache.values();
  }
}

function toReportCommit(oid: string, time: number, verdict: SignatureVerdict): ReportCommit {
  return {
    oid,
    committedAt: time,
    status: verdict.status,
    format: verdict.format,
    ...(verdict.key ? { key: verdict.key } : {}),
    ...(verdict.primaryKey ? { primaryKey: verdict.primaryKey } : {}),
    ...(verdict.signer ? { signer: verdict.signer } : {}),
  };
}

export async function buildComplianceReport(request: ReportRequest, loaded?: ReportContext): Promise<ComplianceReport> {
  const context = loaded ?? (await loadReportContext(request));
  const { repo, policy } = context;
  const now = request.now ?? new Date();
  const since = Math.floor(request.since.getTime() / 1000);
  const until = Math.floor(request.until.getTime() / 1000);
  const bucket = request.bucket ?? defaultBucket(since, until);
  const verifier = new CommitVerifier(context, now);
  const records = new VerdictRecords(join(repo.commonDir, 'signet', 'verdicts'));
  const refs = protectedRefs(repo, policy, request.refs);
  const signedBy = new Map<string, number>();
  const counted = new Set<string>();

  const refReports = [];
  for (const ref of refs.branches) {
    const target = repo.refs.resolve(ref);
    const tip = target ? peelToCommit(repo, target) : undefined;
    const commits: ReportCommit[] = [];
    const inputs: CommitInput[] = [];
    const rules = policy ? rulesForRef(policy, ref) : [];
    const needPaths = rules.some((rule) => rule.paths.length > 0);
    const recorded = new Map<string, SignatureVerdict>();
    for (const { oid, time } of tip ? commitsInPeriod(repo, tip, since, until) : []) {
      const result = await verifier.verify(oid);
      commits.push(toReportCommit(oid, time, result.verdict));
      if (!counted.has(oid)) {
        counted.add(oid);
        const key = result.verdict.primaryKey ?? result.verdict.key;
        // Only a signature that verifies was made by the key (B, U, E name a key they do not prove).
        if (key && GOOD_SIGNATURE.has(result.verdict.status)) signedBy.set(key, (signedBy.get(key) ?? 0) + 1);
      }
      if (!policy) continue;
      // The hook judges a commit it accepted once by the verdict it recorded then.
      const first = records.lookup(oid)?.verdict;
      if (first) recorded.set(oid, first);
      inputs.push({
        oid,
        subject: result.subject,
        committerEmail: result.committer?.email ?? '',
        authorEmail: result.author?.email ?? '',
        verdict: first ?? result.verdict,
        mergetags: result.mergetags.map((mergetag) => mergetag.verdict),
        changedPaths: needPaths ? commitChangedPaths(repo, oid) : [],
      });
    }
    if (policy && tip) {
      const decision = evaluateRefUpdate(policy, { ref, oldOid: null, newOid: tip, isForcePush: false, commits: inputs });
      const accepted = new Map(decision.commits.map((commit) => [commit.oid, commit.accepted]));
      for (const commit of commits) {
        commit.accepted = accepted.get(commit.oid) ?? true;
        if (commit.accepted && commit.status !== 'G' && rules.some((rule) => rule.requireSignedCommits)) {
          const reason: ExemptionReason = recorded.get(commit.oid)?.status === 'G' ? 'first-verdict' : 'accepted-letter';
          commit.exemption = reason;
        }
      }
    }
    refReports.push(
      summarizeRef(commits, { ref, tip: tip ?? null, rules: rules.map((rule) => rule.index), since, until, bucket, judged: policy !== undefined }),
    );
  }

  const tags: TagSummary[] = [];
  for (const ref of refs.tags) {
    const target = repo.refs.resolve(ref);
    if (!target) continue;
    const object = repo.objects.read(target);
    const name = ref.slice('refs/tags/'.length);
    if (object.type === 'tag') {
      const result = await verifyTagObject(target, object.data, context.registries, { hash: repo.hashAlgorithm, now });
      const taggedAt = result.tagger?.time ?? 0;
      if (taggedAt < since || taggedAt >= until) continue;
      tags.push({ ref, name, status: result.verdict.status, ...(result.verdict.signer ? { signer: result.verdict.signer } : {}), taggedAt });
    } else if (object.type === 'commit') {
      const { time } = readCommitLinks(object.data, `commit ${target}`);
      if (time < since || time >= until) continue;
      tags.push({ ref, name, status: 'N', taggedAt: time });
    }
  }

  const keys = (await registryKeyReports(context.sources)).map((key) => ({
    ...key,
    commitsInPeriod: key.signingKeys.reduce((sum, fingerprint) => sum + (signedBy.get(fingerprint) ?? 0), 0),
  }));

  if (!loaded) repo.objects.close();
  return {
    repository: request.name ?? repo.gitDir,
    generatedAt: now.toISOString(),
    since: request.since.toISOString(),
    until: request.until.toISOString(),
    bucket,
    policy: context.policyPath ?? null,
    refs: refReports,
    tags,
    keys,
    ...(context.registries.openpgp.warnings.length > 0 ? { keyringWarnings: [...context.registries.openpgp.warnings] } : {}),
  };
}
