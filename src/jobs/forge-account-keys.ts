/**
 * Keys of the forge accounts that signed recently: with `forge_accounts: true` a policy trusts
 * the signing keys people registered on the forge, so those keys expire like any other. The
 * accounts come from the committer e-mails of the protected refs' recent commits, through the
 * app's and the bot's own look-ups: src/forge/github-api.ts (GitHub's verified-e-mail rule) and
 * src/forge/gitlab-verified-user.ts (GitLab's user search, counting only e-mails GitLab confirmed).
 */
import type { RegistryKeyReport } from '../core/report/types.ts';
import { createGitHubCaches, gitHubAccountKeys, gitHubAccountsOfEmails, type GitHubRequest } from '../forge/github-api.ts';
import { createGitLabCaches, gitLabAccountKeys, type GitLabSshSigningKey } from '../forge/gitlab-api.ts';
import type { GitLabClient } from '../forge/gitlab-client.ts';
import { gitLabUsersOfEmails } from '../forge/gitlab-verified-user.ts';
import { commitsInPeriod, peelToCommit, protectedRefs, type ReportContext } from '../report/collect.ts';
import { openPgpKeyReports, sshKeyReports } from '../report/registry-keys.ts';
import { parseCommit } from '../core/git/signed-object.ts';

export interface ForgeKeysResult {
  keys: RegistryKeyReport[];
  /** Keys that could not be read (one bad upload is skipped, not fatal). */
  skipped: string[];
}

/** Committer e-mails (lower case) of the protected branches' commits in `[since, until]`, each with one commit. */
function recentCommitterEmails(context: ReportContext, since: Date, until: Date): Map<string, string> {
  const samples = new Map<string, string>();
  for (const ref of protectedRefs(context.repo, context.policy, undefined).branches) {
    const target = context.repo.refs.resolve(ref);
    const tip = target ? peelToCommit(context.repo, target) : undefined;
    if (!tip) continue;
    // A day past "now": a commit made this second, or by a clock a little ahead, is recent too.
    for (const { oid } of commitsInPeriod(context.repo, tip, Math.floor(since.getTime() / 1000), Math.floor(until.getTime() / 1000) + 86_400)) {
      const commit = parseCommit(context.repo.objects.read(oid).data, context.repo.hashAlgorithm, `commit ${oid}`);
      const email = commit.committer?.email.toLowerCase();
      if (email && !samples.has(email)) samples.set(email, oid);
    }
  }
  return samples;
}

/** GitHub: the GPG keys of the accounts GitHub links recent commits to. */
export async function recentSignerForgeKeys(
  context: ReportContext,
  project: string,
  request: GitHubRequest,
  since: Date,
  until: Date,
): Promise<ForgeKeysResult> {
  const [owner = '', repo = ''] = project.split('/');
  const samples = recentCommitterEmails(context, since, until);
  const caches = createGitHubCaches();
  const accounts = await gitHubAccountsOfEmails(request, caches, owner, repo, samples);
  const keys: RegistryKeyReport[] = [];
  const skipped: string[] = [];
  for (const login of [...new Set(accounts.values())].sort()) {
    const registered = await gitHubAccountKeys(request, caches, login);
    for (const [index, armored] of registered.gpgKeys.entries()) {
      try {
        for (const key of await openPgpKeyReports([{ name: `GitHub account @${login}`, text: armored }])) {
          keys.push({ ...key, names: [...key.names, `@${login}`] });
        }
      } catch (error) {
        skipped.push(`@${login} GPG key ${index + 1}: ${(error as Error).message}`);
      }
    }
  }
  return { keys, skipped };
}

/** `expires_at` as allowed_signers' `valid-before` (UTC, to the second); undefined when GitLab gave none. */
function validBefore(key: GitLabSshSigningKey): string | undefined {
  if (key.expiresAt === undefined) return undefined;
  const at = Date.parse(key.expiresAt);
  if (Number.isNaN(at)) throw new Error(`expires_at ${JSON.stringify(key.expiresAt)} is not a time`);
  return `${new Date(at).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/**
 * GitLab: the GPG keys and the SSH signing keys (usage type signing or auth_and_signing, with
 * GitLab's `expires_at`) of the users recent committer e-mails belong to. An SSH key becomes one
 * allowed_signers line (`valid-before` from `expires_at`) reported like the registry's own.
 */
export async function recentSignerGitLabKeys(context: ReportContext, client: GitLabClient, since: Date, until: Date): Promise<ForgeKeysResult> {
  const caches = createGitLabCaches();
  const users = await gitLabUsersOfEmails(client, caches, [...recentCommitterEmails(context, since, until).keys()].sort());
  const keys: RegistryKeyReport[] = [];
  const skipped: string[] = [];
  for (const { user, emails } of users.sort((a, b) => a.user.username.localeCompare(b.user.username))) {
    const account = `@${user.username}`;
    const source = `GitLab account ${account}`;
    const registered = await gitLabAccountKeys(client, caches, user, emails);
    for (const [index, armored] of registered.gpgKeys.entries()) {
      try {
        for (const key of await openPgpKeyReports([{ name: source, text: armored }])) keys.push({ ...key, names: [...key.names, account] });
      } catch (error) {
        skipped.push(`${account} GPG key ${index + 1}: ${(error as Error).message}`);
      }
    }
    // allowed_signers principals cannot hold quotes, white space or commas, nor start a comment; the account name always fits.
    const principals = [...emails.filter((email) => !/["\s,]/.test(email) && !email.startsWith('#')), account];
    for (const [index, key] of registered.sshSigningKeyDetails.entries()) {
      const name = `${account} SSH signing key ${index + 1}${key.title ? ` (${key.title})` : ''}`;
      try {
        const fields = key.key.trim().split(/\s+/);
        if (fields.length < 2) throw new Error('not an OpenSSH public key line');
        const before = validBefore(key);
        const line = `${principals.join(',')} namespaces="git"${before ? `,valid-before="${before}"` : ''} ${fields[0]} ${fields[1]}`;
        for (const report of sshKeyReports({ keyrings: [], allowedSigners: { name, text: `${line}\n` } })) keys.push({ ...report, source });
      } catch (error) {
        skipped.push(`${name}: ${(error as Error).message}`);
      }
    }
  }
  return { keys, skipped };
}
