/**
 * The GitLab REST calls a check and the jobs need, over the one GitLab client
 * (src/forge/gitlab-client.ts), which owns the token, its origin, retries, pagination and
 * limits. Here: what each call means, look-ups cached with expiry, and failures turned into a
 * ForgeError that names the call (its cause keeps the client's ForgeHttpError and code).
 */
import { ForgeError } from './forge-error.ts';
import type { GitLabClient } from './gitlab-client.ts';
import { ForgeHttpError } from './http-error.ts';
import type { ForgeAccountKeys } from './forge-keys.ts';
import type { DefaultBranchReader } from './policy-source.ts';
import { TtlCache } from './ttl-cache.ts';

export type CommitState = 'pending' | 'running' | 'success' | 'failed' | 'canceled';

export interface GitLabUser {
  id: number;
  username: string;
}

/** An SSH key a GitLab user registered for signing, as GET /users/:id/keys lists it. */
export interface GitLabSshSigningKey {
  /** The OpenSSH public key line. */
  key: string;
  title?: string;
  /** GitLab's `expires_at` (ISO time); absent when the key never expires. */
  expiresAt?: string;
}

/** A GitLab account's keys; `sshSigningKeyDetails` is `sshSigningKeys` with what GitLab says about each. */
export interface GitLabAccountKeys extends ForgeAccountKeys {
  sshSigningKeyDetails: GitLabSshSigningKey[];
}

export interface GitLabCaches {
  users: TtlCache<GitLabUser | null>;
  keys: TtlCache<GitLabAccountKeys>;
}

export function createGitLabCaches(ttlMs = 10 * 60_000): GitLabCaches {
  return { users: new TtlCache(ttlMs), keys: new TtlCache(ttlMs) };
}

/** Pages of 100 a user's key list may take: more is an error (the client's FORGE_TOO_LARGE), never a cut. */
const KEY_PAGES = 10;

/** Runs a call through the client; a failure names `what` (the client already retried outages). */
export async function gitLabCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ForgeError('api', `${what}: ${((error as Error)?.message ?? String(error)).split('\n')[0]}`, { cause: error });
  }
}

/** Reads files of `ref` in project `projectId` (base64 JSON: binary-safe); a missing file is undefined. */
export function gitLabFileReader(client: GitLabClient, projectId: number, ref: string): DefaultBranchReader {
  return async (path: string) => {
    try {
      const file = await client.json<{ content?: string }>(
        `/projects/${projectId}/repository/files/${encodeURIComponent(path)}?ref=${encodeURIComponent(ref)}`,
      );
      return Buffer.from(String(file.content ?? ''), 'base64');
    } catch (error) {
      if (error instanceof ForgeHttpError && error.code === 'FORGE_NOT_FOUND') return undefined;
      throw new ForgeError('api', `reading ${path} from project ${projectId}@${ref}: ${(error as Error).message}`, { cause: error });
    }
  };
}

export async function gitLabAccountKeys(client: GitLabClient, caches: GitLabCaches, user: GitLabUser, verifiedEmails: string[]): Promise<GitLabAccountKeys> {
  const keys = await caches.keys.get(String(user.id), async () => {
    const [gpg, ssh] = await Promise.all([
      gitLabCall(`reading the GPG keys of ${user.username}`, () => client.list<{ key?: string }>(`/users/${user.id}/gpg_keys`, KEY_PAGES)),
      gitLabCall(`reading the SSH keys of ${user.username}`, () =>
        client.list<{ key?: string; title?: string; usage_type?: string; expires_at?: string | null }>(`/users/${user.id}/keys`, KEY_PAGES),
      ),
    ]);
    const sshSigningKeyDetails = ssh
      .filter((k) => k.usage_type === undefined || k.usage_type === 'signing' || k.usage_type === 'auth_and_signing')
      .filter((k): k is typeof k & { key: string } => typeof k.key === 'string')
      .map((k) => ({
        key: k.key,
        ...(typeof k.title === 'string' ? { title: k.title } : {}),
        ...(typeof k.expires_at === 'string' ? { expiresAt: k.expires_at } : {}),
      }));
    return {
      account: user.username,
      gpgKeys: gpg.map((k) => k.key).filter((k): k is string => typeof k === 'string' && k.includes('BEGIN PGP PUBLIC KEY BLOCK')),
      sshSigningKeys: sshSigningKeyDetails.map((k) => k.key),
      sshSigningKeyDetails,
      verifiedEmails: [],
    };
  });
  return { ...keys, verifiedEmails };
}
