/**
 * /metrics counts the replication queue over the whole store (an indexed count, but a store
 * round trip all the same): scrapes share one count per QUEUE_DEPTH_TTL_MS instead of each
 * running it, and never the full storage statistics.
 */
import { describe, expect, it } from 'vitest';
import { overrideStore } from '../support/override-store.js';
import { startTestServer } from '../support/server.js';

describe('/metrics and the store', () => {
  it('counts the queue once for many scrapes within the cache time, and the gauge is still served', async () => {
    let counts = 0;
    let stats = 0;
    const server = await startTestServer({
      wrapStore: (s) =>
        overrideStore(s, {
          countPendingReplication: (original) => async () => {
            counts++;
            return original();
          },
          storageStats: (original) => async (owner) => {
            stats++;
            return original(owner);
          },
        }),
    });
    try {
      const scrapes = await Promise.all(
        Array.from({ length: 5 }, () => fetch(`${server.url}/metrics`).then((r) => r.text())),
      );
      for (const text of scrapes) expect(text).toMatch(/^his_replication_queue_depth 0$/m);
      expect(await fetch(`${server.url}/metrics`).then((r) => r.status)).toBe(200);
      expect(counts).toBe(1);
      expect(stats).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
