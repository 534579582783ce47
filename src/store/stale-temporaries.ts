import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A temporary older than this belongs to no running writer: a run killed mid-write left it. */
const STALE_MS = 60 * 60 * 1000;
/** The names the verdict cache's and the walk memo's writers give their temporaries. */
const TEMPORARY = /^[0-9a-f]{64}\.(?:cache|memo)\.[0-9]+\.[0-9a-f]{16}\.tmp$/;

/**
 * Removes the cache writers' temporaries that a killed run left behind (a CI job's timeout during
 * a million-commit memo leaves 110 MB, each time). Only signet's names, only old ones: another
 * run's temporary being written is minutes old at most. Housekeeping: a failure is no reason to
 * fail the run.
 */
export function removeStaleTemporaries(directory: string, now = Date.now()): void {
  let names: string[];
  try {
    names = readdirSync(directory).filter((name) => TEMPORARY.test(name));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const path = join(directory, name);
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true });
    } catch {
      // Removed by another run meanwhile, or not ours to remove.
    }
  }
}
