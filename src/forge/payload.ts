/**
 * Reading webhook payloads, for every forge's planner: a payload is whatever the sender wrote,
 * so each field is taken only when it has the expected shape (a non-empty string, an object id),
 * and the chat commands are matched the same way everywhere.
 */

export type Json = Record<string, unknown>;

/** An all-zero object id: a ref created (as `before`) or deleted (as `after`). */
export const ZERO = /^0+$/;

export function object(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A SHA-1 or SHA-256 object id in lower-case hex. */
export function sha(value: unknown): string | undefined {
  const s = text(value);
  return s && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(s) ? s : undefined;
}

/** An object id that names a commit (not the all-zero id). */
export function nonZero(value: unknown): string | undefined {
  const s = sha(value);
  return s && !ZERO.test(s) ? s : undefined;
}

/** The body asks for a re-check when one of its lines is exactly `/signet recheck` (a comment, a note). */
export function isRecheckCommand(body: string): boolean {
  return body.split(/\r?\n/).some((line) => line.trim() === '/signet recheck');
}
