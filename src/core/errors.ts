/**
 * signet's one error model. Every error a caller can act on is a SignetError (or a subclass:
 * ForgeHttpError, ForgeError) carrying a stable `code`, as sigstore-js does, and callers branch
 * on the code's kind, never on message text:
 *
 * - `input`: the caller's flags, configuration, policy, keys or repository are wrong; fix them
 *   (CLI exit 2, HTTP 4xx). Retrying the same thing gives the same error.
 * - `outage`: something signet needs did not answer (the forge, its rate limit, the store, the
 *   time budget); nothing was judged, try again later (CLI exit 3, HTTP 503). Never a pass.
 * - `internal`: a bug in signet (CLI exit 2, as before exit 3 existed; HTTP 500).
 *
 * A verification refusal (an unsigned commit, a bad signature) is a verdict, not an error: it
 * has no code here and exits 1. The table of codes and what each caller does with them is in
 * docs/architecture.md ("Errors"). Messages are one line, name the thing that is wrong, and never
 * contain secrets.
 */
export type SignetErrorCode =
  // input: fix your input
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'POLICY_INVALID'
  /** A key file: OpenPGP keyring, SSH allowed signers or revoked keys, X.509 roots. */
  | 'KEYRING_INVALID'
  | 'REPOSITORY_INVALID'
  | 'REVISION_UNKNOWN'
  | 'OBJECT_MISSING'
  | 'OBJECT_CORRUPT'
  | 'OBJECT_MALFORMED'
  /** A signature file or bundle handed to a verify command cannot be read. */
  | 'SIGNATURE_MALFORMED'
  /** More work than signet's bounds allow (commits in one check). */
  | 'LIMIT_EXCEEDED'
  /** The forge refused: 401/403, the token is wrong or lacks a permission. */
  | 'FORGE_UNAUTHORIZED'
  /** The forge answered 404: no such thing, or the token may not see it. */
  | 'FORGE_NOT_FOUND'
  /** Any other 4xx, a redirect not followed, an answer of the wrong shape. */
  | 'FORGE_REJECTED'
  /** More pages or bytes than signet reads. */
  | 'FORGE_TOO_LARGE'
  // outage: try again later
  /** No answer: DNS, connection refused or reset, the socket closed. */
  | 'FORGE_UNREACHABLE'
  /** The forge answered 5xx. */
  | 'FORGE_OUTAGE'
  /** 429, or 403 with the rate limit spent. */
  | 'FORGE_RATE_LIMITED'
  /** The time budget ran out (the hook's, a check's, a fetch's). */
  | 'TIMEOUT'
  /** The database or the verdict records could not be read or written. */
  | 'STORE_UNAVAILABLE'
  /** An OCI registry did not answer, or answered 5xx or 429. */
  | 'REGISTRY_UNAVAILABLE'
  // internal: a bug
  | 'INTERNAL';

export type ErrorKind = 'input' | 'outage' | 'internal';

/** Every code and its kind: the finite set docs/architecture.md tabulates (a test holds them equal). */
export const ERROR_KINDS: Readonly<Record<SignetErrorCode, ErrorKind>> = {
  USAGE: 'input',
  CONFIG_INVALID: 'input',
  POLICY_INVALID: 'input',
  KEYRING_INVALID: 'input',
  REPOSITORY_INVALID: 'input',
  REVISION_UNKNOWN: 'input',
  OBJECT_MISSING: 'input',
  OBJECT_CORRUPT: 'input',
  OBJECT_MALFORMED: 'input',
  SIGNATURE_MALFORMED: 'input',
  LIMIT_EXCEEDED: 'input',
  FORGE_UNAUTHORIZED: 'input',
  FORGE_NOT_FOUND: 'input',
  FORGE_REJECTED: 'input',
  FORGE_TOO_LARGE: 'input',
  FORGE_UNREACHABLE: 'outage',
  FORGE_OUTAGE: 'outage',
  FORGE_RATE_LIMITED: 'outage',
  TIMEOUT: 'outage',
  STORE_UNAVAILABLE: 'outage',
  REGISTRY_UNAVAILABLE: 'outage',
  INTERNAL: 'internal',
};

/** What a caller does with an error of this code. */
export function kindOfCode(code: SignetErrorCode): ErrorKind {
  return ERROR_KINDS[code] ?? 'internal';
}

export class SignetError extends Error {
  readonly code: SignetErrorCode;
  constructor(code: SignetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignetError';
    this.code = code;
  }

  get kind(): ErrorKind {
    return kindOfCode(this.code);
  }

  /** Whether trying again later may succeed. */
  get retryable(): boolean {
    return this.kind === 'outage';
  }
}

export function isSignetError(value: unknown): value is SignetError {
  return value instanceof SignetError;
}

/**
 * The code of anything thrown: a SignetError's own; node:util parseArgs' ERR_PARSE_ARGS_* is
 * USAGE; anything else is INTERNAL (a bug until someone classifies it, so never an outage that
 * CI would retry forever, and never a pass).
 */
export function errorCodeOf(error: unknown): SignetErrorCode {
  if (error instanceof SignetError) return error.code;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return 'USAGE';
  return 'INTERNAL';
}

export function errorKindOf(error: unknown): ErrorKind {
  return kindOfCode(errorCodeOf(error));
}
