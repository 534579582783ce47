/**
 * The GitHub REST calls a check needs, over any Octokit-style `request` function (Probot's
 * installation client in production, which brings retries and rate-limit throttling).
 * Look-ups that change rarely are cached with expiry; file reads use ETags, so an unchanged
 * policy costs a 304 that GitHub does not count against the rate limit.
 */
import { ByteLru } from './byte-lru.ts';
import { ForgeError } from './forge-error.ts';
import { ForgeHttpError } from './http-error.ts';
import type { ForgeAccountKeys } from './forge-keys.ts';
import type { DefaultBranchReader } from './policy-source.ts';
import { TtlCache } from './ttl-cache.ts';

export type GitHubRequest = (
  route: string,
  parameters?: Record<string, unknown>,
) => Promise<{ status: number; data: unknown; headers: Record<string, unknown> }>;

export interface GitHubCaches {
  /** Policy and key files by repository, branch and path, with their ETags (bounded: byte-lru.ts). */
  files: ByteLru<{ etag: string; bytes: Uint8Array }>;
  accounts: TtlCache<string | null>;
  keys: TtlCache<ForgeAccountKeys>;
}

/**
 * Files kept for conditional reads: enough for a few thousand repositories' policy and key
 * files (a policy is a few KiB, a keyring tens), and no more than that however many distinct
 * paths and contents repositories make the app read.
 */
export const FILE_CACHE_LIMITS = { entries: 4096, bytes: 32 * 1024 * 1024 };

export function createGitHubCaches(ttlMs = 10 * 60_000, fileLimits: { entries: number; bytes: number } = FILE_CACHE_LIMITS): GitHubCaches {
  return { files: new ByteLru(fileLimits.entries, fileLimits.bytes), accounts: new TtlCache(ttlMs), keys: new TtlCache(ttlMs) };
}

/** What a cached file is charged: its bytes, its key and ETag as JavaScript strings, and the entry. */
function fileCost(key: string, etag: string, bytes: Uint8Array): number {
  return bytes.length + 2 * (key.length + etag.length) + 200;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown })?.status;
  return typeof status === 'number' ? status : undefined;
}

function apiError(what: string, error: unknown): ForgeError {
  const status = statusOf(error);
  const message = ((error as Error)?.message ?? String(error)).split('\n')[0];
  return new ForgeError('api', `${what}: ${status ? `HTTP ${status} ` : ''}${message}`, { cause: error });
}

/** Reads files of `branch` through the contents API (base64 JSON: binary-safe), with ETags. */
export function gitHubFileReader(request: GitHubRequest, caches: GitHubCaches, owner: string, repo: string, branch: string): DefaultBranchReader {
  return async (path: string) => {
    const key = `${owner}/${repo}/${branch}:${path}`;
    const cached = caches.files.get(key);
    try {
      const response = await request('GET /repos/{owner}/{repo}/contents/{path}', {
        owner,
        repo,
        path,
        ref: branch,
        ...(cached ? { headers: { 'if-none-match': cached.etag } } : {}),
      });
      const data = response.data as { type?: string; encoding?: string; content?: string; sha?: string };
      if (Array.isArray(data) || data.type !== 'file') throw new ForgeError('policy', `${path} on ${branch} is not a file`);
      let bytes: Uint8Array;
      if (data.encoding === 'base64' && typeof data.content === 'string') {
        bytes = Buffer.from(data.content, 'base64');
      } else {
        // Files over 1 MB come without content; the blob API serves them.
        const blob = await request('GET /repos/{owner}/{repo}/git/blobs/{file_sha}', { owner, repo, file_sha: data.sha });
        bytes = Buffer.from(String((blob.data as { content?: string }).content ?? ''), 'base64');
      }
      const etag = response.headers.etag;
      if (typeof etag === 'string') caches.files.set(key, { etag, bytes }, fileCost(key, etag, bytes));
      return bytes;
    } catch (error) {
      if (error instanceof ForgeError) throw error;
      const status = statusOf(error);
      if (status === 304 && cached) return cached.bytes;
      if (status === 404) {
        caches.files.delete(key);
        return undefined;
      }
      throw apiError(`reading ${path} from ${owner}/${repo}@${branch}`, error);
    }
  };
}

/**
 * Which account GitHub links each committer e-mail to. GitHub links a commit to a user only
 * through an e-mail verified on that account, so the answer is the verified-e-mail rule itself.
 * One request per e-mail not cached yet (any commit with that committer e-mail will do).
 */
export async function gitHubAccountsOfEmails(
  request: GitHubRequest,
  caches: GitHubCaches,
  owner: string,
  repo: string,
  sampleCommits: Map<string, string>,
  known: Map<string, string> = new Map(),
): Promise<Map<string, string>> {
  const accounts = new Map<string, string>();
  await Promise.all(
    [...sampleCommits].map(async ([email, sha]) => {
      const login =
        known.get(email) ??
        (await caches.accounts.get(email, async () => {
          try {
            const { data } = await request('GET /repos/{owner}/{repo}/commits/{ref}', { owner, repo, ref: sha });
            const committer = (data as { committer?: { login?: string } | null }).committer;
            return committer?.login ?? null;
          } catch (error) {
            throw apiError(`looking up the account of ${email} (commit ${sha.slice(0, 12)})`, error);
          }
        }));
      if (login) accounts.set(email, login);
    }),
  );
  return accounts;
}

/** Every page of a list (until a short page); more than `maxPages` of 100 is an error, never a silent cut. */
export async function listAll(request: GitHubRequest, route: string, parameters: Record<string, unknown>, maxPages = 50): Promise<unknown[]> {
  const items: unknown[] = [];
  for (let page = 1; page <= maxPages; page++) {
    const { data } = await request(route, { ...parameters, per_page: 100, page });
    if (!Array.isArray(data)) return items;
    items.push(...data);
    if (data.length < 100) return items;
  }
  throw new ForgeHttpError('FORGE_TOO_LARGE', `${route}: more than ${maxPages * 100} items`);
}

interface GitHubGpgKey {
  raw_key?: string | null;
  can_sign?: boolean;
  emails?: Array<{ email?: string; verified?: boolean }>;
}

/** The GPG and SSH signing keys `login` registered, with the e-mails GitHub verified on its GPG keys. */
export async function gitHubAccountKeys(
  request: GitHubRequest,
  caches: GitHubCaches,
  login: string,
  options: { trustedForAnyEmail?: boolean } = {},
): Promise<ForgeAccountKeys> {
  return caches.keys.get(`${login}\0${options.trustedForAnyEmail ? 1 : 0}`, async () => {
    try {
      const [gpg, ssh] = await Promise.all([
        listAll(request, 'GET /users/{username}/gpg_keys', { username: login }) as Promise<GitHubGpgKey[]>,
        options.trustedForAnyEmail
          ? Promise.resolve([])
          : (listAll(request, 'GET /users/{username}/ssh_signing_keys', { username: login }) as Promise<Array<{ key?: string }>>),
      ]);
      const verifiedEmails = new Set<string>();
      for (const key of gpg) for (const e of key.emails ?? []) if (e.verified && e.email) verifiedEmails.add(e.email.toLowerCase());
      return {
        account: login,
        gpgKeys: gpg.map((key) => key.raw_key).filter((raw): raw is string => typeof raw === 'string' && raw.includes('BEGIN PGP PUBLIC KEY BLOCK')),
        sshSigningKeys: ssh.map((key) => key.key).filter((key): key is string => typeof key === 'string'),
        verifiedEmails: [...verifiedEmails],
        ...(options.trustedForAnyEmail ? { trustedForAnyEmail: true } : {}),
      };
    } catch (error) {
      throw apiError(`reading the signing keys of ${login}`, error);
    }
  });
}
