/**
 * Uploads over real HTTP multipart against the built server in its own process, beside the
 * sharp floor (the same probe + processing called directly, no HTTP, no storage), in one run:
 * latency and images/s at concurrency 1, 2 and 4; peak RSS while 10 clients upload 20 MB files
 * at once; and RSS from the 1,000th to the 5,000th upload.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { configureSharp, processImage } from '../src/images/process.js';
import { probeImage } from '../src/images/validate.js';
import { freePort } from '../test/support/server.js';
import { measure, round } from './lib.js';

const QUERY = 'mutation($f: Upload!, $c: ID!) { uploadImage(input: { file: $f, conversationId: $c, waitForCloud: false }) { image { id size } } }';
const PROCESS = { maxInputPixels: 100_000_000, imageMaxKb: 500, thumbnailSize: 256 };

interface Server {
  url: string;
  child: ChildProcess;
  rssMb(): Promise<number>;
  peakRssMb(): Promise<number>;
  stop(): Promise<void>;
}


async function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 'NaN');
  return round(kb / 1024, 1);
}

async function startServer(dir: string, env: Record<string, string> = {}): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    env: { ...process.env, PORT: String(port), SQLITE_PATH: join(dir, 'metadata.sqlite'), STORAGE_DIR: join(dir, 'storage'), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    rssMb: () => procStatus(child.pid as number, 'VmRSS'),
    peakRssMb: () => procStatus(child.pid as number, 'VmHWM'),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function conversation(url: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': 'bench' },
    body: JSON.stringify({ query: 'mutation { createConversation(input: { title: "bench" }) { id } }' }),
  });
  return ((await res.json()) as { data: { createConversation: { id: string } } }).data.createConversation.id;
}

function uploader(url: string, conversationId: string, inputs: Buffer[]) {
  let i = 0;
  return async () => {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: QUERY, variables: { f: null, c: conversationId } }));
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob([new Uint8Array(inputs[i++ % inputs.length] as Buffer)]), 'photo');
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'apollo-require-preflight': 'true', 'x-user-id': 'bench' }, body: form });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors).slice(0, 300));
  };
}

export async function benchUpload(o: { rounds?: number; soak?: number } = {}) {
  const rounds = o.rounds ?? 40;
  const soak = o.soak ?? 5000;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const fixtures = await Promise.all(['astronaut.png', 'chelsea.png', 'coffee.png', 'hubble_deep_field.jpg'].map((n) => readFile(join('test/fixtures', n))));
  const aiImage = await sharp(fixtures[0]).resize(1024, 1024).png().toBuffer();
  const inputs = [...fixtures, aiImage];

  // The floor: the same work called directly, with the server's sharp settings.
  configureSharp(2);
  let next = 0;
  const direct = async () => {
    const input = inputs[next++ % inputs.length] as Buffer;
    await processImage(input, await probeImage(input, PROCESS), PROCESS);
  };
  const floor1 = await measure(direct, { total: rounds, concurrency: 1, warmup: 5 });
  const floor2 = await measure(direct, { total: rounds, concurrency: 2, warmup: 0 });

  const dir = await mkdtemp(join(tmpdir(), 'his-bench-upload-'));
  try {
    const server = await startServer(dir);
    const c = await conversation(server.url);
    const up = uploader(server.url, c, inputs);
    const http1 = await measure(up, { total: rounds, concurrency: 1, warmup: 5 });
    const http2 = await measure(up, { total: rounds, concurrency: 2, warmup: 0 });
    const http4 = await measure(up, { total: rounds, concurrency: 4, warmup: 0 });
    await server.stop();

    // Ten clients sending 20 MB files at once, against a fresh process: with glibc's allocator,
    // and with jemalloc when it is installed (the README recommends it for production).
    const big = await sharp(randomBytes(2600 * 2600 * 3), { raw: { width: 2600, height: 2600, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    const tenBig = async (env: Record<string, string>, sub: string) => {
      const s = await startServer(join(dir, sub), env);
      const conv = await conversation(s.url);
      const idle = await s.rssMb();
      const started = performance.now();
      await Promise.all(Array.from({ length: 10 }, () => uploader(s.url, conv, [big])()));
      const result = { seconds: round((performance.now() - started) / 1000), idleRssMb: idle, peakRssMb: await s.peakRssMb() };
      return { server: s, conv, result };
    };
    const jemallocPath = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
    const withJemalloc = existsSync(jemallocPath) ? await tenBig({ LD_PRELOAD: jemallocPath }, 'jemalloc') : null;
    await withJemalloc?.server.stop();
    const memServer = await startServer(join(dir, 'mem'));
    const mc = await conversation(memServer.url);
    const idleRss = await memServer.rssMb();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 10 }, () => uploader(memServer.url, mc, [big])()));
    const tenBigSeconds = round((performance.now() - t0) / 1000);
    const peakRss = await memServer.peakRssMb();

    // Soak: RSS after the 1,000th and the last upload of small photos.
    const soakUp = uploader(memServer.url, mc, [fixtures[1] as Buffer]);
    let done = 0;
    let rssAt1000 = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (done < soak) {
          done++;
          await soakUp();
          if (done === 1000) rssAt1000 = await memServer.rssMb();
        }
      }),
    );
    const rssAtEnd = await memServer.rssMb();
    await memServer.stop();

    return {
      name: 'upload: 4 fixture photos + a 1024x1024 PNG, multipart over HTTP, waitForCloud false',
      floor: { concurrency1: floor1, concurrency2: floor2 },
      http: { concurrency1: http1, concurrency2: http2, concurrency4: http4 },
      p50RatioToFloor: round(http1.medianMs / floor1.medianMs),
      throughputRatioAt2InFlight: round(http2.requestsPerSecond / floor2.requestsPerSecond),
      targets: { p50RatioToFloor: '<= 1.3', throughputRatioAt2InFlight: '>= 0.8', peakRssMb: '< 400', rssGrowth: 'within 10%' },
      tenClients20MB: {
        fileMb: round(big.length / 2 ** 20, 1),
        glibc: { seconds: tenBigSeconds, idleRssMb: idleRss, peakRssMb: peakRss },
        jemalloc: withJemalloc?.result ?? 'not installed (apt-get install libjemalloc2)',
      },
      soak: { uploads: soak, rssAt1000Mb: rssAt1000, rssAtEndMb: rssAtEnd, growth: round(rssAtEnd / rssAt1000 - 1, 3) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
