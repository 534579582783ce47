/**
 * The GitLab REST calls the bot needs, through @gitbeaker/rest. gitbeaker retries 429 and
 * 502 itself; we add a short retry for the other transient answers (500, 503, 504) and turn
 * every failure into a ForgeError that names the call.
 */
import { Gitlab } from '@gitbeaker/rest';
import { ForgeError } from './forge-error.ts';
import type { GitLabClient } from './gitlab-client.ts';
import { ForgeHttpError } from './http-error.ts';
import type { ForgeAccountKeys } from './forge-keys.ts';
import type { DefaultBranchReader } from './policy-source.ts';
import { TtlCache } from './ttl-cache.ts';

export type GitLabApi = InstanceType<typeof Gitlab<false>>;
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

export function createGitLabApi(url: string, token: string): GitLabApi {
  return new Gitlab({ host: url, token, queryTimeout: 30_000 });
}

export function createGitLabCaches(ttlMs = 10 * 60_000): GitLabCaches {
  return { users: new TtlCache(ttlMs), keys: new TtlCache(ttlMs) };
}

function statusOf(error: unknown): number | undefined {
  const cause = (error as { cause?: { response?: { status?: number } } })?.cause;
  return cause?.response?.status;
}

const TRANSIENT = new Set([500, 503, 504]);

/** Runs a GitLab call, retrying transient server errors twice; failures name `what`. */
export async function gitLabCall<T>(what: string, call: () => Promise<T>, retryDelaysMs: number[] = [250, 1000]): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const status = statusOf(error);
      const delay = retryDelaysMs[attempt];
      if (status !== undefined && TRANSIENT.has(status) && delay !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      const message = ((error as Error)?.message ?? String(error)).split('\n')[0];
      throw new ForgeError('api', `${what}: ${status ? `HTTP ${status} ` : ''}${message}`, { cause: error });
    }
  }
}

export function gitLabFileReader(api: GitLabApi, projectId: number, branch: string): DefaultBranchReader {
  return async (path: string) => {
    try {
      const file = await gitLabCall(`reading ${path} from project ${projectId}@${branch}`, () => api.RepositoryFiles.show(projectId, path, branch));
      return Buffer.from(String((file as { content?: string }).content ?? ''), 'base64');
    } catch (error) {
      if (statusOf((error as { cause?: unknown }).cause) === 404) return undefined;
      throw error;
    }
  };
}

/** The same reads over the one GitLab client (src/forge/gitlab-client.ts), which `/sign-release` uses. */
export function gitLabClientFileReader(client: GitLabClient, projectId: number, ref: string): DefaultBranchReader {
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

/**
 * The GitLab user a committer e-mail belongs to. GitLab's user search matches e-mails
 * exactly (all e-mails for administrators, public ones otherwise); a user counts only when
 * one of the e-mails the API shows equals the committer's.
 */
export async function gitLabUserOfEmail(api: GitLabApi, caches: GitLabCaches, email: string): Promise<GitLabUser | undefined> {
  const user = await caches.users.get(email, async () => {
    const users = (await gitLabCall(`looking up the user of ${email}`, () => api.Users.all({ search: email }))) as Array<Record<string, unknown>>;
    for (const candidate of users) {
      const emails = [candidate.email, candidate.public_email, candidate.commit_email]
        .filter((e): e is string => typeof e === 'string')
        .map((e) => e.toLowerCase());
      if (emails.includes(email) && typeof candidate.id === 'number' && typeof candidate.username === 'string')
        return { id: candidate.id, username: candidate.username };
    }
    return null;
  });
  return user ?? undefined;
}

/** A user's GPG keys and the SSH keys registered for signing (usage_type signing or auth_and_signing). */
export async function gitLabAccountKeys(api: GitLabApi, caches: GitLabCaches, user: GitLabUser, verifiedEmails: string[]): Promise<GitLabAccountKeys> {
  const keys = await caches.keys.get(String(user.id), async () => {
    const [gpg, ssh] = await Promise.all([
      gitLabCall(`reading the GPG keys of ${user.username}`, () => api.UserGPGKeys.all({ userId: user.id })) as Promise<Array<{ key?: string }>>,
      gitLabCall(`reading the SSH keys of ${user.username}`, () => api.UserSSHKeys.all({ userId: user.id })) as Promise<
        Array<{ key?: string; title?: string; usage_type?: string; expires_at?: string | null }>
      >,
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
