/**
 * One node:crypto signature check, described as data so that it can run either here, on the
 * calling thread, or on libuv's thread pool (crypto.verify with a callback). On the pool the
 * elliptic-curve arithmetic, most of a verification's cost, runs on another core while this
 * thread parses the next object: a range is verified on every core without worker threads.
 */
import { verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';

export interface NativeCheck {
  /** Digest name, or null for Ed25519 (which hashes inside the algorithm). */
  algorithm: string | null;
  data: Uint8Array;
  key: KeyObject | VerifyKeyObjectInput;
  signature: Uint8Array;
}

/** true or false from the cryptography, or the error node:crypto raised (unusable key or value). */
export type NativeOutcome = boolean | Error;

/** Runs native checks: here (synchronously) or elsewhere (a promise). */
export interface CheckRunner {
  run(check: NativeCheck): NativeOutcome | Promise<NativeOutcome>;
}

export function runNativeCheck(check: NativeCheck): NativeOutcome {
  try {
    return verify(check.algorithm, check.data, check.key, check.signature);
  } catch (error) {
    return error as Error;
  }
}

/** Checks on the calling thread. */
export const runHere: CheckRunner = { run: runNativeCheck };

/**
 * Checks on libuv's thread pool. No limit of our own: libuv queues the jobs and a free pool
 * thread takes the next at once, where a limit kept here would wait for this thread to come
 * back to its event loop (measured: 25% slower on 2,000 commits).
 */
export const runOnThreadPool: CheckRunner = {
  run: (check) =>
    new Promise((resolve) => {
      try {
        verify(check.algorithm, check.data, check.key, check.signature, (error, valid) => resolve(error ?? valid));
      } catch (error) {
        // Argument errors are thrown before the job is queued.
        resolve(error as Error);
      }
    }),
};
