/**
 * Spacing of a forge's content-creating requests, one lane per token. GitHub asks integrators
 * to make such requests serially and at least one second apart *per user or installation
 * token*, and to wait out a secondary rate limit's Retry-After before trying again; it does
 * not ask for one queue across every installation of an app. So each key (an installation)
 * gets its own lane, made when first used: its writes run one at a time, each starting at
 * least `intervalMs` after the previous one finished and after any hold on the key, while
 * other keys' writes go on meanwhile. An installation that opens thousands of pull requests
 * queues behind itself only.
 *
 * Memory stays flat: a lane carries nothing once it is idle and its spacing has passed, and
 * such lanes are swept whenever more than `maxKeys` lanes exist. Lanes with writes waiting or
 * a spacing still running are never swept (that would let a write start too soon); their
 * number is bounded by the writes in flight.
 */

export interface WriteSpacingOptions {
  /** Least time from the end of one write under a key to the start of the next (GitHub asks for 1,000 ms between requests). */
  intervalMs: number;
  /** Lanes kept before idle, expired ones are swept (default 10,000). */
  maxKeys?: number;
}

interface Lane {
  /** Settles when the lane's last scheduled write has finished (success or failure). */
  tail: Promise<void>;
  /** No write of this lane starts before this instant (spacing or a rate-limit hold). */
  notBefore: number;
  /** Writes scheduled and not finished. */
  pending: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class WriteSpacing {
  private readonly lanes = new Map<string, Lane>();
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  /** Sweep when the lanes exceed this: twice what the last sweep left, so sweeps cost O(1) a write amortised. */
  private sweepAbove: number;

  constructor(options: WriteSpacingOptions) {
    this.intervalMs = Math.max(0, options.intervalMs);
    this.maxKeys = Math.max(1, options.maxKeys ?? 10_000);
    this.sweepAbove = this.maxKeys;
  }

  /** Lanes held now (tests and the benchmark read it: memory stays flat). */
  get size(): number {
    return this.lanes.size;
  }

  /** Runs `write` in `key`'s lane: after the lane's earlier writes, spaced, and after any hold. */
  async schedule<T>(key: string, write: () => Promise<T>): Promise<T> {
    const lane = this.lane(key);
    lane.pending++;
    const previous = lane.tail;
    let finished!: () => void;
    lane.tail = new Promise<void>((resolve) => (finished = resolve));
    try {
      await previous;
      // A hold may be lengthened while this write sleeps (another write met a rate limit).
      for (let wait = lane.notBefore - Date.now(); wait > 0; wait = lane.notBefore - Date.now()) await sleep(wait);
      return await write();
    } finally {
      // Spaced from the end of the write: GitHub counts arrivals, and the write's own time on
      // the way (an installation token fetched first, a slow network) must not eat the spacing.
      lane.notBefore = Math.max(lane.notBefore, Date.now() + this.intervalMs);
      lane.pending--;
      finished();
      if (this.lanes.size > this.sweepAbove) this.sweep();
    }
  }

  /** No write of `key` starts before `until` (ms since the epoch): a secondary rate limit's Retry-After. */
  holdOff(key: string, until: number): void {
    const lane = this.lane(key);
    lane.notBefore = Math.max(lane.notBefore, until);
  }

  /** How long `key`'s next write would wait now (0 when it may start at once). */
  heldFor(key: string): number {
    const lane = this.lanes.get(key);
    return lane ? Math.max(0, lane.notBefore - Date.now()) : 0;
  }

  private lane(key: string): Lane {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { tail: Promise.resolve(), notBefore: 0, pending: 0 };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, lane] of this.lanes) if (lane.pending === 0 && lane.notBefore <= now) this.lanes.delete(key);
    this.sweepAbove = Math.max(this.maxKeys, this.lanes.size * 2);
  }
}
