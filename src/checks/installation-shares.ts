/**
 * Each installation's share of the verification work: at most `perKey` checks of one
 * installation (GitHub) or project (GitLab) compute at once; the rest of its checks wait in its
 * own queue, first come first served, while other installations' checks start at once.
 *
 * Why: a check verifies up to 256 signatures ahead on libuv's thread pool, which runs tasks in
 * the order they come. An installation that sends forty deliveries at once put 40 × 256 checks
 * ahead of everyone else's; with a share of 2 it puts at most 2 × 256. The wait counts against
 * the check's time budget (SIGNET_CHECK_TIMEOUT_MS): a check that waits too long fails and says
 * so, never passes.
 *
 * Memory: a key is held only while it has checks running or waiting.
 */
export interface ShareStatistics {
  running: number;
  waiting: number;
  keys: number;
}

interface Share {
  running: number;
  waiting: Array<() => void>;
}

export const DEFAULT_CHECKS_PER_INSTALLATION = 2;

export class InstallationShares {
  private readonly shares = new Map<string, Share>();

  constructor(private readonly perKey = DEFAULT_CHECKS_PER_INSTALLATION) {
    if (!Number.isInteger(perKey) || perKey < 1) throw new RangeError(`checks per installation must be a positive integer, not ${perKey}`);
  }

  get statistics(): ShareStatistics {
    let running = 0;
    let waiting = 0;
    for (const share of this.shares.values()) {
      running += share.running;
      waiting += share.waiting.length;
    }
    return { running, waiting, keys: this.shares.size };
  }

  /** Runs `work` once `key` has a free place; the place is given back however `work` ends. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let share = this.shares.get(key);
    if (!share) {
      share = { running: 0, waiting: [] };
      this.shares.set(key, share);
    }
    if (share.running >= this.perKey) await new Promise<void>((resolve) => share.waiting.push(resolve));
    else share.running++;
    try {
      return await work();
    } finally {
      const next = share.waiting.shift();
      // The place passes straight to the next waiter: `running` stays as it is.
      if (next) next();
      else if (--share.running === 0) this.shares.delete(key);
    }
  }
}
