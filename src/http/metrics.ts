import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ProviderHealth } from '../cloud/chain.js';
import type { ReplicationEvents } from '../workers/replication.js';

const CIRCUIT_VALUE = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 } as const;

/**
 * Prometheus metrics for `/metrics`: uploads by provider and outcome, replication latency,
 * the queue depth and each provider's circuit, plus the process defaults (memory, event loop).
 * A registry per app, so tests and several apps in one process never share counters.
 *
 * The queue depth (an indexed count of queued images, MetadataStore.countPendingReplication) is
 * computed at most once per `queueDepthTtlMs` (default 30 s, the usual scrape interval) and
 * shared by concurrent scrapes: the gauge may be that much behind.
 */
export const QUEUE_DEPTH_TTL_MS = 30_000;

export function createMetrics(deps: {
  queueDepth: () => Promise<number>;
  providers: () => Promise<ProviderHealth[]>;
  queueDepthTtlMs?: number;
  clock?: () => Date;
}) {
  const registry = new Registry();
  const clock = deps.clock ?? (() => new Date());
  const queueDepth = cachedFor(deps.queueDepthTtlMs ?? QUEUE_DEPTH_TTL_MS, deps.queueDepth, clock);
  // Five gauges read the providers in one scrape (prom-client calls their collects together): one
  // read of the budget counts serves them all, and the next scrape reads afresh.
  const providers = sharedWhilePending(deps.providers);
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
      this.set(await queueDepth());
    },
  });
  new Gauge({
    name: 'his_provider_circuit_state',
    help: 'Circuit breaker of each provider: 0 closed, 1 half-open, 2 open.',
    labelNames: ['provider'] as const,
    registers: [registry],
    async collect() {
      for (const p of await providers())
        if (p.enabled) this.set({ provider: p.name.toLowerCase() }, CIRCUIT_VALUE[p.circuit]);
    },
  });
  new Gauge({
    name: 'his_provider_misconfigured',
    help: 'Whether a provider last failed because it is set up wrong (1) or not (0): never retried until fixed.',
    labelNames: ['provider'] as const,
    registers: [registry],
    async collect() {
      for (const p of await providers())
        if (p.enabled) this.set({ provider: p.name.toLowerCase() }, p.misconfigured ? 1 : 0);
    },
  });
  const budgetGauge = (name: string, help: string, value: (b: NonNullable<ProviderHealth['budget']>) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['provider', 'per'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const p of await providers())
          if (p.enabled && p.budget) this.set({ provider: p.name.toLowerCase(), per: p.budget.per }, value(p.budget));
      },
    });
  budgetGauge(
    'his_provider_budget_limit',
    'Uploads a provider may be sent per budget window (POSTIMAGES_BUDGET, IMGBB_BUDGET, S3_BUDGET).',
    (b) => b.limit,
  );
  budgetGauge(
    'his_provider_budget_used',
    'Uploads sent to a provider in the current budget window, by every process on the store.',
    (b) => b.used,
  );
  budgetGauge(
    'his_provider_budget_resets_at_seconds',
    'When the current budget window ends (Unix time, seconds).',
    (b) => Math.floor(b.resetsAt.getTime() / 1000),
  );
  const budgetSkips = new Counter({
    name: 'his_provider_budget_skips_total',
    help: 'Uploads that skipped a provider because its budget was spent (no request sent).',
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const altered = new Counter({
    name: 'his_cloud_copies_altered_total',
    help: 'Cloud copies found holding other bytes than their image (changed at the host), by the service that held them.',
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const events: ReplicationEvents = {
    onOutcome(outcome, provider, seconds) {
      uploads.inc({ provider: provider?.toLowerCase() ?? 'none', outcome });
      latency.observe({ outcome }, seconds);
    },
    onAltered(service) {
      altered.inc({ provider: service.toLowerCase() });
    },
  };
  return {
    registry,
    events,
    onBudgetSkip: (provider: string) => budgetSkips.inc({ provider: provider.toLowerCase() }),
  };
}

/** Callers while `load` runs share its promise; once it settles the next call loads again. */
function sharedWhilePending<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  return () =>
    (pending ??= load().finally(() => {
      pending = null;
    }));
}

/** `load` at most once per `ttlMs`; callers while it runs share the same promise. A failure is not kept. */
function cachedFor<T>(ttlMs: number, load: () => Promise<T>, clock: () => Date): () => Promise<T> {
  let value: { at: number; promise: Promise<T> } | null = null;
  return () => {
    const now = clock().getTime();
    if (value && now - value.at < ttlMs) return value.promise;
    const promise = load();
    const entry = { at: now, promise };
    value = entry;
    promise.catch(() => {
      if (value === entry) value = null;
    });
    return promise;
  };
}
