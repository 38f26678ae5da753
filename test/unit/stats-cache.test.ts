import { describe, expect, it } from 'vitest';
import { InvalidatedCache } from '../../src/metadata/mongo/stats-cache.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('InvalidatedCache (MongoDB storage statistics)', () => {
  it('answers from the cache within the TTL, per key, and loads again after it', async () => {
    let now = 0;
    let loads = 0;
    const cache = new InvalidatedCache<string, number>(1000, () => now);
    const load = () => Promise.resolve(++loads);
    expect(await cache.get('alice', load)).toBe(1);
    now = 999;
    expect(await cache.get('alice', load)).toBe(1);
    expect(await cache.get('bob', load)).toBe(2);
    now = 1000;
    expect(await cache.get('alice', load)).toBe(3);
  });

  it('shares a running load between callers', async () => {
    const d = deferred<number>();
    let loads = 0;
    const cache = new InvalidatedCache<string, number>(1000, () => 0);
    const a = cache.get('k', () => (loads++, d.promise));
    const b = cache.get('k', () => (loads++, d.promise));
    d.resolve(7);
    expect([await a, await b]).toEqual([7, 7]);
    expect(loads).toBe(1);
  });

  it("drops every answer on this process's write, and never keeps a load that raced the write", async () => {
    let loads = 0;
    const cache = new InvalidatedCache<string, number>(60_000, () => 0);
    expect(await cache.get('k', () => Promise.resolve(++loads))).toBe(1);
    cache.invalidate();
    expect(await cache.get('k', () => Promise.resolve(++loads))).toBe(2);

    // A load that read before a write finishes after it: its callers get it, nobody later does.
    const before = deferred<number>();
    const racing = cache.get('r', () => before.promise);
    cache.invalidate();
    before.resolve(-1);
    expect(await racing).toBe(-1);
    expect(await cache.get('r', () => Promise.resolve(42))).toBe(42);
  });

  it('does not keep a failure, and holds at most maxEntries keys', async () => {
    const cache = new InvalidatedCache<string, number>(60_000, () => 0, 2);
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', () => Promise.resolve(1))).toBe(1);
    await cache.get('a', () => Promise.resolve(2));
    await cache.get('b', () => Promise.resolve(3));
    // 'k' was the oldest: it went when 'b' came.
    expect(await cache.get('k', () => Promise.resolve(4))).toBe(4);
    expect(await cache.get('b', () => Promise.resolve(5))).toBe(3);
  });
});
