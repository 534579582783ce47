/**
 * The GitLab bot's settings from the environment: GITLAB_URL, GITLAB_TOKEN and the webhook
 * secrets. A half-configured bot is one clear error.
 *
 * Secrets: GITLAB_WEBHOOK_SECRET is shared by every project without its own; GITLAB_WEBHOOK_SECRETS
 * (JSON) or GITLAB_WEBHOOK_SECRETS_FILE (a JSON file) maps a project — its numeric id or its
 * `group/project` path — to its own secret. A delivery is accepted only for the projects its
 * secret belongs to: one maintainer's hook secret cannot speak for another project.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SignetError } from '../core/errors.ts';

export interface GitLabConfig {
  /** e.g. https://gitlab.example.com (the API is under /api/v4). */
  url: string;
  token: string;
  /** The secret of every project without its own (may be absent when every project has one). */
  webhookSecret?: string;
  /** Project id (as text) or `group/project` path → that project's own secret. */
  projectSecrets?: Map<string, string>;
}

export function readGitLabConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): GitLabConfig | undefined {
  const secretsText = env.GITLAB_WEBHOOK_SECRETS_FILE ? readSecretsFile(resolve(cwd, env.GITLAB_WEBHOOK_SECRETS_FILE)) : env.GITLAB_WEBHOOK_SECRETS;
  const secretsSource = env.GITLAB_WEBHOOK_SECRETS_FILE ? `GITLAB_WEBHOOK_SECRETS_FILE (${env.GITLAB_WEBHOOK_SECRETS_FILE})` : 'GITLAB_WEBHOOK_SECRETS';
  if (!env.GITLAB_URL && !env.GITLAB_TOKEN && !env.GITLAB_WEBHOOK_SECRET && !secretsText) return undefined;
  if (!env.GITLAB_URL || !env.GITLAB_TOKEN || (!env.GITLAB_WEBHOOK_SECRET && !secretsText)) {
    throw new SignetError('CONFIG_INVALID', 'the GitLab bot needs GITLAB_URL, GITLAB_TOKEN and GITLAB_WEBHOOK_SECRET (or per-project GITLAB_WEBHOOK_SECRETS)');
  }
  return {
    url: env.GITLAB_URL.replace(/\/+$/, ''),
    token: env.GITLAB_TOKEN,
    ...(env.GITLAB_WEBHOOK_SECRET ? { webhookSecret: env.GITLAB_WEBHOOK_SECRET } : {}),
    ...(secretsText ? { projectSecrets: parseProjectSecrets(secretsText, secretsSource) } : {}),
  };
}

function readSecretsFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new SignetError(
      'CONFIG_INVALID',
      `GITLAB_WEBHOOK_SECRETS_FILE: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

/** `{"42": "secret", "group/project": "secret"}`; errors name the entry, never a secret. */
export function parseProjectSecrets(text: string, source: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SignetError('CONFIG_INVALID', `${source} is not JSON (expected {"<project id or group/project>": "<secret>", ...})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SignetError('CONFIG_INVALID', `${source} must be a JSON object of project → secret`);
  }
  const secrets = new Map<string, string>();
  for (const [project, secret] of Object.entries(parsed as Record<string, unknown>)) {
    if (!/^\d+$/.test(project) && !/^[^\s/]+(\/[^\s/]+)+$/.test(project))
      throw new SignetError('CONFIG_INVALID', `${source}: '${project}' is neither a project id nor a group/project path`);
    if (typeof secret !== 'string' || secret.length === 0)
      throw new SignetError('CONFIG_INVALID', `${source}: the secret of '${project}' must be a non-empty string`);
    secrets.set(project.toLowerCase(), secret);
  }
  return secrets;
}
