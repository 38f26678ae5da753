import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
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
    const { MongoMetadataStore } = await import('../../src/store/mongo/mongo-store.js');
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
} else {
  const reason = 'set MONGODB_URI or MONGOMS_SYSTEM_BINARY (no mongod on this machine)';
  // A skipped suite is easy to miss in a summary; say why where CI logs show it.
  console.warn(`MongoDB contract suite skipped: ${reason}`);
  describe.skip(`MetadataStore contract: MongoMetadataStore — skipped: ${reason}`, () => {
    it('runs the shared MetadataStore contract against MongoDB', () => {});
  });
}
