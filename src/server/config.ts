/**
 * The server's settings from the environment (docs/app.md "Settings"): Probot's usual
 * variables plus signet's own. Missing or malformed settings are one clear error each.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { getPrivateKey } from '@probot/get-private-key';
import { SignetError } from '../core/errors.ts';
import { readGitLabConfig, type GitLabConfig } from '../gitlab/config.ts';

export type { GitLabConfig };

export interface ServerConfig {
  appId: number;
  privateKey: string;
  webhookSecret: string;
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
  leaseMs: number;
  /** Spacing of one installation's GitHub write requests (GitHub asks for one second per installation token; 0 for local test servers). */
  writeIntervalMs: number;
  gitlab?: GitLabConfig;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new SignetError('CONFIG_INVALID', `${name} must be a non-negative number, not '${raw}'`);
  return value;
}

export function readServerConfig(env: NodeJS.ProcessEnv, cwd: string): ServerConfig {
  const appId = Number(env.APP_ID);
  if (!env.APP_ID || !Number.isInteger(appId) || appId <= 0)
    throw new SignetError('CONFIG_INVALID', 'APP_ID must be set to the GitHub App id (a positive number)');
  let privateKey: string | null = null;
  try {
    privateKey = getPrivateKey({ env: env as Record<string, string> });
  } catch (error) {
    throw new SignetError('CONFIG_INVALID', `cannot read the GitHub App private key: ${(error as Error).message}`);
  }
  if (!privateKey) throw new SignetError('CONFIG_INVALID', 'set PRIVATE_KEY (the PEM text) or PRIVATE_KEY_PATH (the .pem file GitHub issued)');
  if (!env.WEBHOOK_SECRET) throw new SignetError('CONFIG_INVALID', 'WEBHOOK_SECRET must be set to the GitHub App webhook secret');
  const baseUrl = env.GHE_HOST ? `${env.GHE_PROTOCOL || 'https'}://${env.GHE_HOST}/api/v3` : 'https://api.github.com';
  const gitlab = readGitLabConfig(env, cwd);
  return {
    appId,
    privateKey,
    webhookSecret: env.WEBHOOK_SECRET,
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
    leaseMs: number(env, 'SIGNET_CLAIM_LEASE_MS', 600_000),
    writeIntervalMs: number(env, 'SIGNET_GITHUB_WRITE_INTERVAL_MS', 1000),
    ...(gitlab ? { gitlab } : {}),
  };
}
