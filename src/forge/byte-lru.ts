/**
 * A least-recently-used map bounded by entries and by bytes (each entry's cost is given when
 * it is set). For caches a forge's content fills in the long-running app: one repository can
 * name many files (a policy lists its key files) or change them often, and without a bound each
 * distinct path and branch stayed for the life of the process.
 */
export class ByteLru<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private held = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.value;
  }

  /** Keeps `value` at a cost of `bytes`; one that alone is over the byte bound is not kept. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.maxBytes || this.maxEntries <= 0) return;
    this.entries.set(key, { value, bytes });
    this.held += bytes;
    while (this.entries.size > this.maxEntries || this.held > this.maxBytes) {
      const [oldest, entry] = this.entries.entries().next().value as [string, { value: V; bytes: number }];
      this.entries.delete(oldest);
      this.held -= entry.bytes;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.held -= entry.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The bytes charged for what is held now. */
  get bytes(): number {
    return this.held;
  }
}
