/**
 * One installation's GitHub requests as GitHub's "best practices for using the REST API" ask:
 * content-creating requests (anything but GET and HEAD) serially and spaced in the
 * installation's own lane (write-spacing.ts), and a secondary rate limit — 403 or 429 with
 * Retry-After, or naming the secondary rate limit — waited out before trying again, by this
 * installation only: the hold goes on its lane, so its next writes wait too, and no other
 * installation's do. Past a few holds, or a hold longer than `maxHoldMs`, the error stands
 * (the check run then says what broke or stays pending): never a silent pass.
 */
import type { GitHubRequest } from './github-api.ts';
import type { WriteSpacing } from './write-spacing.ts';

export interface WriteLaneOptions {
  /** Holds waited out for one request before its error stands (default 3). */
  maxHolds?: number;
  /** A Retry-After longer than this is not waited for (default 15 minutes). */
  maxHoldMs?: number;
}

/** GitHub's advice when a secondary limit gives no Retry-After: wait at least a minute. */
const DEFAULT_HOLD_MS = 60_000;

/** How long a secondary-rate-limit answer asks to wait (ms), or undefined when the error is not one. */
export function secondaryLimitHold(error: unknown): number | undefined {
  const status = (error as { status?: unknown })?.status;
  if (status !== 403 && status !== 429) return undefined;
  const headers = ((error as { response?: { headers?: Record<string, unknown> } })?.response?.headers ?? {}) as Record<string, unknown>;
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined && retryAfter !== null && retryAfter !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(String(retryAfter));
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
    return DEFAULT_HOLD_MS;
  }
  // A primary limit (x-ratelimit-remaining: 0) is Octokit's throttling's to wait out; a plain
  // 403 is a refusal, not a limit.
  if (String(headers['x-ratelimit-remaining']) === '0') return undefined;
  if (status === 429 || /secondary rate limit/i.test(String((error as Error)?.message ?? ''))) return DEFAULT_HOLD_MS;
  return undefined;
}

export function githubWriteLanes(request: GitHubRequest, spacing: WriteSpacing, key: string, options: WriteLaneOptions = {}): GitHubRequest {
  const maxHolds = options.maxHolds ?? 3;
  const maxHoldMs = options.maxHoldMs ?? 15 * 60_000;
  return async (route, parameters) => {
    const method = route.slice(0, route.indexOf(' ')).toUpperCase();
    const write = method !== 'GET' && method !== 'HEAD';
    for (let holds = 0; ; holds++) {
      try {
        if (write) return await spacing.schedule(key, () => request(route, parameters));
        // Reads are not spaced, but a hold on the installation applies to them too.
        const held = spacing.heldFor(key);
        if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
        return await request(route, parameters);
      } catch (error) {
        const holdMs = secondaryLimitHold(error);
        if (holdMs === undefined || holds >= maxHolds || holdMs > maxHoldMs) throw error;
        spacing.holdOff(key, Date.now() + holdMs);
      }
    }
  };
}
