/**
 * Keys of the forge accounts that signed recently: with `forge_accounts: true` a policy trusts
 * the signing keys people registered on GitHub, so those keys expire like any other. The
 * accounts come from the committer e-mails of the protected refs' recent commits, through the
 * app's own look-ups (src/forge/github-api.ts: GitHub's verified-e-mail rule).
 */
import type { RegistryKeyReport } from '../core/report/types.ts';
import { createGitHubCaches, gitHubAccountKeys, gitHubAccountsOfEmails, type GitHubRequest } from '../forge/github-api.ts';
import { commitsInPeriod, peelToCommit, protectedRefs, type ReportContext } from '../report/collect.ts';
import { openPgpKeyReports } from '../report/registry-keys.ts';
import { parseCommit } from '../core/git/signed-object.ts';

export interface ForgeKeysResult {
  keys: RegistryKeyReport[];
  /** Keys that could not be read (one bad upload is skipped, not fatal). */
  skipped: string[];
}

export async function recentSignerForgeKeys(context: ReportContext, project: string, request: GitHubRequest, since: Date, until: Date): Promise<ForgeKeysResult> {
  const [owner = '', repo = ''] = project.split('/');
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
