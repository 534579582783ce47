/**
 * The app's and the bot's decision, without HTTP: given the fetched repository, the policy
 * from the default branch, the registries and the ref updates an event stands for, run the
 * one push evaluation every face shares (evaluatePush) and turn it into a report.
 */
import { parseCommit, parseTag } from '../core/git/signed-object.ts';
import { runOnThreadPool } from '../core/native-verify.ts';
import type { Policy } from '../core/policy/index.ts';
import type { SignatureVerdict } from '../core/verdict.ts';
import { verifyCommitObject, type CommitResult } from '../core/verify-object.ts';
import { evaluatePush, type PushEvaluation, type RefUpdate } from '../git/evaluate-push.ts';
import { isZeroId } from '../git/hash-algorithm.ts';
import type { Repository } from '../git/repository.ts';
import { LimitedWalk } from '../git/limited-walk.ts';
import { verifyAhead } from '../git/verify-ahead.ts';
import type { CommitVerdictCache } from '../git/verify-range.ts';
import { ForgeError } from './forge-error.ts';
import { applyForgeEmailRule, type CheckRegistries } from './forge-keys.ts';
import { buildReport, type SignatureReport } from './report.ts';

export interface CheckScope {
  /** The ref updates this event stands for (a push, or "merge head into base" for a PR). */
  updates: RefUpdate[];
  /** Commits reachable from these are already checked (base of a PR, `before` of a push). */
  existingTips: string[];
}

/**
 * The commits a scope brings, newest first, with their committer e-mails (for account lookups).
 * Whoever opens a pull request chooses how many commits it brings (a fork can carry any history),
 * so the walk stops once it has found more than `walkBound` and the check fails on that bound:
 * walking and parsing a million commits only to reject them was the cost of one click. The bound
 * is on commits found, which can exceed the final count (a commit found before an exclusion's
 * mark reaches it), hence twice the check's limit, not the limit itself.
 */
export function commitsInScope(repo: Repository, scope: CheckScope, maxCommits = Number.POSITIVE_INFINITY): Array<{ oid: string; committerEmail: string }> {
  const heads = scope.updates
    .map((u) => u.newOid)
    .filter((oid): oid is string => !!oid && !isZeroId(oid))
    .map((oid) => peelToCommit(repo, oid))
    .filter((oid): oid is string => !!oid);
  const exclude = scope.existingTips.filter((oid) => repo.objects.has(oid));
  let emails = committerEmails.get(repo);
  if (!emails) committerEmails.set(repo, (emails = new Map()));
  const known = emails;
  const walk = new LimitedWalk(repo.objects, heads, exclude);
  const walkBound = 2 * maxCommits;
  let found = 0;
  while (!walk.finished) {
    found += walk.next(WALK_STEP).length;
    if (found > walkBound) {
      throw new ForgeError(
        'limit',
        `more than ${walkBound} commits found, twice SIGNET_CHECK_MAX_COMMITS (${maxCommits}): the walk stopped there; split the change or raise the limit`,
      );
    }
  }
  return walk.result().map((oid) => {
    let committerEmail = known.get(oid);
    if (committerEmail === undefined) {
      const commit = parseCommit(repo.objects.read(oid).data, repo.hashAlgorithm, `commit ${oid}`);
      committerEmail = commit.committer?.email.toLowerCase() ?? '';
      if (known.size < MAX_KNOWN_EMAILS) known.set(oid, committerEmail);
    }
    return { oid, committerEmail };
  });
}

/**
 * Committer e-mails already read, per repository (cache) object: an object id names one object
 * within a repository, so the e-mail is what parsing it again would give. Every check of a
 * pull request otherwise parsed all its commits again. Bounded per repository; lives as long
 * as the repository cache holds the repository.
 */
const committerEmails = new WeakMap<Repository, Map<string, string>>();
const MAX_KNOWN_EMAILS = 100_000;
/** Commits the scope walk finds between two looks at its bound. */
const WALK_STEP = 1024;

export interface DecideInput {
  repo: Repository;
  policy: Policy;
  checkRegistries: CheckRegistries;
  scope: CheckScope;
  now: Date;
  /** First verdicts recorded for these commits earlier (the store). */
  recorded?: Map<string, SignatureVerdict>;
  /** The forge account a committer e-mail is linked to; used for forge keys only. */
  accountOfEmail?: (email: string) => string | undefined;
  /**
   * Verdicts as verified, before any recorded one stands in (the check's view of the verdict
   * memo, src/checks/verdict-memo.ts): its key must cover the registries and `now`.
   */
  cache?: CommitVerdictCache;
  /** commitsInScope(repo, scope), when the caller has it already (one walk and parse fewer). */
  commits?: Array<{ oid: string; committerEmail: string }>;
}

export interface Decision {
  evaluation: PushEvaluation;
  report: SignatureReport;
}

export async function decideSignatures(input: DecideInput): Promise<Decision> {
  const { repo, policy, checkRegistries, scope, now } = input;
  const recorded = new Map(input.recorded ?? []);
  // Without a memo, a check still verifies each commit once: the forge e-mail rule below and
  // evaluatePush share the verdicts.
  const cache = input.cache ?? checkLocalCache();
  if (checkRegistries.keyOwners.size > 0) {
    // evaluatePush has no hook between verifying and deciding, so the forge e-mail rule is
    // applied ahead: verify once here and hand the adjusted verdicts in as recorded ones.
    const accountOf = input.accountOfEmail ?? (() => undefined);
    const commits = (input.commits ?? commitsInScope(repo, scope)).filter(({ oid }) => !recorded.has(oid));
    const known = new Map<string, CommitResult>();
    for (const { oid } of commits) {
      const hit = cache.get(oid);
      if (hit) known.set(oid, hit);
    }
    // On the thread pool, several ahead, as evaluatePush verifies: one after another on this
    // thread, a pull request's signatures held the event loop (every installation's webhooks)
    // until the last was checked.
    const options = { hash: repo.hashAlgorithm, now, sshVerifyTime: now, runner: runOnThreadPool };
    const verified = verifyAhead(
      commits.filter(({ oid }) => !known.has(oid)).map(({ oid }) => oid),
      (oid) => verifyCommitObject(oid, repo.objects.read(oid).data, checkRegistries.registries, options).then((result) => (cache.put(result), result)),
    );
    for (const { oid, committerEmail } of commits) {
      const result = known.get(oid) ?? (await verified(oid));
      const adjusted = applyForgeEmailRule(result.verdict, committerEmail, checkRegistries.keyOwners, accountOf);
      if (adjusted !== result.verdict) recorded.set(oid, adjusted);
    }
  }
  const evaluation = await evaluatePush(repo, checkRegistries.registries, policy, scope.updates, {
    now,
    // The forge tells us when the event happened, not the committer: judge SSH keys now.
    sshVerifyTime: now,
    existingTips: scope.existingTips.filter((oid) => repo.objects.has(oid)),
    recordedVerdict: (oid) => recorded.get(oid),
    cache,
  });
  return { evaluation, report: buildReport(evaluation, policy, checkRegistries.skipped, checkRegistries.registries.openpgp.warnings) };
}

function checkLocalCache(): CommitVerdictCache {
  const verdicts = new Map<string, CommitResult>();
  return { get: (oid) => verdicts.get(oid), put: (result) => void verdicts.set(result.commit, result) };
}

function peelToCommit(repo: Repository, oid: string): string | undefined {
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
