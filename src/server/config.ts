/**
 * The server's settings from the environment (docs/app.md "Settings"): Probot's usual
 * variables plus signet's own. Missing or malformed settings are one clear error each.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { getPrivateKey } from '@probot/get-private-key';
import { DEFAULT_CHECKS_PER_INSTALLATION } from '../checks/installation-shares.ts';
import { DEFAULT_MEMO_REGISTRIES, DEFAULT_MEMO_REGISTRY_BYTES } from '../checks/registry-memo.ts';
import { DEFAULT_MEMO_BYTES, DEFAULT_MEMO_ENTRIES, type VerdictMemoOptions } from '../checks/verdict-memo.ts';
import { SignetError } from '../core/errors.ts';
import { parseByteSize } from '../release/limits.ts';
import { readGitLabConfig, type GitLabConfig } from '../gitlab/config.ts';
import { parseMaxObjectBytes } from '../git/object-size-limit.ts';

export type { GitLabConfig };

/** The GitHub App's settings; absent on a GitLab-only deployment. */
export interface GitHubAppConfig {
  appId: number;
  privateKey: string;
  webhookSecret: string;
}

export interface ServerConfig {
  github?: GitHubAppConfig;
  /** GitHub REST base URL: https://api.github.com, or GHE_PROTOCOL://GHE_HOST/api/v3. */
  baseUrl: string;
  port: number;
  host: string;
  webhookPath: string;
  logLevel: string;
  cacheDir: string;
  databaseUrl?: string;
  sqlitePath: string;
  instanceId: string;
  checkTimeoutMs: number;
  /** Most commits one check judges; past it the check fails and says so. */
  maxCommits: number;
  fetchTimeoutMs: number;
  keyCacheTtlMs: number;
  /** The largest git object a check reads (SIGNET_MAX_OBJECT_BYTES). */
  maxObjectBytes: number;
  leaseMs: number;
  /** Spacing of one installation's GitHub write requests (GitHub asks for one second per installation token; 0 for local test servers). */
  writeIntervalMs: number;
  /** Bounds of the verdict memo (SIGNET_MEMO_*); maxEntries 0: no memo. */
  memo: Required<VerdictMemoOptions>;
  /** Checks of one installation (GitLab: project) computed at once (SIGNET_CHECKS_PER_INSTALLATION). */
  checksPerInstallation: number;
  gitlab?: GitLabConfig;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new SignetError('CONFIG_INVALID', `${name} must be a non-negative number, not '${raw}'`);
  return value;
}

/** A whole number of at least `least`; anything else is an error naming the variable. */
function whole(env: NodeJS.ProcessEnv, name: string, fallback: number, least: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < least)
    throw new SignetError('CONFIG_INVALID', `${name} must be a whole number of at least ${least}, not '${raw.slice(0, 40)}'`);
  return value;
}

/** The variables that say "this deployment is a GitHub App" (any one of them set). */
export const GITHUB_SETTINGS = ['APP_ID', 'PRIVATE_KEY', 'PRIVATE_KEY_PATH', 'WEBHOOK_SECRET'] as const;
/** The variables that say "this deployment runs the GitLab bot". */
export const GITLAB_SETTINGS = ['GITLAB_URL', 'GITLAB_TOKEN', 'GITLAB_WEBHOOK_SECRET', 'GITLAB_WEBHOOK_SECRETS', 'GITLAB_WEBHOOK_SECRETS_FILE'] as const;

/**
 * Nothing of either forge is set: `npm start` then serves the setup page instead of failing.
 * Any one variable set means a deployment was meant, and a partial one is an error naming
 * what is missing (never a silent fallback to the setup page).
 */
export function nothingConfigured(env: NodeJS.ProcessEnv): boolean {
  return [...GITHUB_SETTINGS, ...GITLAB_SETTINGS].every((name) => !env[name]);
}

function readGitHubAppConfig(env: NodeJS.ProcessEnv): GitHubAppConfig | undefined {
  // Only the environment decides: @probot/get-private-key would also pick up a lone *.pem
  // file in the working directory, which must not turn a GitLab-only deployment into an App.
  if (GITHUB_SETTINGS.every((name) => !env[name])) return undefined;
  const appId = Number(env.APP_ID);
  if (!env.APP_ID || !Number.isInteger(appId) || appId <= 0)
    throw new SignetError('CONFIG_INVALID', 'APP_ID must be set to the GitHub App id (a positive number)');
  let privateKey: string | null = null;
  try {
    privateKey = env.PRIVATE_KEY || env.PRIVATE_KEY_PATH ? getPrivateKey({ env: env as Record<string, string> }) : null;
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `cannot read the GitHub App private key: ${(error as Error).message}`);
  }
  if (!privateKey) throw new SignetError('CONFIG_INVALID', 'set PRIVATE_KEY (the PEM text) or PRIVATE_KEY_PATH (the .pem file GitHub issued)');
  if (!env.WEBHOOK_SECRET) throw new SignetError('CONFIG_INVALID', 'WEBHOOK_SECRET must be set to the GitHub App webhook secret');
  return { appId, privateKey, webhookSecret: env.WEBHOOK_SECRET };
}

export function readServerConfig(env: NodeJS.ProcessEnv, cwd: string): ServerConfig {
  const github = readGitHubAppConfig(env);
  const gitlab = readGitLabConfig(env, cwd);
  if (!github && !gitlab)
    throw new SignetError(
      'CONFIG_INVALID',
      'set the GitHub App (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET) or the GitLab bot (GITLAB_URL, GITLAB_TOKEN, GITLAB_WEBHOOK_SECRET); see docs/app.md',
    );
  const baseUrl = env.GHE_HOST ? `${env.GHE_PROTOCOL || 'https'}://${env.GHE_HOST}/api/v3` : 'https://api.github.com';
  return {
    ...(github ? { github } : {}),
    baseUrl,
    port: number(env, 'PORT', 3000),
    host: env.HOST || 'localhost',
    webhookPath: env.WEBHOOK_PATH || '/api/github/webhooks',
    logLevel: env.LOG_LEVEL || 'info',
    cacheDir: resolve(cwd, env.SIGNET_CACHE_DIR || '.data/repos'),
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    sqlitePath: resolve(cwd, env.SIGNET_SQLITE_PATH || '.data/signet.sqlite'),
    instanceId: env.SIGNET_INSTANCE_ID || randomUUID(),
    checkTimeoutMs: number(env, 'SIGNET_CHECK_TIMEOUT_MS', 300_000),
    maxCommits: number(env, 'SIGNET_CHECK_MAX_COMMITS', 20_000),
    fetchTimeoutMs: number(env, 'SIGNET_FETCH_TIMEOUT_MS', 120_000),
    keyCacheTtlMs: number(env, 'SIGNET_KEY_CACHE_TTL_MS', 600_000),
    maxObjectBytes: parseMaxObjectBytes(env.SIGNET_MAX_OBJECT_BYTES, 'SIGNET_MAX_OBJECT_BYTES'),
    leaseMs: number(env, 'SIGNET_CLAIM_LEASE_MS', 600_000),
    writeIntervalMs: number(env, 'SIGNET_GITHUB_WRITE_INTERVAL_MS', 1000),
    memo: {
      maxEntries: whole(env, 'SIGNET_MEMO_MAX_ENTRIES', DEFAULT_MEMO_ENTRIES, 0),
      maxBytes: env.SIGNET_MEMO_MAX_BYTES ? parseByteSize('SIGNET_MEMO_MAX_BYTES', env.SIGNET_MEMO_MAX_BYTES) : DEFAULT_MEMO_BYTES,
      maxRegistries: whole(env, 'SIGNET_MEMO_MAX_REGISTRIES', DEFAULT_MEMO_REGISTRIES, 1),
      maxRegistryBytes: env.SIGNET_MEMO_MAX_REGISTRY_BYTES
        ? parseByteSize('SIGNET_MEMO_MAX_REGISTRY_BYTES', env.SIGNET_MEMO_MAX_REGISTRY_BYTES)
        : DEFAULT_MEMO_REGISTRY_BYTES,
    },
    checksPerInstallation: whole(env, 'SIGNET_CHECKS_PER_INSTALLATION', DEFAULT_CHECKS_PER_INSTALLATION, 1),
    ...(gitlab ? { gitlab } : {}),
  };
}
