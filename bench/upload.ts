/**
 * Uploads over real HTTP multipart against the built server in its own process, beside the
 * sharp floor (the same probe + processing called directly, no HTTP, no storage), the floor
 * with the upload's durable local writes (`floorWithWrites`), the bare HTTP stack reading the
 * file (`stackFloor`) and the bare stack doing the floor's work and writes (`stackWithWork`), in
 * one run:
 * latency and images/s at concurrency 1, 2 and 4; peak RSS while 10 clients upload 20 MB files
 * at once; RSS from the 1,000th to the 5,000th upload; and the 20 MB burst again on the server
 * that has just taken those 5,000. `npm run bench` runs this process, and so the floor, with the
 * V8 heap flag scripts/start.sh gives the server.
 *
 * The server is started by scripts/start.sh, the script `npm start` runs, so it runs with the
 * environment users get. The client shares the cores with the server, which the floor does not:
 * so that it costs next to nothing, every multipart body is built once, before timing, and sent
 * over keep-alive node:http (FormData + fetch cost ~19 ms of client CPU per upload, undici with a
 * ready body ~12 ms, this ~2 ms). The server parses the same multipart bytes either way. The floor
 * and the HTTP runs take turns in blocks, so that load from other processes on a shared machine
 * falls on both alike; `foreignCores` says how much of it there was.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { floorWork } from './floor-work.js';
import { freePort } from '../test/support/server.js';
import { measureInterleaved, round } from './lib.js';

const QUERY =
  'mutation($f: Upload!, $c: ID!) { uploadImage(input: { file: $f, conversationId: $c, waitForCloud: false }) { image { id size } } }';

interface Server {
  url: string;
  child: ChildProcess;
  rssMb(): Promise<number>;
  peakRssMb(): Promise<number>;
  /** Starts peakRssMb afresh from the current RSS (Linux: 5 into /proc/<pid>/clear_refs). */
  resetPeakRss(): Promise<void>;
  stop(): Promise<void>;
}

async function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 'NaN');
  return round(kb / 1024, 1);
}

/** CPU time (user + system) a process has used, in ms. */
function processCpuMs(pid: number): number {
  return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime of a /proc stat line (a process's or a thread's), in ms. */
function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

/**
 * CPU time (user + system, ms) of each thread of a process, summed by role: the event loop
 * (`main`), libvips' workers, and the rest (`pool`: libuv's pool, where sharp's jobs and the file
 * system calls run, and V8's helper threads). Linux names the threads; elsewhere this is empty.
 */
function threadCpuMs(pid: number): Record<'main' | 'libvips' | 'pool', number> {
  const out = { main: 0, libvips: 0, pool: 0 };
  if (!existsSync(`/proc/${pid}/task`)) return out;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended while we read
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ms = statCpuMs(stat);
    out[tid === String(pid) ? 'main' : name.startsWith('libvips') ? 'libvips' : 'pool'] += ms;
  }
  return out;
}

/** Runs `n` of `fn` one at a time and returns the CPU per call of `pid`'s threads, by role. */
async function cpuByThread(pid: number, n: number, fn: () => Promise<unknown>) {
  const before = threadCpuMs(pid);
  for (let i = 0; i < n; i++) await fn();
  const after = threadCpuMs(pid);
  const per = (k: keyof typeof before) => round((after[k] - before[k]) / n, 1);
  return { main: per('main'), pool: per('pool'), libvips: per('libvips') };
}

/**
 * Starts the built server the way `npm start` does (scripts/start.sh, which execs node, so the
 * child's pid is the server's), or with `plain` as bare `node dist/src/main.js` without the
 * allocator and V8 heap settings of the script, for comparison, or with `stackFloor` the bare
 * HTTP stack of bench/stack-floor-server.ts (with the script's V8 heap setting). A bench that
 * fails part way leaves no server behind: every one started is killed when this process exits.
 */
export async function startServer(
  dir: string,
  env: Record<string, string> = {},
  o: { plain?: boolean; stackFloor?: boolean } = {},
): Promise<Server> {
  const port = await freePort();
  const script = startScriptDefaults();
  const [command, args] = o.stackFloor
    ? [
        process.execPath,
        [
          `--initial-old-space-size=${process.env['V8_INITIAL_OLD_SPACE_MB'] ?? script['V8_INITIAL_OLD_SPACE_MB']}`,
          '--import',
          'tsx',
          'bench/stack-floor-server.ts',
        ],
      ]
    : o.plain
      ? [process.execPath, ['dist/src/main.js']]
      : ['sh', ['scripts/start.sh']];
  // BENCH_SERVER_NODE: a node binary or wrapper for the server only (e.g. one adding --cpu-prof).
  const child = spawn(command, args, {
    env: {
      // The bare stack gets the allocator settings scripts/start.sh gives the server.
      ...(o.stackFloor ? script : {}),
      ...process.env,
      NODE: process.env['BENCH_SERVER_NODE'] ?? process.execPath,
      PORT: String(port),
      SQLITE_PATH: join(dir, 'metadata.sqlite'),
      STORAGE_DIR: join(dir, 'storage'),
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const killOnExit = () => child.kill();
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    rssMb: () => procStatus(child.pid as number, 'VmRSS'),
    peakRssMb: () => procStatus(child.pid as number, 'VmHWM'),
    resetPeakRss: () => writeFile(`/proc/${child.pid as number}/clear_refs`, '5'),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The `: "${NAME:=value}"` defaults of scripts/start.sh, so the bare stack runs as the server does. */
function startScriptDefaults(): Record<string, string> {
  const text = readFileSync('scripts/start.sh', 'utf8');
  return Object.fromEntries([...text.matchAll(/^: "\$\{(\w+):=([^}]*)\}"$/gm)].map((m) => [m[1], m[2]]));
}

async function conversation(url: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': 'bench' },
    body: JSON.stringify({ query: 'mutation { createConversation(input: { title: "bench" }) { id } }' }),
  });
  return ((await res.json()) as { data: { createConversation: { id: string } } }).data.createConversation.id;
}

/** The multipart request a browser's FormData would send: operations, map, then the file. */
export function multipartBody(boundary: string, conversationId: string, file: Buffer, query = QUERY): Buffer {
  const field = (name: string, value: string) =>
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  return Buffer.concat([
    Buffer.from(
      field('operations', JSON.stringify({ query, variables: { f: null, c: conversationId } })) +
        field('map', JSON.stringify({ 0: ['variables.f'] })) +
        `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="photo"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

/** Uploads `inputs` in turn; the bodies are built here, once, so a request costs the client next to nothing. */
function uploader(url: string, conversationId: string, inputs: Buffer[]) {
  const boundary = `----his-bench-${randomBytes(12).toString('hex')}`;
  const bodies = inputs.map((input) => multipartBody(boundary, conversationId, input));
  const agent = new Agent({ keepAlive: true });
  const headers = {
    'apollo-require-preflight': 'true',
    'x-user-id': 'bench',
    'content-type': `multipart/form-data; boundary=${boundary}`,
  };
  let i = 0;
  return () =>
    new Promise<void>((resolve, reject) => {
      const body = bodies[i++ % bodies.length] as Buffer;
      const req = request(
        `${url}/graphql`,
        { method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            try {
              const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: unknown };
              if (res.statusCode !== 200 || answer.errors)
                throw new Error(`${res.statusCode}: ${JSON.stringify(answer.errors).slice(0, 300)}`);
              resolve();
            } catch (e) {
              reject(e instanceof Error ? e : new Error(String(e)));
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
}

export async function benchUpload(o: { rounds?: number; soak?: number } = {}) {
  // Uploads per contender at each concurrency, in blocks of a fifth. At 40 (until 2026-12-07) each
  // throughput came from about a second of uploads, and the ratio at two in flight moved from 0.65
  // to 0.75 between runs of the same code; 200 take about a minute more.
  const rounds = o.rounds ?? 200;
  const soak = o.soak ?? 5000;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  const fixtures = await Promise.all(
    ['astronaut.png', 'chelsea.png', 'coffee.png', 'hubble_deep_field.jpg'].map((n) =>
      readFile(join('test/fixtures', n)),
    ),
  );
  const aiImage = await sharp(fixtures[0]).resize(1024, 1024).png().toBuffer();
  const inputs = [...fixtures, aiImage];

  const dir = await mkdtemp(join(tmpdir(), 'his-bench-upload-'));
  // The floor: the same work called directly, with the server's sharp settings; and the floor
  // with the upload's durable local writes. What the HTTP path adds beyond the second is
  // multipart, GraphQL and the record.
  const work = await floorWork(join(dir, 'floor-files'));
  let next = 0;
  const direct = async () => void (await work.process(inputs[next++ % inputs.length] as Buffer));
  const durable = async () => void (await work.processAndWrite(inputs[next++ % inputs.length] as Buffer));
  try {
    // Started first and idle while the floor runs: the two take turns below.
    const server = await startServer(dir);
    const c = await conversation(server.url);
    const up = uploader(server.url, c, inputs);
    // The same requests to the bare HTTP stack (Express, graphql-upload-minimal, Apollo), whose
    // resolver only reads the file: what the stack costs before the image is touched.
    const stack = await startServer(dir, {}, { stackFloor: true });
    const bare = uploader(stack.url, c, inputs);
    // And to the bare stack doing the floor's work, writes included: the best an upload server
    // on this stack could do, with none of this project's own work around the image.
    const stackWork = await startServer(dir, { STACK_FLOOR_FILES: join(dir, 'stack-files') }, { stackFloor: true });
    const best = uploader(stackWork.url, c, inputs);
    const serverPid = server.child.pid as number;
    const serverCpuMs = () => processCpuMs(serverPid);
    // This process (client and floors), the server and the bare stack: each measured block's
    // CPU, whichever of them did the work.
    const ownCpuMs = () => {
      const u = process.cpuUsage();
      const stacks = processCpuMs(stack.child.pid as number) + processCpuMs(stackWork.child.pid as number);
      return (u.user + u.system) / 1000 + serverCpuMs() + stacks;
    };
    const block = Math.max(10, Math.round(rounds / 5));
    const contenders = { floor: direct, floorWithWrites: durable, stackFloor: bare, stackWithWork: best, http: up };
    const measure = (concurrency: number, warmup: number) =>
      measureInterleaved(contenders, { total: rounds, concurrency, warmup, block, ownCpuMs, serverCpuMs });
    const at1 = await measure(1, 5);
    const at2 = await measure(2, 0);
    const at4 = await measure(4, 0);
    // Where the CPU of one upload goes, one at a time: the floor's work (this process, the server
    // idle) beside the server's (this process waiting). What the server adds is the upload around
    // the image: multipart, GraphQL, four fsyncs (two files, two folders), the record.
    const perThread = { floor: { main: 0, pool: 0, libvips: 0 }, server: { main: 0, pool: 0, libvips: 0 } };
    for (let b = 0; b < 5; b++) {
      const f = await cpuByThread(process.pid, block, direct);
      const h = await cpuByThread(serverPid, block, up);
      for (const k of ['main', 'pool', 'libvips'] as const) {
        perThread.floor[k] += f[k] / 5;
        perThread.server[k] += h[k] / 5;
      }
    }
    const cpuByThreadMsPerUpload = Object.fromEntries(
      Object.entries(perThread).map(([who, t]) => [
        who,
        { main: round(t.main, 1), pool: round(t.pool, 1), libvips: round(t.libvips, 1) },
      ]),
    );
    const [floor1, http1, floor2, http2, floor4, http4] = [
      at1.floor,
      at1.http,
      at2.floor,
      at2.http,
      at4.floor,
      at4.http,
    ];
    const [stored1, stored2] = [at1.floorWithWrites, at2.floorWithWrites];
    await server.stop();
    await stack.stop();
    await stackWork.stop();

    // Ten clients sending 20 MB files at once, each time against a fresh process: as `npm start`
    // runs it (scripts/start.sh), as bare `node` with glibc's defaults, and with jemalloc when it
    // is installed. Several runs each: the peak varies from run to run.
    const big = await sharp(randomBytes(2600 * 2600 * 3), { raw: { width: 2600, height: 2600, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    /** Ten clients, one 20 MB upload each, at once: how long it took. */
    const burst = async (s: Server, conv: string) => {
      const send = uploader(s.url, conv, [big]);
      const started = performance.now();
      await Promise.all(Array.from({ length: 10 }, () => send()));
      return round((performance.now() - started) / 1000);
    };
    const tenBig = async (sub: string, env: Record<string, string> = {}, o: { plain?: boolean } = {}) => {
      const s = await startServer(join(dir, sub), env, o);
      const conv = await conversation(s.url);
      const idle = await s.rssMb();
      const seconds = await burst(s, conv);
      return { server: s, conv, result: { seconds, idleRssMb: idle, peakRssMb: await s.peakRssMb() } };
    };
    const summary = (runs: { seconds: number; idleRssMb: number; peakRssMb: number }[]) => ({
      peakRssMbMin: Math.min(...runs.map((r) => r.peakRssMb)),
      peakRssMbMax: Math.max(...runs.map((r) => r.peakRssMb)),
      runs,
    });
    const rssRuns = Math.max(1, Number(process.env['BENCH_RSS_RUNS'] ?? 3));
    const jemallocPath = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
    const started: { seconds: number; idleRssMb: number; peakRssMb: number }[] = [];
    const plain: typeof started = [];
    const jemalloc: typeof started = [];
    for (let run = 0; run < rssRuns; run++) {
      // The last run of the start script's server stays up for the soak.
      if (run > 0) started.push(await tenBig(`start-${run}`).then(async (t) => (await t.server.stop(), t.result)));
      plain.push(
        await tenBig(`plain-${run}`, {}, { plain: true }).then(async (t) => (await t.server.stop(), t.result)),
      );
      if (existsSync(jemallocPath))
        jemalloc.push(
          await tenBig(`jemalloc-${run}`, { LD_PRELOAD: jemallocPath }).then(
            async (t) => (await t.server.stop(), t.result),
          ),
        );
    }
    const { server: memServer, conv: mc, result: lastRun } = await tenBig('mem');
    started.push(lastRun);
    const startScript = summary(started);

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
    // The same ten 20 MB uploads once more, on the server that has just taken the soak: a server
    // up for hours that gets a burst, with whatever its heap and allocator hold by then.
    await memServer.resetPeakRss();
    const afterSoak = {
      seconds: await burst(memServer, mc),
      rssBeforeMb: rssAtEnd,
      peakRssMb: await memServer.peakRssMb(),
    };
    // What the start script really gave node (V8_INITIAL_OLD_SPACE_MB may have changed it).
    const serverNodeFlags = readFileSync(`/proc/${memServer.child.pid as number}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a.startsWith('--'));
    await memServer.stop();

    return {
      name: 'upload: 4 fixture photos + a 1024x1024 PNG, multipart over HTTP, waitForCloud false',
      client:
        'multipart bodies built once, sent over keep-alive node:http; the floor and the HTTP runs take turns in blocks',
      server: 'sh scripts/start.sh (as npm start)',
      // The floor runs in this process: `npm run bench` gives it the V8 flags scripts/start.sh gives the server.
      floorNodeFlags: process.execArgv.filter((a) => a.startsWith('--') && a !== '--import'),
      serverNodeFlags,
      floor: { concurrency1: floor1, concurrency2: floor2, concurrency4: floor4 },
      floorWithWrites: { concurrency1: stored1, concurrency2: stored2, concurrency4: at4.floorWithWrites },
      stackFloor: { concurrency1: at1.stackFloor, concurrency2: at2.stackFloor, concurrency4: at4.stackFloor },
      stackWithWork: {
        concurrency1: at1.stackWithWork,
        concurrency2: at2.stackWithWork,
        concurrency4: at4.stackWithWork,
      },
      http: { concurrency1: http1, concurrency2: http2, concurrency4: http4 },
      p50RatioToFloor: round(http1.medianMs / floor1.medianMs),
      throughputRatioAt2InFlight: round(http2.requestsPerSecond / floor2.requestsPerSecond),
      // Not targets: the same ratios against the floor that also makes the upload's files durable,
      // so what they show is what multipart, GraphQL and the record add.
      p50RatioToFloorWithWrites: round(http1.medianMs / stored1.medianMs),
      throughputRatioAt2ToFloorWithWrites: round(http2.requestsPerSecond / stored2.requestsPerSecond),
      // The p50 at one in flight, taken apart: the floor, what the durable writes add to it, what
      // the bare HTTP stack takes for the same request, and what is left (this server's own work
      // around them: auth, type-graphql, the record, logging, its GC).
      p50Parts: {
        floorMs: floor1.medianMs,
        durableWritesMs: round(stored1.medianMs - floor1.medianMs),
        httpStackMs: at1.stackFloor.medianMs,
        restMs: round(http1.medianMs - stored1.medianMs - at1.stackFloor.medianMs),
        budgetAt1_3Ms: round(0.3 * floor1.medianMs),
      },
      // Not targets: the two ratios for the bare stack doing the floor's work with the writes.
      bestOnStack: {
        p50RatioToFloor: round(at1.stackWithWork.medianMs / floor1.medianMs),
        throughputRatioAt2InFlight: round(at2.stackWithWork.requestsPerSecond / floor2.requestsPerSecond),
      },
      // Not targets: this server against that best, so what is left is this project's own work.
      toBestOnStack: {
        p50Ratio: round(http1.medianMs / at1.stackWithWork.medianMs),
        throughputRatioAt2InFlight: round(http2.requestsPerSecond / at2.stackWithWork.requestsPerSecond),
      },
      // Not a target: the floor runs all four at once on libuv's pool; the server queues two (one per core).
      throughputRatioAt4InFlight: round(http4.requestsPerSecond / floor4.requestsPerSecond),
      // main: the event loop; pool: libuv's pool (sharp's jobs, file system calls) and V8's helpers; libvips: its workers.
      cpuByThreadMsPerUpload,
      targets: {
        p50RatioToFloor: '<= 1.3',
        throughputRatioAt2InFlight: '>= 0.8',
        peakRssMb: '< 400',
        rssGrowth: 'within 10%',
      },
      tenClients20MB: {
        fileMb: round(big.length / 2 ** 20, 1),
        peakRssMb: startScript.peakRssMbMax,
        startScript,
        plainNodeGlibcDefaults: summary(plain),
        jemalloc: jemalloc.length ? summary(jemalloc) : 'not installed (apt-get install libjemalloc2)',
      },
      soak: {
        uploads: soak,
        rssAt1000Mb: rssAt1000,
        rssAtEndMb: rssAtEnd,
        growth: round(rssAtEnd / rssAt1000 - 1, 3),
        tenClients20MBAfterSoak: afterSoak,
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
