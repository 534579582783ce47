/**
 * The forge-neutral middle of a check: fetch the commits, read the policy from the default
 * branch through the forge, learn which forge accounts the committers are (when the policy
 * trusts forge keys), then run the one push evaluation every face shares. The adapter supplies
 * only the forge's answers (`CheckSource`).
 */
import type { Policy } from '../core/policy/index.ts';
import { commitsInScope, decideSignatures, type Decision } from '../forge/decide.ts';
import { ForgeError } from '../forge/forge-error.ts';
import { buildCheckRegistries, type ForgeAccountKeys } from '../forge/forge-keys.ts';
import type { GitCache } from '../forge/git-cache.ts';
import type { Repository } from '../git/repository.ts';
import { loadPolicy, type DefaultBranchReader } from '../forge/policy-source.ts';
import { noPolicyReport } from '../forge/report.ts';
import { scopeOf, type CheckContext } from '../forge/scope.ts';
import type { CheckSettings, ComputedCheck } from './check-flow.ts';
import { trustInputBytes } from './registry-memo.ts';
import { trustKey } from './verdict-memo.ts';

/** The commits a check covers, newest first, with their committer e-mails. */
export type ScopedCommit = { oid: string; committerEmail: string };

export interface AccountsOfCommits {
  accounts: ForgeAccountKeys[];
  /** Committer e-mail → the account the forge links it to (through a verified e-mail). */
  accountOfEmail: Map<string, string>;
}

/** What one forge answers for a check. */
export interface CheckSource {
  repositoryKey: string;
  /**
   * Whose share of the verdict memo this check's new verdicts count against (the GitHub
   * installation); default the repository. A full memo evicts the largest owner's first.
   */
  memoOwner?: string;
  cloneUrl: string;
  defaultBranch: string;
  /** Credentials for git over HTTP, asked for when the fetch starts. */
  gitAuth(): Promise<{ username: string; password: string }>;
  /** Reads files of the default branch, or of `policyRevision` (the policy and its key files). */
  policyReader: DefaultBranchReader;
  /** The commit the policy is read at, when not the default branch tip (a push to the default branch: its `before`). */
  policyRevision?: string;
  /** Where the policy may live, first found wins. */
  policyPaths: string[];
  /** More ref updates the commit stands for that the event did not name (open pull requests with it as head). */
  moreContexts?(): Promise<CheckContext[]>;
  /** The forge accounts and keys of these committers (asked only when the policy says forge_accounts). */
  accountsOf(commits: ScopedCommit[], policy: Policy): Promise<AccountsOfCommits>;
}

export interface CheckScopeRequest {
  headSha: string;
  contexts: CheckContext[];
  fetchRefs: string[];
}

export async function computeCheck(settings: CheckSettings & { gitCache: GitCache }, source: CheckSource, request: CheckScopeRequest): Promise<ComputedCheck> {
  const contexts = [...request.contexts, ...((await source.moreContexts?.()) ?? [])];
  const auth = await source.gitAuth();
  const repo = await settings.gitCache.sync({
    key: source.repositoryKey,
    url: source.cloneUrl,
    refs: [...new Set([...request.fetchRefs, `refs/heads/${source.defaultBranch}`])],
    wants: [request.headSha],
    auth,
  });

  const loaded = await loadPolicy(source.policyReader, source.policyPaths);
  if (!loaded)
    return {
      report: noPolicyReport(
        source.policyPaths[0]!,
        source.policyRevision ? `${source.defaultBranch} before this push (${source.policyRevision.slice(0, 12)})` : source.defaultBranch,
      ),
    };

  // Every context is judged on its own, with only its own base excluded: one shared exclusion
  // set let a push whose `before` already contains a pull request's unsigned commit hide it
  // from the pull request's rule (issue 11 item 5). The result is the strictest of them.
  const judged = distinctContexts([...contexts, ...branchesAt(repo, request.headSha, source.defaultBranch)]);
  // Contexts with the same base exclude the same commits: judging them together is the same
  // judgement, done once (a PR's base branch and its head branch).
  const scopes = [...groupByBase(judged).values()].map((group) => scopeOf(group, repo, source.defaultBranch));
  // Anyone who can push or open a PR chooses how many commits a check walks: bounded, and
  // past the bound the check fails (never passes) and says which bound.
  const maxCommits = settings.maxCommits ?? DEFAULT_MAX_COMMITS;
  const inScope = scopes.map((scope) => commitsInScope(repo, scope, maxCommits));
  const commits = uniqueCommits(inScope.flat());
  if (commits.length > maxCommits) {
    throw new ForgeError(
      'limit',
      `${commits.length} commits to judge, more than SIGNET_CHECK_MAX_COMMITS (${maxCommits}); split the change or raise the limit`,
    );
  }
  let forge: AccountsOfCommits = { accounts: [], accountOfEmail: new Map() };
  if (loaded.policy.keys.forgeAccounts || loaded.policy.keys.trustWebFlow) forge = await source.accountsOf(commits, loaded.policy);
  const memo = settings.verdictMemo;
  // Everything the registries and the verdicts are made from: same key, same trust.
  const key = memo ? trustKey({ files: loaded.files, policy: loaded.bytes, accounts: forge.accounts, hash: repo.hashAlgorithm }) : '';
  let checkRegistries;
  try {
    const build = () => buildCheckRegistries(loaded.files, forge.accounts);
    checkRegistries = await (memo ? memo.registriesFor(key, build, trustInputBytes(loaded.files, forge.accounts)) : build());
  } catch (error) {
    throw new ForgeError('keys', (error as Error).message);
  }
  const now = settings.now();
  const cache = memo?.forCheck(key, checkRegistries, now, repo.hashAlgorithm, (oid) => repo.objects.read(oid).data, source.memoOwner ?? source.repositoryKey);
  const recorded = await settings.store.lookupVerdicts(
    source.repositoryKey,
    commits.map((c) => c.oid),
  );
  const recordedBefore = new Set(recorded.keys());
  const decisions: Decision[] = [];
  for (const [index, scope] of scopes.entries()) {
    const decision = await decideSignatures({
      repo,
      policy: loaded.policy,
      checkRegistries,
      scope,
      commits: inScope[index]!,
      now,
      recorded,
      accountOfEmail: (email) => forge.accountOfEmail.get(email),
      ...(cache ? { cache } : {}),
    });
    // A signature verdict does not depend on the rule: the next context reuses it.
    for (const [oid, result] of decision.evaluation.commits) if (!recorded.has(oid)) recorded.set(oid, result.verdict);
    decisions.push(decision);
  }
  const decision = strictest(decisions);
  return { report: decision.report, decision, recordedBefore };
}

export const DEFAULT_MAX_COMMITS = 20_000;

const RANK: Record<string, number> = { failure: 0, success: 1, neutral: 2 };

/** The failing decision if any context fails; else a success over a neutral; the event's own first. */
export function strictest(decisions: Decision[]): Decision {
  let chosen = decisions[0]!;
  for (const decision of decisions) if ((RANK[decision.report.conclusion] ?? 0) < (RANK[chosen.report.conclusion] ?? 0)) chosen = decision;
  return chosen;
}

/**
 * Branches that already point at the commit: each is a context of it too (a push of the same
 * commit to a strict branch and then to a lenient one must not end in success). The default
 * branch pointing at it brings nothing new (its own history stays as it is).
 */
function branchesAt(repo: Repository, headSha: string, defaultBranch: string): CheckContext[] {
  const contexts: CheckContext[] = [];
  for (const [name, oid] of repo.refs.list('refs/remotes/origin/heads/')) {
    if (oid !== headSha) continue;
    const branch = name.slice('refs/remotes/origin/heads/'.length);
    if (branch === defaultBranch) continue;
    contexts.push({ ref: `refs/heads/${branch}`, oldOid: null, newOid: headSha });
  }
  return contexts;
}

function groupByBase(contexts: CheckContext[]): Map<string, CheckContext[]> {
  const groups = new Map<string, CheckContext[]>();
  for (const context of contexts) {
    const key = `${context.baseOid ?? ''}\0${context.baseRef ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), context]);
  }
  return groups;
}

/** One context per ref and new value; the first (the event's own, with its base) wins. */
function distinctContexts(contexts: CheckContext[]): CheckContext[] {
  const seen = new Set<string>();
  return contexts.filter((context) => {
    const key = `${context.ref}\0${context.newOid}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function uniqueCommits(commits: ScopedCommit[]): ScopedCommit[] {
  const seen = new Set<string>();
  return commits.filter((commit) => !seen.has(commit.oid) && !!seen.add(commit.oid));
}
