/**
 * The read path of a chat UI: 20 conversations × their 20 messages × their images, over
 * HTTP, against a SQLite store seeded with 400 messages and 1,600 images. Measured with
 * DataLoader batching on and off in the same run: latency, throughput at concurrency 8,
 * and store round trips per request.
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { pino } from 'pino';
import { createApp } from '../src/server.js';
import { loadConfig } from '../src/config.js';
import { countingStore } from '../test/support/counting-store.js';
import { SqliteMetadataStore } from '../src/metadata/sqlite/sqlite-store.js';
import { ConversationsWithMessagesDocument } from '../test/generated/graphql.js';
import { seedChat } from '../test/support/seed-chat.js';
import { measure } from './lib.js';

const QUERY = JSON.stringify({
  query: print(ConversationsWithMessagesDocument),
  variables: { first: 20, messagesFirst: 20 },
});

export async function benchRead(o: { total?: number } = {}) {
  const total = o.total ?? 400;
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-read-'));
  const sqlitePath = join(dir, 'metadata.sqlite');
  try {
    const seeder = new SqliteMetadataStore({ path: sqlitePath });
    await seeder.init();
    await seedChat(seeder, { userId: 'bench', conversations: 20, messagesPerConversation: 20, imagesPerMessage: 4 });
    await seeder.close();

    const results: Record<string, unknown> = {};
    for (const batchLoads of [true, false]) {
      const counter = countingStore(new SqliteMetadataStore({ path: sqlitePath }));
      const config = loadConfig({
        PORT: '0',
        SQLITE_PATH: sqlitePath,
        STORAGE_DIR: join(dir, 'storage'),
        FILE_URL_SECRET: 'b'.repeat(32),
        LOG_LEVEL: 'silent',
      });
      const app = await createApp(config, { log: pino({ level: 'silent' }), store: counter.store, batchLoads });
      const url = `${await app.listen()}/graphql`;
      const request = async () => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': 'bench' },
          body: QUERY,
        });
        const body = (await res.json()) as { errors?: unknown; data?: { conversations: { edges: unknown[] } } };
        if (body.errors || body.data?.conversations.edges.length !== 20)
          throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
      };
      counter.reset();
      await request();
      const roundTrips = counter.total();
      const sequential = await measure(request, { total: Math.ceil(total / 4), concurrency: 1, warmup: 10 });
      const concurrent = await measure(request, { total, concurrency: 8, warmup: 10 });
      await app.stop();
      results[batchLoads ? 'withDataLoader' : 'withoutDataLoader'] = {
        storeRoundTripsPerRequest: roundTrips,
        concurrency1: sequential,
        concurrency8: concurrent,
      };
    }
    return { name: 'read: 20 conversations × 20 messages × 4 images (1,600 images in store)', ...results };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
