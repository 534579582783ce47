/**
 * Errors carry a stable `code` (as sigstore-js does) so callers branch on the code, never on
 * message text. Messages are one line, name the thing that is wrong, and never contain secrets.
 */
export type SignetErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'POLICY_INVALID'
  | 'KEYRING_INVALID'
  | 'ALLOWED_SIGNERS_INVALID'
  | 'OBJECT_MISSING'
  | 'OBJECT_CORRUPT'
  | 'OBJECT_MALFORMED'
  | 'REVISION_UNKNOWN'
  | 'REPOSITORY_INVALID'
  | 'SIGNATURE_MALFORMED'
  | 'INTERNAL';

export class SignetError extends Error {
  readonly code: SignetErrorCode;
  constructor(code: SignetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SignetError';
    this.code = code;
  }
}

export function isSignetError(value: unknown): value is SignetError {
  return value instanceof SignetError;
}
