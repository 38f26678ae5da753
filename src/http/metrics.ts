import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProviderHealth } from '../storage/providers/chain.js';
import type { ReplicationEvents } from '../services/replication.js';

const CIRCUIT_VALUE = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 } as const;

/**
 * Prometheus metrics for `/metrics`: uploads by provider and outcome, replication latency,
 * the queue depth and each provider's circuit, plus the process defaults (memory, event loop).
 * A registry per app, so tests and several apps in one process never share counters.
 */
export function createMetrics(deps: { queueDepth: () => Promise<number>; providers: () => ProviderHealth[] }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const uploads = new Counter({
    name: 'his_cloud_uploads_total',
    help: 'Cloud replication outcomes by provider (none when every provider failed).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'his_replication_seconds',
    help: 'Time to replicate one image through the provider chain.',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'his_replication_queue_depth',
    help: 'Images waiting for a cloud copy (PENDING or RETRYING).',
    registers: [registry],
    async collect() {
      this.set(await deps.queueDepth());
    },
  });
  new Gauge({
    name: 'his_provider_circuit_state',
    help: 'Circuit breaker of each provider: 0 closed, 1 half-open, 2 open.',
    labelNames: ['provider'] as const,
    registers: [registry],
    collect() {
      for (const p of deps.providers()) if (p.enabled) this.set({ provider: p.name.toLowerCase() }, CIRCUIT_VALUE[p.circuit]);
    },
  });
  const events: ReplicationEvents = {
    onOutcome(outcome, provider, seconds) {
      uploads.inc({ provider: provider?.toLowerCase() ?? 'none', outcome });
      latency.observe({ outcome }, seconds);
    },
  };
  return { registry, events };
}
