/**
 * Per-repository bare caches of forge repositories, filled over git smart HTTP with
 * isomorphic-git and read with our own object store. Fetches are incremental (the cache's
 * refs are sent as "haves"), serialised per repository, and bounded in time: a forge that
 * hangs must not leave a check run in progress forever.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import nodeHttp from 'isomorphic-git/http/node';
import type { HttpClient } from 'isomorphic-git';
import { openRepository, type Repository } from '../git/repository.ts';
import { ForgeError } from './forge-error.ts';

export interface FetchRequest {
  /** Stable cache key, e.g. `github:owner/name` (hashed into a directory name). */
  key: string;
  /** Where the objects come from: the webhook's clone URL, never one we build. */
  url: string;
  /** Remote refs to bring in (`refs/heads/main`, `refs/pull/7/head`); all branches come too. */
  refs: string[];
  /** Commits that must exist afterwards (the head to check, the base to exclude). */
  wants: string[];
  /** HTTP basic credentials (GitHub: x-access-token + installation token). */
  auth?: { username: string; password: string };
}

export interface GitCacheOptions {
  root: string;
  /** Whole fetch budget per call. */
  timeoutMs?: number;
  /** Past this many packs the cache is dropped and fetched again as one pack. */
  maxPacks?: number;
  http?: HttpClient;
  /** The largest object read from the cache (SIGNET_MAX_OBJECT_BYTES; default: object-size-limit.ts). */
  maxObjectBytes?: number;
}

const REFSPECS = ['heads', 'tags', 'pull', 'merge-requests'].map((space) => `+refs/${space}/*:refs/remotes/origin/${space}/*`);

export class GitCache {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly repositories = new Map<string, Repository>();
  private readonly timeoutMs: number;
  private readonly maxPacks: number;
  private readonly http: HttpClient;

  constructor(private readonly options: GitCacheOptions) {
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxPacks = options.maxPacks ?? 64;
    this.http = options.http ?? nodeHttp;
  }

  directoryOf(key: string): string {
    const safe = key.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
    return join(this.options.root, `${safe}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.git`);
  }

  /** Brings the cache up to date for `request` and returns the repository to read. */
  async sync(request: FetchRequest): Promise<Repository> {
    return this.exclusive(request.key, () => this.syncLocked(request));
  }

  /** Drops a repository's cache (the app was uninstalled from it). */
  async forget(key: string): Promise<void> {
    await this.exclusive(key, async () => {
      this.repositories.get(key)?.objects.close();
      this.repositories.delete(key);
      await rm(this.directoryOf(key), { recursive: true, force: true });
    });
  }

  private async exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }

  private async syncLocked(request: FetchRequest): Promise<Repository> {
    const gitdir = this.directoryOf(request.key);
    let repo = this.repositories.get(request.key);
    if (repo && request.wants.every((oid) => repo!.objects.has(oid))) return repo;

    if ((await this.packCount(gitdir)) > this.maxPacks) {
      // isomorphic-git writes one pack per fetch and cannot repack; lookups slow down with
      // every pack, so start over with one.
      repo?.objects.close();
      this.repositories.delete(request.key);
      repo = undefined;
      await rm(gitdir, { recursive: true, force: true });
    }
    if (!fs.existsSync(join(gitdir, 'HEAD'))) await this.initialise(gitdir, request.url);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${Math.round(this.timeoutMs / 1000)} s`)), this.timeoutMs);
    const http: HttpClient = { request: (req) => this.http.request({ ...req, signal: controller.signal }) };
    const headers: Record<string, string> = {};
    if (request.auth) headers.authorization = `Basic ${Buffer.from(`${request.auth.username}:${request.auth.password}`).toString('base64')}`;
    try {
      for (const ref of request.refs.length > 0 ? request.refs : ['HEAD']) {
        await git.fetch({ fs, http, gitdir, url: request.url, remote: 'origin', remoteRef: ref, singleBranch: false, tags: false, headers });
      }
    } catch (error) {
      throw new ForgeError(
        controller.signal.aborted ? 'timeout' : 'fetch',
        `cannot fetch ${request.refs.join(', ')} from ${redact(request.url)}: ${describeFetchError(error, controller.signal)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }

    // The fetch wrote a new pack: forget the pack list (reads reopen packs on demand, and every
    // read is synchronous, so no reader is cut off mid-object).
    repo?.objects.close();
    repo ??= openRepository({ path: gitdir, cwd: gitdir, env: {} });
    if (this.options.maxObjectBytes !== undefined) repo.objects.maxObjectBytes = this.options.maxObjectBytes;
    this.repositories.set(request.key, repo);
    const missing = request.wants.filter((oid) => !repo!.objects.has(oid));
    if (missing.length > 0) {
      throw new ForgeError(
        'fetch',
        `commit ${missing[0]} is not in ${request.refs.join(', ')} at ${redact(request.url)} (the ref moved or was deleted since the event)`,
      );
    }
    return repo;
  }

  private async initialise(gitdir: string, url: string): Promise<void> {
    await mkdir(gitdir, { recursive: true });
    await git.init({ fs, gitdir, bare: true, defaultBranch: 'main' });
    await git.setConfig({ fs, gitdir, path: 'remote.origin.url', value: url });
    for (const spec of REFSPECS) await git.setConfig({ fs, gitdir, path: 'remote.origin.fetch', value: spec, append: true });
  }

  private async packCount(gitdir: string): Promise<number> {
    try {
      return (await readdir(join(gitdir, 'objects', 'pack'))).filter((name) => name.endsWith('.pack')).length;
    } catch {
      return 0;
    }
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<unparsable URL>';
  }
}

function describeFetchError(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return String((signal.reason as Error)?.message ?? 'timed out');
  const e = error as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string } };
  if (e?.data?.statusCode) return `HTTP ${e.data.statusCode} ${e.data.statusMessage ?? ''}`.trim();
  const cause = (error as { cause?: { code?: string } })?.cause;
  return [e?.code ?? cause?.code, e?.message].filter(Boolean).join(': ') || String(error);
}
