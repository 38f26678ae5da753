import { MongoServerError, type Collection, type Document, type IndexSpecification } from 'mongodb';

export const MESSAGE_INDEXES: readonly IndexSpecification[] = [
  { conversation_id: 1, created_at: 1, _id: 1 },
  { 'images._id': 1 },
  { 'images.replication.status': 1, 'images.replication.next_attempt_at': 1 },
  { user_id: 1, 'images.sha256': 1 },
  // findImageByFileKey serves every /files request and the orphan sweep's look-up of each file.
  { 'images.url': 1 },
  { 'images.thumbnail_url': 1 },
  { 'images.evicted_url': 1 },
  { 'images.cloud_url': 1 },
];

export const CONVERSATION_INDEXES: readonly IndexSpecification[] = [
  { user_id: 1, updated_at: -1, _id: -1 },
  // The admin's listing of everyone's conversations.
  { updated_at: -1, _id: -1 },
];

/** IndexOptionsConflict: the same keys are already indexed under another name, by the older app say. */
const INDEX_OPTIONS_CONFLICT = 85;

/**
 * Creates the indexes one by one, so that one the database already holds under another name
 * counts as present instead of failing init for all of them. Idempotent.
 */
export async function ensureIndexes<T extends Document>(collection: Collection<T>, keys: readonly IndexSpecification[]): Promise<void> {
  for (const key of keys) {
    try {
      await collection.createIndex(key);
    } catch (e) {
      if (!(e instanceof MongoServerError && e.code === INDEX_OPTIONS_CONFLICT)) throw e;
    }
  }
}
