/**
 * `npm run bench -- hostile`: the figures of issue #11's points 3 and 4, against the built
 * server in its own process, started as `npm start` starts it (scripts/start.sh).
 *
 * - starvation: while two heavy uploads (a 400-frame 500×499 animated WebP, 99.8 MP, under
 *   MAX_INPUT_PIXELS; about 11 MB of busy frames, which cost more to encode than the 229 KB file
 *   of the issue) are in flight from one user, another user uploads a 2 KB JPEG five times in turn. Reported: that user's latencies, and when (and how) each heavy upload was answered.
 *   Targets: small < 3 s, heavy answered < 15 s.
 * - memory: in production mode, eight concurrent ~67 MB JSON bodies without credentials, then
 *   eight concurrent maximum-size base64 uploads (MAX_UPLOAD_BYTES, 50 MB of PNG) with a valid
 *   token. Reported: peak RSS of the server (VmHWM) for each. Target with credentials: < 800 MB.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import sharp from 'sharp';
import { heavyAnimation } from '../test/support/animation.js';
import { round } from './lib.js';
import { startServer } from './upload.js';

const MAX_UPLOAD_BYTES = 52_428_800;

function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/graphql`,
      { method: 'POST', headers: { ...headers, 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    // The server may answer (401) and close before the whole body is sent: that is the point.
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EPIPE' || e.code === 'ECONNRESET' ? resolve({ status: -1, text: e.code }) : reject(e),
    );
    req.end(body);
  });
}

function multipart(conversationId: string, file: Buffer): { body: Buffer; type: string } {
  const b = 'hostilebench';
  const query =
    'mutation($f: Upload!, $c: ID!) { uploadImage(input: { file: $f, conversationId: $c }) { image { id size } } }';
  const field = (name: string, value: string) =>
    `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  return {
    type: `multipart/form-data; boundary=${b}`,
    body: Buffer.concat([
      Buffer.from(
        field('operations', JSON.stringify({ query, variables: { f: null, c: conversationId } })) +
          field('map', '{"0":["variables.f"]}') +
          `--${b}\r\nContent-Disposition: form-data; name="0"; filename="x"\r\n\r\n`,
      ),
      file,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]),
  };
}

async function conversation(url: string, headers: Record<string, string>): Promise<string> {
  const res = await post(
    url,
    Buffer.from(JSON.stringify({ query: 'mutation { createConversation(input: {}) { id } }' })),
    { 'content-type': 'application/json', ...headers },
  );
  return (JSON.parse(res.text) as { data: { createConversation: { id: string } } }).data.createConversation.id;
}

async function starvation() {
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-hostile-'));
  const server = await startServer(dir);
  try {
    const heavy = await heavyAnimation({ frames: 400, busy: true });
    const small = await sharp({ create: { width: 48, height: 48, channels: 3, background: '#a52' } })
      .jpeg({ quality: 80 })
      .toBuffer();
    const m = await conversation(server.url, { 'x-user-id': 'mallory' });
    const a = await conversation(server.url, { 'x-user-id': 'alice' });
    const slots = 2;
    const t0 = performance.now();
    const attack = Array.from({ length: slots }, async () => {
      const { body, type } = multipart(m, heavy);
      const res = await post(server.url, body, {
        'content-type': type,
        'apollo-require-preflight': '1',
        'x-user-id': 'mallory',
      });
      const code = (JSON.parse(res.text) as { errors?: { extensions: { code: string } }[] }).errors?.[0]?.extensions
        .code;
      return { answeredAfterMs: round(performance.now() - t0, 0), outcome: code ?? 'stored' };
    });
    await new Promise((r) => setTimeout(r, 500));
    const smallMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { body, type } = multipart(a, small);
      const s = performance.now();
      const res = await post(server.url, body, {
        'content-type': type,
        'apollo-require-preflight': '1',
        'x-user-id': 'alice',
      });
      if (res.status !== 200 || res.text.includes('"errors"'))
        throw new Error(`small upload failed: ${res.text.slice(0, 200)}`);
      smallMs.push(round(performance.now() - s, 0));
    }
    const heavyAnswers = await Promise.all(attack);
    return {
      heavyBytes: heavy.length,
      heavyFrames: 400,
      smallBytes: small.length,
      heavyUploads: heavyAnswers,
      smallUploadMs: smallMs,
      smallMaxMs: Math.max(...smallMs),
      targets: { smallMaxMs: 3000, heavyAnsweredMs: 15_000 },
    };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A PNG of noise just under MAX_UPLOAD_BYTES (uncompressed: 4170² × 3 bytes): the largest upload accepted. */
async function maximumPng(): Promise<Buffer> {
  const side = 4170;
  const raw = Buffer.alloc(side * side * 3);
  let x = 2463534242;
  for (let i = 0; i < raw.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    raw[i] = x & 0xff;
  }
  const png = await sharp(raw, { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 0 })
    .toBuffer();
  if (png.length > MAX_UPLOAD_BYTES) throw new Error(`fixture too large: ${png.length}`);
  return png;
}

async function memory() {
  const secret = 'bench-secret-of-at-least-thirty-two-chars';
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-hostile-'));
  const server = await startServer(dir, {
    NODE_ENV: 'production',
    AUTH_JWT_SECRET: secret,
    FILE_URL_SECRET: 'f'.repeat(40),
    PUBLIC_BASE_URL: 'http://127.0.0.1',
  });
  try {
    const token = await new SignJWT({ sub: 'bench' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('30m')
      .sign(new TextEncoder().encode(secret));
    const auth = { authorization: `Bearer ${token}` };
    const c = await conversation(server.url, auth);
    const png = await maximumPng();
    const body = Buffer.from(
      JSON.stringify({
        query:
          'mutation($c: ID!, $b: String) { uploadImage(input: { conversationId: $c, base64: $b }) { image { id size } } }',
        variables: { c, b: png.toString('base64') },
      }),
    );
    const idle = await server.rssMb();

    await server.resetPeakRss();
    const anonymous = await Promise.all(
      Array.from({ length: 8 }, () => post(server.url, body, { 'content-type': 'application/json' })),
    );
    const anonymousPeak = await server.peakRssMb();

    await server.resetPeakRss();
    const t0 = performance.now();
    const withToken = await Promise.all(
      Array.from({ length: 8 }, () => post(server.url, body, { 'content-type': 'application/json', ...auth })),
    );
    const seconds = round((performance.now() - t0) / 1000, 1);
    const tokenPeak = await server.peakRssMb();
    return {
      bodyMb: round(body.length / 2 ** 20, 1),
      idleRssMb: idle,
      withoutCredentials: { peakRssMb: anonymousPeak, answers: [...new Set(anonymous.map((r) => r.status))] },
      withCredentials: {
        peakRssMb: tokenPeak,
        seconds,
        answers: withToken.map((r) =>
          r.status === 200 && !r.text.includes('"errors"') ? 'stored' : `${r.status} ${r.text.slice(0, 120)}`,
        ),
      },
      targets: { withCredentialsPeakRssMb: 800 },
    };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchHostile() {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  return { starvation: await starvation(), memory: await memory() };
}
