import { SignetError } from '../core/errors.ts';

/** A store failure as an outage: the database did not answer, nothing was decided, try again. */
export function storeUnavailable(kind: string, error: unknown): SignetError {
  if (error instanceof SignetError) return error;
  const message = ((error as Error)?.message ?? String(error)).split('\n')[0];
  const code = (error as { code?: unknown })?.code;
  return new SignetError('STORE_UNAVAILABLE', `the ${kind} store is unavailable: ${typeof code === 'string' ? `${code}: ` : ''}${message}`, { cause: error });
}

/**
 * The same store whose every failure is STORE_UNAVAILABLE (src/core/errors.ts), so callers tell
 * "the database is down" from a bug without knowing the driver's errors. Messages carry the
 * driver's code and first line, never the connection string.
 */
export function guardStore<Store extends { readonly kind: string }>(store: Store): Store {
  const methods = store as unknown as Record<string, unknown>;
  const guarded: Record<string, unknown> = { kind: store.kind };
  for (const name of Object.keys(methods)) {
    const member = methods[name];
    if (typeof member !== 'function') {
      guarded[name] = member;
      continue;
    }
    guarded[name] = async (...args: unknown[]) => {
      try {
        return await (member as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      } catch (error) {
        throw storeUnavailable(store.kind, error);
      }
    };
  }
  return guarded as unknown as Store;
}
