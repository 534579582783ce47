/**
 * A forge call that failed, with a code callers branch on: an outage (unreachable, 5xx, rate
 * limited: retryable, the forge's fault) is not a refusal (4xx: our request, token or
 * configuration is wrong, retrying will not help). Messages name the call, never a token.
 */
export type ForgeHttpCode =
  /** No answer: DNS, connection refused or reset, timeout. Retryable. */
  | 'FORGE_UNREACHABLE'
  /** 5xx. Retryable. */
  | 'FORGE_OUTAGE'
  /** 429, or 403 with the rate limit spent. Retryable later. */
  | 'FORGE_RATE_LIMITED'
  /** 404: no such thing, or the token may not see it. */
  | 'FORGE_NOT_FOUND'
  /** 401/403: the token is wrong or lacks a permission. */
  | 'FORGE_UNAUTHORIZED'
  /** Any other 4xx (or a redirect not followed): the request itself is wrong. */
  | 'FORGE_REJECTED'
  /** More pages or bytes than signet reads. */
  | 'FORGE_TOO_LARGE';

export class ForgeHttpError extends Error {
  readonly code: ForgeHttpCode;
  readonly status: number | undefined;
  constructor(code: ForgeHttpCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ForgeHttpError';
    this.code = code;
    this.status = options.status;
  }

  /** Whether trying again later may succeed. */
  get retryable(): boolean {
    return this.code === 'FORGE_UNREACHABLE' || this.code === 'FORGE_OUTAGE' || this.code === 'FORGE_RATE_LIMITED';
  }
}

export function codeOfStatus(status: number, headers?: { get(name: string): string | null }): ForgeHttpCode {
  if (status === 429 || (status === 403 && headers?.get('x-ratelimit-remaining') === '0')) return 'FORGE_RATE_LIMITED';
  if (status >= 500) return 'FORGE_OUTAGE';
  if (status === 404) return 'FORGE_NOT_FOUND';
  if (status === 401 || status === 403) return 'FORGE_UNAUTHORIZED';
  return 'FORGE_REJECTED';
}

/** The HTTP status of a ForgeHttpError or of an Octokit-style error (`status`). */
export function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown })?.status;
  return typeof status === 'number' ? status : undefined;
}
