import type { Config } from '../config.js';
import type { MetadataStore } from './metadata-store.js';
import { SqliteMetadataStore } from './sqlite/sqlite-store.js';

/** The store the settings name: MongoDB with MONGODB_URI, else the SQLite file at SQLITE_PATH. */
export async function createStore(config: Config): Promise<MetadataStore> {
  if (!config.mongo)
    return new SqliteMetadataStore({ path: config.sqlitePath, busyTimeoutMs: config.sqliteBusyTimeoutMs });
  // Loaded only when configured, so SQLite deployments never load the MongoDB driver.
  const { MongoMetadataStore } = await import('./mongo/mongo-store.js');
  return new MongoMetadataStore({
    uri: config.mongo.uri,
    dbName: config.mongo.dbName,
    legacyDefaultOwner: config.legacyDefaultOwner,
  });
}
