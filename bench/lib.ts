import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
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
export async function measure(
  task: () => Promise<void>,
  o: { total: number; concurrency: number; warmup: number },
): Promise<LatencyStats> {
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

export interface InterleavedStats extends LatencyStats {
  /**
   * Cores that other processes on the machine kept busy while this task ran (from /proc/stat,
   * minus `ownCpuMs`): a shared machine's load shows here instead of passing for a slow server.
   */
  foreignCores: number | null;
  /** CPU time of the measured processes (this one and the server) per run: what a run costs in all. */
  cpuMsPerRequest: number;
  /** Cores the measured processes kept busy while this task ran (at most the machine's cores). */
  ownCores: number;
  /** The part of cpuMsPerRequest spent in the server process (when `serverCpuMs` is given). */
  serverCpuMsPerRequest?: number;
}

/** Busy CPU time of the whole machine in ms, or null where /proc/stat does not exist. */
function machineBusyMs(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return ((f.reduce((a, b) => a + b, 0) - idle) * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

/**
 * Like `measure`, for several tasks whose figures are compared: each runs `total` times with
 * `concurrency` in flight, but in blocks of `block` runs, taking turns (the order reversed every
 * other round), so load from other processes falls on all of them alike instead of on whichever
 * ran during a burst. Throughput is the task's runs over the time its own blocks took.
 * `ownCpuMs` returns the CPU time used so far by the processes being measured (this one, the
 * server), so that the rest of the machine's load can be reported as `foreignCores`.
 */
export async function measureInterleaved<K extends string>(
  tasks: Record<K, () => Promise<void>>,
  o: {
    total: number;
    concurrency: number;
    warmup: number;
    block: number;
    ownCpuMs: () => number;
    serverCpuMs?: () => number;
  },
): Promise<Record<K, InterleavedStats>> {
  const names = Object.keys(tasks) as K[];
  const state = new Map(
    names.map((n) => [
      n,
      { latencies: [] as number[], elapsedMs: 0, foreignMs: 0, ownMs: 0, serverMs: 0, foreignKnown: true, done: 0 },
    ]),
  );
  for (const n of names) for (let i = 0; i < o.warmup; i++) await tasks[n]();
  for (let round = 0; names.some((n) => state.get(n)!.done < o.total); round++) {
    for (const n of round % 2 === 0 ? names : [...names].reverse()) {
      const s = state.get(n)!;
      const runs = Math.min(o.block, o.total - s.done);
      if (runs <= 0) continue;
      let started = 0;
      const busy0 = machineBusyMs();
      const own0 = o.ownCpuMs();
      const server0 = o.serverCpuMs?.() ?? 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: Math.min(o.concurrency, runs) }, async () => {
          while (started < runs) {
            started++;
            const t = performance.now();
            await tasks[n]();
            s.latencies.push(performance.now() - t);
          }
        }),
      );
      const wall = performance.now() - t0;
      const busy1 = machineBusyMs();
      const own = o.ownCpuMs() - own0;
      s.ownMs += own;
      s.serverMs += (o.serverCpuMs?.() ?? 0) - server0;
      s.elapsedMs += wall;
      s.done += runs;
      if (busy0 === null || busy1 === null) s.foreignKnown = false;
      else s.foreignMs += Math.max(0, busy1 - busy0 - own);
    }
  }
  const out = {} as Record<K, InterleavedStats>;
  for (const n of names) {
    const s = state.get(n)!;
    const sorted = [...s.latencies].sort((a, b) => a - b);
    out[n] = {
      requests: sorted.length,
      medianMs: round(percentile(sorted, 50)),
      p95Ms: round(percentile(sorted, 95)),
      requestsPerSecond: round(sorted.length / (s.elapsedMs / 1000)),
      foreignCores: s.foreignKnown ? round(s.foreignMs / s.elapsedMs) : null,
      cpuMsPerRequest: round(s.ownMs / sorted.length, 1),
      ownCores: round(s.ownMs / s.elapsedMs),
      ...(o.serverCpuMs ? { serverCpuMsPerRequest: round(s.serverMs / sorted.length, 1) } : {}),
    };
  }
  return out;
}

/** The peak RSS (VmHWM) of a running process in MB; 0 once it has exited. Linux only. */
export async function peakRssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0; // exited between two polls
  }
}

/** Runs `command args` to its end, sampling its peak RSS every 20 ms: exit code, stdout, seconds, peak MB. */
export async function runMeasured(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; seconds: number; peakRssMb: number }> {
  const started = performance.now();
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  let peak = 0;
  const sampler = setInterval(() => {
    void peakRssOf(child.pid as number).then((mb) => (peak = Math.max(peak, mb)));
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sampler);
  return { code, stdout, seconds: (performance.now() - started) / 1000, peakRssMb: round(peak, 1) };
}
