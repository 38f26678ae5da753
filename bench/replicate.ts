/**
 * Replication cost, against provider emulators that answer in 300 ms: p50 upload latency with
 * waitForCloud true and false in the same run; then, with the primary dead (hanging) and its
 * circuit open, the latency added per upload before the fallback answers.
 */
import 'reflect-metadata';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startImgbbEmulator, startPostImagesEmulator } from '../test/support/emulators.js';
import { as, startTestServer } from '../test/support/server.js';
import { CreateConversationDocument, UploadImageDocument } from '../test/generated/graphql.js';
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
      CIRCUIT_BREAK_AFTER: '3',
      CIRCUIT_HALF_OPEN_SECONDS: '3600',
      LOG_LEVEL: 'silent',
    },
  });
  try {
    const c = await server.gql(CreateConversationDocument, { input: {} }, as('bench'));
    const conversationId = c.data!.createConversation.id;
    const base = await sharp(await readFile('test/fixtures/chelsea.png')).resize(200).png().toBuffer();
    let n = 0;
    // Every upload has bytes of its own, so none reuses an earlier cloud copy.
    const fresh = async () => sharp(base).composite([{ input: { create: { width: 1, height: 1, channels: 3, background: { r: n % 256, g: (n >> 8) % 256, b: 7 } } }, left: n % 200, top: 0 }]).png().toBuffer();
    const uploadWith = (waitForCloud: boolean) => async () => {
      n++;
      const res = await server.gql(UploadImageDocument, { input: { conversationId, base64: (await fresh()).toString('base64'), waitForCloud } }, as('bench'));
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
