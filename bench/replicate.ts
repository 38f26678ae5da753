/**
 * Replication cost, against provider emulators that answer in 300 ms: p50 upload latency with
 * waitForCloud true and false in the same run; then, with the primary dead (hanging) and its
 * circuit open, the latency added per upload before the fallback answers. Then the s3 row:
 * uploads replicated to s3rver (loopback, through the real AWS SDK) at concurrency 1 and 4, in
 * images/s, and one 8 MB object's multipart upload through the provider.
 */
import 'reflect-metadata';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startImgbbEmulator, startPostImagesEmulator } from '../test/support/emulators.js';
import { as, startTestServer } from '../test/support/server.js';
import { CreateConversationDocument, UploadImageDocument } from '../test/generated/graphql.js';
import { randomBytes } from 'node:crypto';
import { S3Provider } from '../src/cloud/s3.js';
import { startS3 } from '../test/support/s3.js';
import { measure, round } from './lib.js';

export async function benchReplicate(o: { total?: number } = {}) {
  const total = o.total ?? 30;
  const postimages = await startPostImagesEmulator({ slowMs: 300 });
  const imgbb = await startImgbbEmulator({ slowMs: 300 });
  postimages.setMode('slow');
  imgbb.setMode('slow');
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-replicate-'));
  const server = await startTestServer({
    dir,
    env: {
      POSTIMAGES_API_KEY: postimages.apiKey,
      POSTIMAGES_API_URL: postimages.apiUrl,
      IMGBB_API_KEY: imgbb.apiKey,
      IMGBB_API_URL: imgbb.apiUrl,
      CLOUD_TIMEOUT_MS: '2000',
      // Budgets on, but out of reach: the bench measures latency, not a spent window.
      POSTIMAGES_BUDGET: '1000000/hour',
      IMGBB_BUDGET: '1000000/hour',
      CIRCUIT_BREAK_AFTER: '3',
      CIRCUIT_HALF_OPEN_SECONDS: '3600',
      LOG_LEVEL: 'silent',
    },
  });
  try {
    const c = await server.gql(CreateConversationDocument, { input: {} }, as('bench'));
    const conversationId = c.data!.createConversation.id;
    const base = await sharp(await readFile('test/fixtures/chelsea.png'))
      .resize(200)
      .png()
      .toBuffer();
    let n = 0;
    // Every upload has bytes of its own, so none reuses an earlier cloud copy.
    const fresh = async () =>
      sharp(base)
        .composite([
          {
            input: {
              create: { width: 1, height: 1, channels: 3, background: { r: n % 256, g: (n >> 8) % 256, b: 7 } },
            },
            left: n % 200,
            top: 0,
          },
        ])
        .png()
        .toBuffer();
    const uploadWith = (waitForCloud: boolean) => async () => {
      n++;
      const res = await server.gql(
        UploadImageDocument,
        { input: { conversationId, base64: (await fresh()).toString('base64'), waitForCloud } },
        as('bench'),
      );
      if (res.errors) throw new Error(JSON.stringify(res.errors));
    };
    const waitTrue = await measure(uploadWith(true), { total, concurrency: 1, warmup: 2 });
    const waitFalse = await measure(uploadWith(false), { total, concurrency: 1, warmup: 2 });

    // The primary dies: the first uploads pay its timeout until the circuit opens.
    postimages.setMode('hang');
    for (let i = 0; i < 3; i++) await uploadWith(true)();
    const circuitOpen = await measure(uploadWith(true), { total, concurrency: 1, warmup: 0 });
    return {
      name: 'replicate: emulated providers answering in 300 ms, uploads of a 200 px PNG',
      waitForCloudTrue: waitTrue,
      waitForCloudFalse: waitFalse,
      primaryDeadCircuitOpen: circuitOpen,
      addedLatencyWithCircuitOpenMs: round(circuitOpen.medianMs - waitTrue.medianMs),
      target: 'added latency < 50 ms (not CLOUD_TIMEOUT_MS = 2000 ms)',
    };
  } finally {
    await server.stop();
    await postimages.stop();
    await imgbb.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Uploads replicated to S3 (s3rver on loopback) at concurrency 1 and 4, without a budget and with
 * one (S3_BUDGET, counted in the SQLite store: one more write per upload), and an 8 MB multipart upload.
 * Each setting is run twice, alternately; the second, warm run of each is reported.
 */
export async function benchReplicateS3(o: { total?: number } = {}) {
  const total = o.total ?? 40;
  const s3 = await startS3();
  const rows: Record<string, unknown> = {};
  const base = await sharp(await readFile('test/fixtures/chelsea.png'))
    .resize(200)
    .png()
    .toBuffer();
  let n = 0;
  const fresh = async () =>
    sharp(base)
      .composite([
        {
          input: { create: { width: 1, height: 1, channels: 3, background: { r: n % 256, g: (n >> 8) % 256, b: 9 } } },
          left: n % 200,
          top: 1,
        },
      ])
      .png()
      .toBuffer();
  try {
    // Two rounds, alternating: the first round warms the SDK, s3rver and the JIT for both
    // settings, so the second (the one reported) compares them warm.
    for (const budget of ['off', '1000000/month', 'off', '1000000/month']) {
      const dir = await mkdtemp(join(tmpdir(), 'his-bench-s3-'));
      const server = await startTestServer({
        dir,
        env: s3.env({ CLOUD_PROVIDERS: 's3', CLOUD_TIMEOUT_MS: '5000', LOG_LEVEL: 'silent', S3_BUDGET: budget }),
      });
      try {
        const c = await server.gql(CreateConversationDocument, { input: {} }, as('bench'));
        const conversationId = c.data!.createConversation.id;
        const upload = async () => {
          n++;
          const res = await server.gql(
            UploadImageDocument,
            { input: { conversationId, base64: (await fresh()).toString('base64'), waitForCloud: true } },
            as('bench'),
          );
          if (res.errors || res.data!.uploadImage.image.service !== 'S3')
            throw new Error(JSON.stringify(res.errors ?? res.data));
        };
        const one = await measure(upload, { total, concurrency: 1, warmup: 2 });
        const four = await measure(upload, { total, concurrency: 4, warmup: 2 });
        rows[budget === 'off' ? 'noBudget' : 'withBudget'] = {
          S3_BUDGET: budget,
          concurrency1: { ...one, imagesPerSecond: one.requestsPerSecond },
          concurrency4: { ...four, imagesPerSecond: four.requestsPerSecond },
        };
      } finally {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }
    const provider = new S3Provider(s3.providerOptions({ keyPrefix: 'multipart/', timeoutMs: 60_000 }));

    const big = randomBytes(8 * 1024 * 1024 + 1);
    const started = performance.now();
    await provider.upload(
      { data: big, fileName: 'big.png', mimeType: 'image/png', sha256: '', ownerId: 'bench' },
      AbortSignal.timeout(60_000),
    );
    const multipartMs = round(performance.now() - started);
    return {
      name: 's3: uploads of a 200 px PNG (and its thumbnail) replicated to s3rver on loopback (waitForCloud true), without and with a budget, and one 8 MB object',
      ...rows,
      multipart8MbMs: multipartMs,
      parts: s3.requests.filter((r) => r.method === 'PUT' && r.path.startsWith(`/${s3.bucket}/multipart/`)).length,
    };
  } finally {
    await s3.stop();
  }
}
