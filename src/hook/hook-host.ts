import { terminalText } from '../core/render/terminal-text.ts';

/**
 * Where the hook runs changes what it may print and how long it has:
 * - GitLab shows the pusher only lines that start with `GL-HOOK-ERR:`;
 * - GitHub Enterprise Server gives all hooks of a push 5 seconds together;
 * - plain git shows everything and waits.
 */
export type HookHost = 'git' | 'github-enterprise' | 'gitlab';

export interface HookContext {
  host: HookHost;
  /** Who pushed, as the host names them (or as a verified push certificate names them). */
  pusher: string;
  /** Where `pusher` comes from: the host's variable, or `push certificate` when a signed push proved it. */
  pusherSource?: string;
  /** How the push arrived (protocol, or GHES's GITHUB_VIA such as "pull request merge button"). */
  via?: string;
  repository?: string;
  /** GHES merges from the web UI: the pull request's number, base and head. */
  pullRequest?: { author?: string; base?: string; head?: string };
  /** Milliseconds this hook may spend before failing closed. */
  budgetMs: number;
}

/**
 * @param localRepository on a plain git server, the repository's name from `signet.repository`
 * in its config, or its path: the hook knows where it runs even when no host variable says so.
 */
export function detectHookContext(env: NodeJS.ProcessEnv, configuredBudgetMs?: number, localRepository?: string): HookContext {
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
  // Strongest first: gitolite's authenticated user (GL_USER), the web server's authenticated user
  // (REMOTE_USER behind HTTP auth), the admin's own GIT_PUSHER; USER last, which over SSH is the
  // shared account (`git`) and says little.
  const [pusherSource, pusher] = (['GL_USER', 'REMOTE_USER', 'GIT_PUSHER', 'USER'] as const)
    .map((name) => [name, env[name]] as const)
    .find(([, value]) => value !== undefined && value !== '') ?? ['none', 'unknown'];
  return {
    host: 'git',
    pusher: pusher ?? 'unknown',
    pusherSource,
    ...(env.GIT_PROTOCOL ? { via: env.GIT_PROTOCOL } : {}),
    ...(localRepository ? { repository: localRepository } : {}),
    budgetMs: configuredBudgetMs ?? 60_000,
  };
}

/**
 * A push certificate whose signature we verified (G) names the pusher more strongly than any
 * variable of the host: the key signed it. Otherwise the context stays as it was.
 */
export function withCertifiedPusher(context: HookContext, certificate: { status: string; signer?: string } | undefined): HookContext {
  if (certificate?.status !== 'G' || !certificate.signer) return context;
  return { ...context, pusher: certificate.signer, pusherSource: 'push certificate' };
}

/**
 * Formats lines for the pusher's terminal as the host will show them. This is the one place the
 * hook writes to the pusher: every whole line goes through terminalText here, so no message built
 * from a subject, a user ID or a ref name can carry ESC, CR, a newline (a forged `remote:` or
 * `GL-HOOK-ERR:` line) or a bidi control, whichever path built it.
 */
export function forPusher(host: HookHost, lines: string[]): string {
  const prefix = host === 'gitlab' ? 'GL-HOOK-ERR: ' : '';
  return lines.map((line) => `${prefix}${terminalText(line)}\n`).join('');
}
