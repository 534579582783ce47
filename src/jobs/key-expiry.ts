/**
 * Key expiry: every key of each watched repository's registry (and, with `forge_accounts: true`,
 * of its recent committers' GitHub or GitLab accounts) that stops being usable for signing within
 * `within_days` gets one forge issue, kept up to date, closed once the registry holds the
 * extended key (or no longer holds the key).
 */
import { ForgeHttpError, httpStatusOf, isForgeHttpCode } from '../forge/http-error.ts';
import type { DesiredIssue } from '../core/report/issue-sync.ts';
import { SignetError } from '../core/errors.ts';
import { findExpiringKeys, type KeyExpiryFinding } from '../core/report/key-watch.ts';
import { registryKeyReports } from '../report/registry-keys.ts';
import { isoDay } from '../report/render-markdown.ts';
import { ForgeError } from '../forge/forge-error.ts';
import { gitLabClient } from '../forge/gitlab-client.ts';
import { forEachRepository, issueTracker, repositoryContext, type JobEnvironment, type JobRun } from './context.ts';
import { recentSignerForgeKeys, recentSignerGitLabKeys, type ForgeKeysResult } from './forge-account-keys.ts';
import { fetchGitHubRequest } from './github-request.ts';
import { syncIssues } from './issue-tracker.ts';
import { slug } from './ports.ts';
import { markdownCode, markdownText } from '../core/render/markdown-text.ts';
import { terminalText } from '../core/render/terminal-text.ts';

export interface ExpiryFindingData {
  kind: 'openpgp' | 'ssh';
  id: string;
  names: string[];
  source: string;
  expiresAt: string;
  daysLeft: number;
  state: 'expiring' | 'expired';
}

function who(finding: KeyExpiryFinding): string {
  return finding.key.names[0] ?? finding.key.id;
}

/** The fix an issue proposes; `account` is set for a key an account registered on the forge. */
function fixOf(key: KeyExpiryFinding['key'], account: string | undefined, forge: 'github' | 'gitlab'): string {
  if (account && forge === 'gitlab') {
    return key.kind === 'openpgp'
      ? `${account}: extend the key (\`gpg --quick-set-expire ${key.id} 1y\`), then under GitLab → User settings → GPG keys remove the old one (remove, not revoke: revoking unverifies the commits it signed) and add the output of \`gpg --armor --export ${key.id}\`.`
      : `${account}: GitLab cannot extend an SSH key's expiry: add a new SSH key with usage type "Signing" (or "Authentication & Signing") under GitLab → User settings → SSH keys, sign with it (\`git config user.signingkey\`), and remove this one once it is no longer needed.`;
  }
  if (account)
    return `${account}: extend the key (\`gpg --quick-set-expire ${key.id} 1y\`), then upload the extended public key again under GitHub → Settings → SSH and GPG keys.`;
  return key.kind === 'openpgp'
    ? `Extend it (\`gpg --quick-set-expire ${key.id} 1y\`, and \`gpg --quick-set-expire ${key.id} 1y '*'\` for its signing subkeys), then replace it in ${markdownCode(key.source)} with the output of \`gpg --armor --export ${key.id}\`.`
    : `Move \`valid-before\` of its line in ${markdownCode(key.source)} to a later date, or add a line for the key that replaces it.`;
}

export function expiryIssue(finding: KeyExpiryFinding, repository: string, forge: 'github' | 'gitlab' = 'github'): DesiredIssue {
  const { key } = finding;
  const date = isoDay(finding.expiresAt);
  const what = key.kind === 'openpgp' ? `OpenPGP key ${markdownCode(key.id)}` : `SSH key ${markdownCode(key.id)}`;
  const account = key.names.find((name) => name.startsWith('@'));
  const forgeName = forge === 'gitlab' ? 'GitLab' : 'GitHub';
  return {
    id: `key-expiry:${key.id}`,
    // A title is one line of plain text: controls and bidi made visible.
    title: terminalText(finding.state === 'expired' ? `Signing key expired on ${date}: ${who(finding)}` : `Signing key expires on ${date}: ${who(finding)}`),
    body: [
      // The key's names are its user IDs (or SSH comments): whoever made the key wrote them.
      `The ${what} (${key.names.length > 0 ? markdownText(key.names.join(', '), 2_000) : 'no names'}) ${account ? `that ${markdownText(account)} registered on ${forgeName}, trusted by the policy of` : 'in the signing registry of'} **${markdownText(repository)}** ${finding.state === 'expired' ? 'expired' : 'expires'} on **${date}**.`,
      '',
      finding.state === 'expired'
        ? 'Its signatures are no longer `G`: pushes signed with it are refused where the policy requires `G`.'
        : 'After that its signatures are no longer `G`, and pushes signed with it are refused where the policy requires `G`.',
      '',
      `To fix: ${fixOf(key, account, forge)}`,
      '',
      account && forge === 'gitlab'
        ? `signet closes this issue when ${account} no longer lists this key, or lists it extended.`
        : 'signet closes this issue when the registry holds the extended key.',
    ].join('\n'),
  };
}

export async function runKeyExpiry(environment: JobEnvironment): Promise<JobRun> {
  const settings = environment.config.jobs['key-expiry'];
  return forEachRepository(environment, 'key-expiry', async (repository) => {
    const context = await repositoryContext(repository);
    const now = environment.now();
    let keys = await registryKeyReports(context.sources);
    let skipped: string[] = [];
    try {
      const forge = repository.forge;
      if (context.policy?.keys.forgeAccounts && forge) {
        const token = environment.env[forge.tokenEnv];
        if (!token)
          throw new SignetError(
            'CONFIG_INVALID',
            `the policy trusts forge accounts, and reading their keys needs the token in ${forge.tokenEnv}, which is not set`,
          );
        const since = new Date(now.getTime() - settings.forgeAccountsDays * 86_400_000);
        let forgeKeys: ForgeKeysResult;
        try {
          if (forge.type === 'github') {
            forgeKeys = await recentSignerForgeKeys(context, forge.project, fetchGitHubRequest(forge.apiUrl, token, environment.fetch), since, now);
          } else {
            // The client is given the GitLab URL the API lives under.
            const baseUrl = forge.apiUrl.replace(/\/api\/v4$/, '');
            if (baseUrl === forge.apiUrl)
              throw new SignetError('CONFIG_INVALID', `forge.api_url ${forge.apiUrl} must end in /api/v4 to read the GitLab accounts' keys`);
            const client = gitLabClient({ baseUrl, token, ...(environment.fetch ? { fetch: environment.fetch } : {}) });
            forgeKeys = await recentSignerGitLabKeys(context, client, since, now);
          }
        } catch (error) {
          if (error instanceof ForgeError && isForgeHttpCode(error.code)) {
            // The code (the client's, or gitbeaker's status) says outage or refusal; the job's
            // outcome tells them apart, so an outage never reads as a configuration error.
            const status = httpStatusOf(error.cause);
            throw new ForgeHttpError(error.code, `reading the forge accounts' keys: ${error.message}`, {
              ...(status !== undefined ? { status } : {}),
              cause: error,
            });
          }
          if (error instanceof ForgeError) throw new SignetError('CONFIG_INVALID', `reading the forge accounts' keys: ${error.message}`, { cause: error });
          throw error;
        }
        const known = new Set(keys.map((key) => key.id));
        keys = [...keys, ...forgeKeys.keys.filter((key) => !known.has(key.id))];
        skipped = forgeKeys.skipped;
      }
    } finally {
      context.repo.objects.close();
    }
    const findings = findExpiringKeys(keys, Math.floor(now.getTime() / 1000), settings.withinDays);
    const data: ExpiryFindingData[] = findings.map((f) => ({
      kind: f.key.kind,
      id: f.key.id,
      names: f.key.names,
      source: f.key.source,
      expiresAt: new Date(f.expiresAt * 1000).toISOString(),
      daysLeft: f.daysLeft,
      state: f.state,
    }));
    await environment.state.write(`key-expiry/${slug(repository.name)}.json`, { at: now.toISOString(), withinDays: settings.withinDays, findings: data });
    const tracker = environment.dryRun ? undefined : issueTracker(environment, repository);
    const issues = tracker
      ? await syncIssues(
          tracker,
          'key-expiry',
          settings.label,
          findings.map((f) => expiryIssue(f, repository.name, repository.forge?.type)),
          () =>
            `The registry of ${repository.name} no longer holds a key that expires within ${settings.withinDays} days under this id (checked ${now.toISOString()}): closing.`,
        )
      : undefined;
    return {
      outcome: findings.length > 0 ? 'findings' : 'ok',
      findings: findings.length,
      ...(issues ? { issues: { created: issues.created, updated: issues.updated, closed: issues.closed, unchanged: issues.unchanged } } : {}),
      data,
      ...(skipped.length > 0 ? { warnings: skipped } : {}),
    };
  });
}
