/**
 * The forge-neutral middle of a check: fetch the commits, read the policy from the default
 * branch through the forge, learn which forge accounts the committers are (when the policy
 * trusts forge keys), then run the one push evaluation every face shares. The adapter supplies
 * only the forge's answers (`CheckSource`).
 */
import type { Policy } from '../core/policy/index.ts';
import { commitsInScope, decideSignatures } from '../forge/decide.ts';
import { ForgeError } from '../forge/forge-error.ts';
import { buildCheckRegistries, type ForgeAccountKeys } from '../forge/forge-keys.ts';
import type { GitCache } from '../forge/git-cache.ts';
import { loadPolicy, type DefaultBranchReader } from '../forge/policy-source.ts';
import { noPolicyReport } from '../forge/report.ts';
import { scopeOf, type CheckContext } from '../forge/scope.ts';
import type { CheckSettings, ComputedCheck } from './check-flow.ts';

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
  cloneUrl: string;
  defaultBranch: string;
  /** Credentials for git over HTTP, asked for when the fetch starts. */
  gitAuth(): Promise<{ username: string; password: string }>;
  /** Reads files of the default branch (the policy and its key files). */
  policyReader: DefaultBranchReader;
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
  if (!loaded) return { report: noPolicyReport(source.policyPaths[0]!, source.defaultBranch) };

  const scope = scopeOf(contexts, repo, source.defaultBranch);
  const commits = commitsInScope(repo, scope);
  let forge: AccountsOfCommits = { accounts: [], accountOfEmail: new Map() };
  if (loaded.policy.keys.forgeAccounts || loaded.policy.keys.trustWebFlow) forge = await source.accountsOf(commits, loaded.policy);
  let checkRegistries;
  try {
    checkRegistries = await buildCheckRegistries(loaded.files, forge.accounts);
  } catch (error) {
    throw new ForgeError('keys', (error as Error).message);
  }
  const recorded = await settings.store.lookupVerdicts(source.repositoryKey, commits.map((c) => c.oid));
  const decision = await decideSignatures({
    repo, policy: loaded.policy, checkRegistries, scope, now: settings.now(), recorded,
    accountOfEmail: (email) => forge.accountOfEmail.get(email),
  });
  return { report: decision.report, decision };
}
