/**
 * Signed `/files` requests per second against `express.static` over the same files, in the
 * same run: the cost of checking signatures and looking up the stored mime type.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { createApp } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import type { ImageRecord } from '../src/domain/types.js';
import { SqliteMetadataStore } from '../src/metadata/sqlite/sqlite-store.js';
import { UrlSigner } from '../src/files/url-signer.js';
import { measure } from './lib.js';

const SECRET = 's'.repeat(32);

export async function benchServe(o: { total?: number } = {}) {
  const total = o.total ?? 4000;
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-serve-'));
  const storageDir = join(dir, 'storage');
  const sqlitePath = join(dir, 'metadata.sqlite');
  try {
    const config = loadConfig({
      PORT: '0',
      SQLITE_PATH: sqlitePath,
      STORAGE_DIR: storageDir,
      FILE_URL_SECRET: SECRET,
      LOG_LEVEL: 'silent',
    });
    const app = await createApp(config, { log: pino({ level: 'silent' }) });
    const base = await app.listen();

    // The four fixture photos, each registered as an image record, as uploads would leave them.
    const store = new SqliteMetadataStore({ path: sqlitePath });
    await store.init();
    const fixtures = ['astronaut.png', 'chelsea.png', 'coffee.png', 'hubble_deep_field.jpg'];
    const conversationId = randomBytes(12).toString('hex');
    await store.createConversation({
      id: conversationId,
      userId: 'bench',
      title: null,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
    const messageId = randomBytes(12).toString('hex');
    const keys: string[] = [];
    const images: ImageRecord[] = [];
    for (const [i, name] of fixtures.entries()) {
      const key = `uploads/img_20260101_000000_0000000${i}.${name.endsWith('.jpg') ? 'jpg' : 'png'}`;
      await copyFile(join('test/fixtures', name), join(storageDir, key));
      keys.push(key);
      images.push({
        id: randomBytes(12).toString('hex'),
        messageId,
        conversationId,
        userId: 'bench',
        localKey: key,
        evictedKey: null,
        thumbnailKey: null,
        cloudUrl: null,
        thumbnailCloudUrl: null,
        cloudVerifiedAt: null,
        cloudAlteredAt: null,
        deleteUrl: null,
        caption: null,
        size: 0,
        mimeType: name.endsWith('.jpg') ? 'image/jpeg' : 'image/png',
        width: 1,
        height: 1,
        generated: false,
        service: 'LOCAL',
        sha256: randomBytes(32).toString('hex'),
        placeholder: null,
        uploadedAt: new Date(),
        replication: {
          status: 'PENDING',
          attempts: 0,
          nextAttemptAt: null,
          lastError: null,
          leaseOwner: null,
          leaseUntil: null,
        },
      });
    }
    await store.addMessage({
      id: messageId,
      conversationId,
      userId: 'bench',
      role: 'USER',
      content: '',
      createdAt: new Date(),
      images,
    });
    await store.close();

    const signer = new UrlSigner(SECRET, base, 3600, () => new Date());
    const signed = keys.map((k) => signer.url(k));

    const staticApp = express();
    staticApp.use('/static', express.static(storageDir));
    const staticServer = staticApp.listen(0, '127.0.0.1');
    await new Promise((r) => staticServer.once('listening', r));
    const staticBase = `http://127.0.0.1:${(staticServer.address() as AddressInfo).port}/static`;
    const plain = keys.map((k) => `${staticBase}/${k}`);

    const run = (urls: string[]) => {
      let i = 0;
      return async () => {
        const res = await fetch(urls[i++ % urls.length] as string);
        if (res.status !== 200) throw new Error(`status ${res.status}`);
        await res.arrayBuffer();
      };
    };
    const results: Record<string, unknown> = {};
    // Alternated twice so that neither side always runs on a warmer process.
    for (const round of [1, 2]) {
      results[`signedFiles_round${round}`] = await measure(run(signed), { total, concurrency: 8, warmup: 50 });
      results[`expressStatic_round${round}`] = await measure(run(plain), { total, concurrency: 8, warmup: 50 });
    }
    const rps = (k: string) => (results[k] as { requestsPerSecond: number }).requestsPerSecond;
    const ratio =
      (rps('signedFiles_round1') + rps('signedFiles_round2')) /
      (rps('expressStatic_round1') + rps('expressStatic_round2'));
    await new Promise((r) => staticServer.close(r));
    await app.stop();
    return {
      name: 'serve: signed /files vs express.static, 4 fixture photos (240-790 KB), concurrency 8',
      ...results,
      signedToStaticRatio: Math.round(ratio * 100) / 100,
      target: '>= 0.8',
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
