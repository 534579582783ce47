/**
 * Signature checks several commits ahead of the one asked for: with a thread-pool runner
 * (src/core/native-verify.ts) the pool's threads stay busy while this thread walks and decides,
 * and this thread's event loop keeps serving everyone else meanwhile.
 */
import type { CommitResult } from '../core/verify-object.ts';

const IN_FLIGHT = 256;

/**
 * Verifies `oids` up to IN_FLIGHT ahead of the one asked for; ask in their order. A failure is
 * thrown when its commit is asked for, never before.
 */
export function verifyAhead(oids: string[], verify: (oid: string) => Promise<CommitResult>): (oid: string) => Promise<CommitResult> {
  const started = new Map<string, Promise<CommitResult>>();
  const attempt = (oid: string): Promise<CommitResult> => {
    try {
      return verify(oid);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  };
  let next = 0;
  return (oid) => {
    while (next < oids.length && started.size < IN_FLIGHT) {
      const ahead = oids[next++]!;
      const result = attempt(ahead);
      result.catch(() => undefined); // awaited when asked for
      started.set(ahead, result);
    }
    const result = started.get(oid) ?? attempt(oid);
    started.delete(oid);
    return result;
  };
}
