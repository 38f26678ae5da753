/**
 * Answers kept for `ttlMs` per key, dropped whenever this process writes (`invalidate`). On
 * MongoDB, storage statistics read every image of their scope, and a dashboard polling them
 * would run that aggregation on every poll: with this, polls within the TTL share one answer.
 * A write made by this process is seen by the next read at once; one made by another process on
 * the same database is seen at most `ttlMs` later. Callers arriving while a load runs share it.
 * A load that started before a write is handed to its callers but not kept, and a failure is
 * never kept. At most `maxEntries` keys are held (the oldest goes first).
 */
export class InvalidatedCache<K, V> {
  private readonly entries = new Map<K, { at: number; value: Promise<V> }>();
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
    private readonly maxEntries = 1000,
  ) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const now = this.clock();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const generation = this.generation;
    const value = load();
    const entry = { at: now, value };
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    const forget = () => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    value.then(() => {
      if (this.generation !== generation) forget();
    }, forget);
    return value;
  }

  /** Every kept answer is stale: the next read of each key loads afresh. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }
}
