import { performance } from 'node:perf_hooks';

export interface LatencyStats {
  requests: number;
  medianMs: number;
  p95Ms: number;
  requestsPerSecond: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

/**
 * Runs `task` `total` times with `concurrency` in flight, after `warmup` untimed runs.
 * Bounded in count, so it always stops by itself.
 */
export async function measure(task: () => Promise<void>, o: { total: number; concurrency: number; warmup: number }): Promise<LatencyStats> {
  for (let i = 0; i < o.warmup; i++) await task();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.total) {
        next++;
        const t0 = performance.now();
        await task();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    medianMs: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    requestsPerSecond: round(latencies.length / elapsed),
  };
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
