/**
 * Where the hook runs changes what it may print and how long it has:
 * - GitLab shows the pusher only lines that start with `GL-HOOK-ERR:`;
 * - GitHub Enterprise Server gives all hooks of a push 5 seconds together;
 * - plain git shows everything and waits.
 */
export type HookHost = 'git' | 'github-enterprise' | 'gitlab';

export interface HookContext {
  host: HookHost;
  /** Who pushed, as the host names them. */
  pusher: string;
  /** How the push arrived (protocol, or GHES's GITHUB_VIA such as "pull request merge button"). */
  via?: string;
  repository?: string;
  /** GHES merges from the web UI: the pull request's number, base and head. */
  pullRequest?: { author?: string; base?: string; head?: string };
  /** Milliseconds this hook may spend before failing closed. */
  budgetMs: number;
}

export function detectHookContext(env: NodeJS.ProcessEnv, configuredBudgetMs?: number): HookContext {
  if (env.GL_ID || env.GL_PROTOCOL || env.GL_USERNAME) {
    return {
      host: 'gitlab',
      pusher: env.GL_USERNAME ?? env.GL_ID ?? 'unknown',
      ...(env.GL_PROTOCOL ? { via: env.GL_PROTOCOL } : {}),
      ...(env.GL_PROJECT_PATH ? { repository: env.GL_PROJECT_PATH } : {}),
      budgetMs: configuredBudgetMs ?? 30_000,
    };
  }
  if (env.GITHUB_USER_LOGIN || env.GITHUB_REPO_NAME || env.GITHUB_VIA) {
    return {
      host: 'github-enterprise',
      pusher: env.GITHUB_USER_LOGIN ?? 'unknown',
      ...(env.GITHUB_VIA ? { via: env.GITHUB_VIA } : {}),
      ...(env.GITHUB_REPO_NAME ? { repository: env.GITHUB_REPO_NAME } : {}),
      ...(env.GITHUB_PULL_REQUEST_HEAD || env.GITHUB_PULL_REQUEST_BASE
        ? { pullRequest: { author: env.GITHUB_PULL_REQUEST_AUTHOR_LOGIN, base: env.GITHUB_PULL_REQUEST_BASE, head: env.GITHUB_PULL_REQUEST_HEAD } }
        : {}),
      // 5 s for every hook of the push together: leave room for the others and for git.
      budgetMs: configuredBudgetMs ?? 4_000,
    };
  }
  return { host: 'git', pusher: env.GIT_PUSHER ?? env.REMOTE_USER ?? env.USER ?? 'unknown', ...(env.GIT_PROTOCOL ? { via: env.GIT_PROTOCOL } : {}), budgetMs: configuredBudgetMs ?? 60_000 };
}

/** Formats lines for the pusher's terminal as the host will show them. */
export function forPusher(host: HookHost, lines: string[]): string {
  const prefix = host === 'gitlab' ? 'GL-HOOK-ERR: ' : '';
  return lines.map((line) => `${prefix}${line}\n`).join('');
}
