import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataStoreContract } from './metadata-store.contract.js';

const externalUri = process.env.MONGODB_URI;
const systemBinary = process.env.MONGOMS_SYSTEM_BINARY;

if (externalUri || systemBinary) {
  let uri = externalUri ?? '';
  let stopServer: (() => Promise<unknown>) | undefined;

  beforeAll(async () => {
    if (externalUri) return;
    const { MongoMemoryServer } = await import('mongodb-memory-server-core');
    const server = await MongoMemoryServer.create({ binary: { systemBinary } });
    uri = server.getUri();
    stopServer = () => server.stop();
  });

  afterAll(async () => {
    await stopServer?.();
  });

  const source = externalUri ? 'MONGODB_URI' : `mongod at ${systemBinary}`;
  metadataStoreContract(`MetadataStore contract: MongoMetadataStore (${source})`, async () => {
    // Imported here so the SQLite suite never depends on the MongoDB adapter being present.
    const { MongoMetadataStore } = await import('../../src/metadata/mongo/mongo-store.js');
    const { MongoClient } = await import('mongodb');
    // A database per test: tests stay independent, and a shared server's data is never touched.
    const dbName = `his_contract_${process.pid}_${randomBytes(6).toString('hex')}`;
    return {
      store: new MongoMetadataStore({ uri, dbName }),
      cleanup: async () => {
        const client = new MongoClient(uri);
        try {
          await client.db(dbName).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  });

  describe(`the seed chatbot's database, read in place (${source})`, () => {
    it("shows each seed image to its owner only, the message without user_id as its conversation owner's", async () => {
      const { MongoMetadataStore } = await import('../../src/metadata/mongo/mongo-store.js');
      const { MongoClient } = await import('mongodb');
      const { readExportFile } = await import('../../src/metadata/mongo/export-file.js');
      const { SEED_APP, SEED } = await import('../support/seed-app.js');
      const dbName = `his_seed_${process.pid}_${randomBytes(6).toString('hex')}`;
      const client = new MongoClient(uri);
      const store = new MongoMetadataStore({ uri, dbName });
      try {
        // The fixture inserted exactly as mongoimport would: the seed's documents, untouched.
        for (const [collection, file] of [
          ['conversations', 'conversations.json'],
          ['messages', 'messages.json'],
        ] as const) {
          const docs = [];
          for await (const e of readExportFile(`${SEED_APP}/${file}`)) if (e.ok) docs.push(e.doc);
          await client.db(dbName).collection(collection).insertMany(docs);
        }
        await store.init();
        const alice = await store.listImages('alice', {}, { first: 10, after: null });
        const bob = await store.listImages('bob', {}, { first: 10, after: null });
        expect(alice.totalCount).toBe(3);
        expect(bob.items.map((i) => i.localKey)).toEqual([`/static/Storage/${SEED.missing}`]);
        const localOnly = alice.items.find((i) => i.localKey === `/static/Storage/${SEED.localOnly}`)!;
        expect(localOnly).toMatchObject({ userId: 'alice', cloudUrl: null, replication: { status: 'LOCAL_ONLY' } });
        expect((await store.getImagesByIds([localOnly.id]))[0]).toMatchObject({ userId: 'alice' });
        expect((await store.findImageByFileKey(SEED.localOnly))?.userId).toBe('alice');
        expect((await store.storageStats('alice')).imageCount).toBe(3);
        expect((await store.storageStats('bob')).imageCount).toBe(1);
        expect((await store.storageStats(null)).imageCount).toBe(4);
        const [message] = await store.getMessagesByIds([SEED.localOnlyMessage]);
        expect(message).toMatchObject({ userId: 'alice' });
        // Every seed image has an owner; a message in a conversation that names none is counted.
        expect(await store.countOwnerlessImages()).toBe(0);
        await client
          .db(dbName)
          .collection('messages')
          .insertOne({
            conversation_id: 'no-such-conversation',
            role: 'user',
            content: 'x',
            images: [{ url: '/static/Storage/uploads/x.jpg' }, { url: '/static/Storage/uploads/y.jpg' }],
          });
        expect(await store.countOwnerlessImages()).toBe(2);
        expect((await store.listImages('alice', {}, { first: 10, after: null })).totalCount).toBe(3);
        // The insert above is another process's write: cached statistics show it within STATS_TTL_MS, not at once.
        expect((await store.storageStats(null)).imageCount).toBe(4);
        const fresh = new MongoMetadataStore({ uri, dbName });
        await fresh.init();
        expect((await fresh.storageStats(null)).imageCount).toBe(6);
        await fresh.close();
      } finally {
        await store.close();
        await client.db(dbName).dropDatabase();
        await client.close();
      }
    });
  });
} else {
  const reason = 'set MONGODB_URI or MONGOMS_SYSTEM_BINARY (no mongod on this machine)';
  // A skipped suite is easy to miss in a summary; say why where CI logs show it.
  console.warn(`MongoDB contract suite skipped: ${reason}`);
  describe.skip(`MetadataStore contract: MongoMetadataStore — skipped: ${reason}`, () => {
    it('runs the shared MetadataStore contract against MongoDB', () => {});
  });
}
