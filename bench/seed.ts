/**
 * This project's whole upload against the seed chatbot's own processing, on one fixture of each
 * class a chat sees (test/support/image-classes.ts: a 1024² PNG render, a 1920×1080 PNG
 * screenshot, a 12 MP grainy camera JPEG), in one run on one machine:
 *
 * - the seed: its Pillow pipeline (bench/seed_pipeline.py, the peer's own file: a JPEG quality
 *   loop down to 500 KB, then a 256 px thumbnail), processing alone, no HTTP, no database;
 * - ours: `uploadImage` over real multipart HTTP against the built server started as `npm start`
 *   does (waitForCloud false: processing, local writes, record), p50 of the runs.
 *
 * SSIM is of luma over 8×8 windows at viewing size (test/support/ssim.ts). The goal, per class:
 * where the seed keeps SSIM ≥ 0.985, ours is no slower than the seed's processing, at most 0.6×
 * its bytes, SSIM ≥ 0.985; where the seed drops below (grain under its 500 KB cap), ours is at
 * least 2× as fast, no larger, SSIM at least the seed's − 0.002. Without Pillow
 * (`apt-get install python3-pil`) the seed column is skipped, saying why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGE_CLASSES, imageOfClass, type ImageClass } from '../test/support/image-classes.js';
import { ssimAtViewingSize } from '../test/support/ssim.js';
import { round } from './lib.js';
import { multipartBody, startServer } from './upload.js';

const PYTHON = '/usr/bin/python3';
const QUERY =
  'mutation($f: Upload!, $c: ID!) { uploadImage(input: { file: $f, conversationId: $c, waitForCloud: false }) { image { id size localUrl } } }';

interface Side {
  ms: number;
  kb: number;
  ssim: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function pillowMissing(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import PIL'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is missing`;
  return r.status === 0 ? null : `Pillow is missing for ${PYTHON} (apt-get install python3-pil)`;
}

async function seedSide(file: string, input: Buffer, rounds: number, dir: string): Promise<Side> {
  const out = join(dir, 'seed-out.jpg');
  const stdout = execFileSync(PYTHON, ['bench/seed_pipeline.py', String(rounds), file], {
    encoding: 'utf8',
    env: { ...process.env, SEED_OUT: out },
  });
  const runs = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ms: number; bytes: number });
  const stored = await readFile(out);
  return {
    ms: round(median(runs.map((r) => r.ms)), 1),
    kb: round(stored.length / 1024, 1),
    ssim: round(await ssimAtViewingSize(input, stored), 4),
  };
}

async function ourSide(url: string, input: Buffer, rounds: number): Promise<Side> {
  const agent = new Agent({ keepAlive: true });
  const created = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-user-id': 'bench' },
    body: JSON.stringify({ query: 'mutation { createConversation(input: { title: "seed bench" }) { id } }' }),
  });
  const conversationId = ((await created.json()) as { data: { createConversation: { id: string } } }).data
    .createConversation.id;
  const boundary = `----his-seed-${randomBytes(8).toString('hex')}`;
  const body = multipartBody(boundary, conversationId, input, QUERY);
  const once = () =>
    new Promise<{ ms: number; localUrl: string }>((resolve, reject) => {
      const started = performance.now();
      const req = request(
        `${url}/graphql`,
        {
          method: 'POST',
          agent,
          headers: {
            'apollo-require-preflight': 'true',
            'x-user-id': 'bench',
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - started;
            const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              data?: { uploadImage: { image: { localUrl: string } } };
              errors?: unknown;
            };
            if (!answer.data) return reject(new Error(JSON.stringify(answer.errors).slice(0, 300)));
            resolve({ ms, localUrl: answer.data.uploadImage.image.localUrl });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  for (let i = 0; i < 2; i++) await once();
  const runs: { ms: number; localUrl: string }[] = [];
  for (let i = 0; i < rounds; i++) runs.push(await once());
  agent.destroy();
  const stored = Buffer.from(await (await fetch(runs.at(-1)!.localUrl)).arrayBuffer());
  return {
    ms: round(median(runs.map((r) => r.ms)), 1),
    kb: round(stored.length / 1024, 1),
    ssim: round(await ssimAtViewingSize(input, stored), 4),
  };
}

function verdict(seed: Side, ours: Side) {
  if (seed.ssim >= 0.985) {
    const checks = { time: ours.ms <= seed.ms, bytes: ours.kb <= 0.6 * seed.kb, ssim: ours.ssim >= 0.985 };
    return {
      goal: 'seed keeps SSIM ≥ 0.985: ours ≤ seed ms, ≤ 0.6× seed KB, SSIM ≥ 0.985',
      ...checks,
      pass: Object.values(checks).every(Boolean),
    };
  }
  const checks = { time: ours.ms * 2 <= seed.ms, bytes: ours.kb <= seed.kb, ssim: ours.ssim >= seed.ssim - 0.002 };
  return {
    goal: 'seed drops below 0.985: ours ≥ 2× as fast, ≤ seed KB, SSIM ≥ seed − 0.002',
    ...checks,
    pass: Object.values(checks).every(Boolean),
  };
}

export async function benchSeed(o: { rounds?: number } = {}) {
  const rounds = o.rounds ?? 9;
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-seed-'));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  const missing = pillowMissing();
  if (missing) console.error(`seed column skipped: ${missing}`);
  const server = await startServer(dir, { CLOUD_PROVIDERS: 'postimages' });
  const rows: Record<string, unknown>[] = [];
  const lines: string[] = [
    '| input | seed: ms / KB / SSIM | this project: ms / KB / SSIM | time ratio (seed ÷ ours) | goal |',
    '| --- | --- | --- | --- | --- |',
  ];
  try {
    for (const kind of IMAGE_CLASSES) {
      const input = await imageOfClass(kind);
      const file = join(dir, `${kind}.${kind === 'photo' ? 'jpg' : 'png'}`);
      await writeFile(file, input);
      const ours = await ourSide(server.url, input, rounds);
      const seed = missing ? null : await seedSide(file, input, rounds, dir);
      const v = seed ? verdict(seed, ours) : null;
      rows.push({
        input: LABELS[kind],
        seed: seed ?? `skipped: ${missing}`,
        ours,
        ...(v ? { ratio: round(seed!.ms / ours.ms, 2), verdict: v } : {}),
      });
      const side = (s: Side) => `${s.ms} / ${s.kb} / ${s.ssim}`;
      lines.push(
        `| ${LABELS[kind]} | ${seed ? side(seed) : 'skipped'} | ${side(ours)} | ${seed ? round(seed.ms / ours.ms, 2) : '–'} | ${
          v
            ? v.pass
              ? 'PASS'
              : `FAIL (${Object.entries({ time: v.time, bytes: v.bytes, ssim: v.ssim })
                  .filter(([, ok]) => !ok)
                  .map(([k]) => k)
                  .join(', ')})`
            : '–'
        } |`,
      );
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.error(lines.join('\n'));
  return {
    name: 'seed: whole uploadImage over HTTP (ours) against the seed pipeline’s processing alone, p50',
    rounds,
    table: lines,
    rows,
  };
}

const LABELS: Record<ImageClass, string> = {
  render: '1024×1024 PNG render',
  screenshot: '1920×1080 PNG screenshot',
  photo: '12 MP camera JPEG q92, grain',
};
