/**
 * Restore after a disk loss: 500 images whose local copies are gone, downloaded from a provider
 * emulator that adds 50 ms to every request, by the CLI as an operator runs it (the built
 * `hybrid-image-store restore`, its own process). Default concurrency and concurrency 1 in the
 * same run: wall time, images/s and the process's peak RSS. Target: at least 6x faster than
 * concurrency 1, peak RSS under 300 MB.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteMetadataStore } from '../src/metadata/sqlite/sqlite-store.js';
import { startPostImagesEmulator } from '../test/support/emulators.js';
import { emulatedEnv, seedReplicatedImages } from '../test/support/seed-replicated.js';
import { round, runMeasured } from './lib.js';

/** Runs the CLI restore; samples its peak RSS while it runs. */
async function runRestore(env: Record<string, string>, concurrency: number | 'default') {
  const started = performance.now();
  const benchCpu = process.cpuUsage();
  const args = concurrency === 'default' ? [] : ['--concurrency', String(concurrency)];
  // BENCH_NODE_ARGS (e.g. "--cpu-prof") are given to the measured process only.
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const wrap = process.env['BENCH_WRAP'] ? [process.env['BENCH_WRAP']] : [];
  const run = await runMeasured(
    wrap[0] ?? process.execPath,
    [...(wrap.length ? [process.execPath] : []), ...nodeArgs, 'dist/src/cli/index.js', 'restore', '--json', ...args],
    {
      PATH: process.env['PATH'] ?? '',
      ...env,
      ...(process.env['UV_THREADPOOL_SIZE'] ? { UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] } : {}),
    },
  );
  const { code, stdout } = run;
  const peak = run.peakRssMb;
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`restore exited ${code}: ${stdout}`);
  const result = JSON.parse(stdout) as { restored: number; failed: number; seconds: number };
  const own = process.cpuUsage(benchCpu);
  return {
    concurrency,
    restored: result.restored,
    failed: result.failed,
    // The process as an operator runs it, start-up (modules, store, config) included.
    seconds: round(seconds),
    imagesPerSecond: round(result.restored / seconds, 1),
    // The restore alone, as the CLI times it.
    restoreSeconds: result.seconds,
    restoreImagesPerSecond: round(result.restored / result.seconds, 1),
    peakRssMb: round(peak, 1),
    emulatorCpuSeconds: round((own.user + own.system) / 1e6),
  };
}

export async function benchRestore(o: { images?: number; latencyMs?: number } = {}) {
  const total = o.images ?? 500;
  const latencyMs = o.latencyMs ?? 50;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  const cloud = await startPostImagesEmulator();
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-restore-'));
  const env = emulatedEnv(dir, cloud);
  try {
    // 500 distinct 800x600 JPEG photos (about 60 KB each), held by the emulator's CDN and recorded
    // in the store as replicated, with no local file: the state after a disk loss.
    const store = new SqliteMetadataStore({ path: env.SQLITE_PATH });
    await store.init();
    const photo = await readFile('test/fixtures/chelsea.png');
    const { bytes: bytesTotal } = await seedReplicatedImages(store, cloud, {
      photo,
      count: total,
      width: 800,
      height: 600,
      userId: 'bench',
    });
    await store.close();

    cloud.latencyMs = latencyMs;
    const parallel = await runRestore(env, 'default');
    await rm(env.STORAGE_DIR, { recursive: true, force: true });
    const serial = await runRestore(env, 1);
    return {
      images: total,
      megabytes: round(bytesTotal / 1e6, 1),
      emulatorLatencyMs: latencyMs,
      defaultConcurrency: parallel,
      concurrency1: serial,
      speedup: round(serial.seconds / parallel.seconds, 2),
      restoreSpeedup: round(serial.restoreSeconds / parallel.restoreSeconds, 2),
      targets: { speedupAtLeast: 6, peakRssMbUnder: 300 },
    };
  } finally {
    await cloud.stop();
    if (!process.env['BENCH_KEEP']) await rm(dir, { recursive: true, force: true });
  }
}
