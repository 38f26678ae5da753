import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { MetadataStore } from './metadata-store.js';
import { SqliteMetadataStore } from './sqlite/sqlite-store.js';

/** The store the settings name: MongoDB with MONGODB_URI, else the SQLite file at SQLITE_PATH. */
export async function createStore(config: Config, log: Pick<Logger, 'warn'>): Promise<MetadataStore> {
  if (!config.mongo)
    return new SqliteMetadataStore({
      path: config.sqlitePath,
      busyTimeoutMs: config.sqliteBusyTimeoutMs,
      // Checkpoints off the event loop; a failed one is logged, and SQLite's own stays as a safety net.
      checkpoints: {
        onError: (message) =>
          log.warn({ error: message }, 'a SQLite WAL checkpoint failed; the next is tried in a moment'),
      },
    });
  // Loaded only when configured, so SQLite deployments never load the MongoDB driver.
  const { MongoMetadataStore } = await import('./mongo/mongo-store.js');
  return new MongoMetadataStore({
    uri: config.mongo.uri,
    dbName: config.mongo.dbName,
    legacyDefaultOwner: config.legacyDefaultOwner,
  });
}
