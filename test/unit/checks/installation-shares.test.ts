/**
 * Each installation's share of the verification work (src/checks/installation-shares.ts): a
 * burst from one installation queues behind itself, never ahead of another installation.
 * Proved by which tasks have started, not by timing.
 */
import { describe, expect, it } from 'vitest';
import { InstallationShares } from '../../../src/checks/installation-shares.ts';

/** A task that starts when the share lets it and ends when the test says. */
function task(shares: InstallationShares, key: string, started: string[], name: string) {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = shares.run(
    key,
    () =>
      new Promise<string>((resolve, reject) => {
        started.push(name);
        finish = () => resolve(name);
        fail = reject;
      }),
  );
  return { done, finish: () => finish(), fail: (error: Error) => fail(error) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('installation shares', () => {
  it("starts another installation's check at once while a burst of one waits in its own queue", async () => {
    const shares = new InstallationShares(2);
    const started: string[] = [];
    const burst = Array.from({ length: 10 }, (_, i) => task(shares, 'a', started, `a${i}`));
    await settle();
    expect(started).toEqual(['a0', 'a1']);
    const other = task(shares, 'b', started, 'b0');
    await settle();
    expect(started).toEqual(['a0', 'a1', 'b0']);
    expect(shares.statistics).toEqual({ running: 3, waiting: 8, keys: 2 });
    other.finish();
    await other.done;
    // a's queue moves only as a's own checks end, in the order they came.
    burst[1]!.finish();
    await settle();
    expect(started).toEqual(['a0', 'a1', 'b0', 'a2']);
    for (const [index, item] of burst.entries()) {
      if (index === 1) continue;
      await settle();
      item.finish();
    }
    await Promise.all(burst.map((item) => item.done));
    expect(started.filter((name) => name.startsWith('a'))).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`));
    expect(shares.statistics).toEqual({ running: 0, waiting: 0, keys: 0 });
  });

  it('gives the place back when a check fails, and the failure reaches its caller', async () => {
    const shares = new InstallationShares(1);
    const started: string[] = [];
    const first = task(shares, 'a', started, 'a0');
    const second = task(shares, 'a', started, 'a1');
    await settle();
    expect(started).toEqual(['a0']);
    first.fail(new Error('fetch failed'));
    await expect(first.done).rejects.toThrow('fetch failed');
    await settle();
    expect(started).toEqual(['a0', 'a1']);
    second.finish();
    await expect(second.done).resolves.toBe('a1');
    expect(shares.statistics.keys).toBe(0);
  });

  it('refuses a share that is not a positive whole number', () => {
    expect(() => new InstallationShares(0)).toThrow(/positive integer/);
  });
});
