import { SignetError } from '../core/errors.ts';

/**
 * The largest object signet inflates (commits and tags it verifies, the trees a path rule
 * diffs, a push certificate's blob), checked against the size the object declares before any
 * buffer of that size is made.
 *
 * Why 16 MiB: a pack entry's or loose object's declared size is the pusher's (or whoever wrote
 * the repository's) claim, and signet allocates it before inflating. git's index-pack checks a
 * pushed pack, but the store also reads what never went through it (a cache, alternates, a
 * repository copied in CI). A commit is held whole, hashed from a second copy and its signed
 * payload is a third, so 16 MiB costs ~48 MiB at once, inside `verify`'s 128 MiB; it is also
 * a thousand times the largest commit messages real projects carry, so a 10 MB message still
 * passes. Larger objects fail closed (the push or check is refused, naming the object);
 * `SIGNET_MAX_OBJECT_BYTES` (or the hook's `git config signet.maxObjectBytes`) raises it.
 */
export const DEFAULT_MAX_OBJECT_BYTES = 16 * 1024 * 1024;

/** The limit from a setting's text: a positive whole number of bytes, or the default when unset. */
export function parseMaxObjectBytes(text: string | undefined, setting: string): number {
  if (text === undefined || text.trim() === '') return DEFAULT_MAX_OBJECT_BYTES;
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new SignetError('CONFIG_INVALID', `${setting}: '${text.slice(0, 40)}' is not a positive whole number of bytes`);
  return value;
}

/** The one-line refusal of an object over the limit; `what` names the object. */
export function objectTooLarge(what: string, declared: number, limit: number): SignetError {
  return new SignetError(
    'LIMIT_EXCEEDED',
    `${what} declares ${declared} bytes, over the ${limit} bytes signet reads of one object (SIGNET_MAX_OBJECT_BYTES, git config signet.maxObjectBytes)`,
  );
}

/**
 * The most bytes a delta producing at most `limit` bytes can take: every byte inserted, one
 * opcode per 127, and the two size headers.
 */
export function deltaBound(limit: number): number {
  return limit + Math.ceil(limit / 127) + 20;
}
