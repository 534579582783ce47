/**
 * The GitLab bot's settings from the environment: GITLAB_URL, GITLAB_TOKEN and the webhook
 * secret. All or none: a half-configured bot is one clear error.
 */
import { SignetError } from '../core/errors.ts';

export interface GitLabConfig {
  /** e.g. https://gitlab.example.com (the API is under /api/v4). */
  url: string;
  token: string;
  webhookSecret: string;
}

export function readGitLabConfig(env: NodeJS.ProcessEnv): GitLabConfig | undefined {
  if (!env.GITLAB_URL && !env.GITLAB_TOKEN && !env.GITLAB_WEBHOOK_SECRET) return undefined;
  if (!env.GITLAB_URL || !env.GITLAB_TOKEN || !env.GITLAB_WEBHOOK_SECRET) {
    throw new SignetError('CONFIG_INVALID', 'the GitLab bot needs all of GITLAB_URL, GITLAB_TOKEN and GITLAB_WEBHOOK_SECRET');
  }
  return { url: env.GITLAB_URL.replace(/\/+$/, ''), token: env.GITLAB_TOKEN, webhookSecret: env.GITLAB_WEBHOOK_SECRET };
}
