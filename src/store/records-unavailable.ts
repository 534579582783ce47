import { SignetError } from '../core/errors.ts';

/**
 * The hook's record files (first verdicts, rules a ref was judged under) could not be read or
 * written: an outage of the server's store (STORE_UNAVAILABLE), never a reason to judge without
 * them or to accept; the push is refused and may be tried again.
 */
export function recordsUnavailable(path: string, what: 'read' | 'write', error: unknown): SignetError {
  const code = (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message ?? String(error);
  return new SignetError('STORE_UNAVAILABLE', `cannot ${what} the server's records ${path} (${code})`, { cause: error });
}
