/**
 * What the two forge clients (github-client.ts, gitlab-client.ts) share: their options, one
 * hop sent with its deadline (no answer is FORGE_UNREACHABLE), and the retry rule (only
 * outages, only requests that may be repeated). Each client keeps what differs: where its token
 * goes, how it pages, what its answers look like.
 */
import { ForgeHttpError, httpStatusOf } from './http-error.ts';

export type HttpFetch = (url: string, init: RequestInit) => Promise<Response>;

export interface ForgeClientOptions {
  token: string;
  fetch?: HttpFetch;
  /** Delays before the retries of an idempotent call that met an outage (default 250 ms, 1 s). */
  retryDelaysMs?: readonly number[];
  /** What one call may take, body included (default 60 s). */
  timeoutMs?: number;
}

/** Redirects one call follows at the most. */
export const MAX_REDIRECTS = 5;
/** Methods whose repetition changes nothing more than the first did. */
export const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** One request on the wire, redirects left to the caller; no answer names `where`, never the URL's query or a header. */
export async function sendHop(doFetch: HttpFetch, url: URL, init: RequestInit, where: string, forge: string, timeoutMs: number): Promise<Response> {
  try {
    return await doFetch(url.href, { ...init, redirect: 'manual' });
  } catch (error) {
    const why = (error as Error).name === 'TimeoutError' ? `no answer within ${Math.round(timeoutMs / 1000)} s` : `${forge} could not be reached`;
    throw new ForgeHttpError('FORGE_UNREACHABLE', `${where}: ${why}`, { cause: error });
  }
}

/** Runs `attempt`, again after each delay while it fails with an outage and `repeatable` says it may be repeated. */
export async function withRetries<T>(delays: readonly number[], repeatable: boolean, attempt: () => Promise<T>): Promise<T> {
  for (let tried = 0; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      const delay = delays[tried];
      if (!(error instanceof ForgeHttpError && error.retryable && repeatable && delay !== undefined)) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** The answer of `call`, or `fallback` when the forge says there is no such thing (404: no release, not a member). */
export async function unlessNotFound<T, F>(call: () => Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await call();
  } catch (error) {
    if (httpStatusOf(error) !== 404) throw error;
    return fallback;
  }
}
