import type { MetadataStore } from '../../src/metadata/metadata-store.js';

/**
 * Wraps a store and counts calls per method. Each port method is one round trip, so this
 * measures what a request costs the store; used by the N+1 test and the read benchmark.
 */
export function countingStore(inner: MetadataStore): {
  store: MetadataStore;
  counts: Map<string, number>;
  total: () => number;
  reset: () => void;
} {
  const counts = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        counts.set(prop, (counts.get(prop) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    counts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    reset: () => counts.clear(),
  };
}
