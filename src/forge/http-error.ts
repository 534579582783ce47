/**
 * A forge call that failed, as a SignetError whose code callers branch on (src/core/errors.ts):
 * an outage (unreachable, 5xx, rate limited: retryable, the forge's fault) is not a refusal
 * (4xx: our request, token or configuration is wrong, retrying will not help). Messages name
 * the call, never a token.
 */
import { SignetError, type SignetErrorCode } from '../core/errors.ts';

/** The codes a forge call fails with (a subset of SignetErrorCode). */
export type ForgeHttpCode = Extract<
  SignetErrorCode,
  'FORGE_UNREACHABLE' | 'FORGE_OUTAGE' | 'FORGE_RATE_LIMITED' | 'FORGE_NOT_FOUND' | 'FORGE_UNAUTHORIZED' | 'FORGE_REJECTED' | 'FORGE_TOO_LARGE'
>;

export class ForgeHttpError extends SignetError {
  declare readonly code: ForgeHttpCode;
  readonly status: number | undefined;
  constructor(code: ForgeHttpCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(code, message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ForgeHttpError';
    this.status = options.status;
  }
}

const FORGE_HTTP_CODES: ReadonlySet<string> = new Set<ForgeHttpCode>([
  'FORGE_UNREACHABLE',
  'FORGE_OUTAGE',
  'FORGE_RATE_LIMITED',
  'FORGE_NOT_FOUND',
  'FORGE_UNAUTHORIZED',
  'FORGE_REJECTED',
  'FORGE_TOO_LARGE',
]);

export function isForgeHttpCode(code: string): code is ForgeHttpCode {
  return FORGE_HTTP_CODES.has(code);
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

/** Socket-level failures: the host did not answer, so nothing was refused. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * The code of a failure from any forge library — our clients' ForgeHttpError, Octokit's and
 * gitbeaker's errors (`status`, `cause.response.status`), isomorphic-git's HttpError
 * (`data.statusCode`), fetch's "fetch failed" (a socket code in `cause`) — or undefined when the
 * failure says nothing about the forge (a caller then uses its own default).
 */
export function forgeCodeOf(error: unknown): SignetErrorCode | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof SignetError) return e.code;
    const shaped = e as { status?: unknown; code?: unknown; data?: { statusCode?: unknown }; response?: { status?: unknown; headers?: unknown } };
    const status = [shaped.status, shaped.data?.statusCode, shaped.response?.status].find((s): s is number => typeof s === 'number' && s >= 300);
    if (status !== undefined) return codeOfStatus(status, headersOf(shaped.response?.headers));
    if (typeof shaped.code === 'string' && UNREACHABLE.has(shaped.code)) return 'FORGE_UNREACHABLE';
  }
  return undefined;
}

function headersOf(headers: unknown): { get(name: string): string | null } | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  if (typeof (headers as Headers).get === 'function') return headers as Headers;
  const record = headers as Record<string, unknown>;
  return { get: (name) => (typeof record[name] === 'string' ? (record[name] as string) : null) };
}
