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
  // cloudUrlInUse: a thumbnail object shared by twins is kept while one still shows it.
  { 'images.thumbnail_cloud_url': 1 },
  // The `images` listing reads time windows (image-listing.ts): an owner's, the seed's messages
  // without user_id by their conversation, and an admin's over everyone.
  { user_id: 1, 'images.uploaded_at': -1 },
  { conversation_id: 1, 'images.uploaded_at': -1 },
  { 'images.uploaded_at': -1 },
  // A conversation's image count, summed from the index (image_count is this server's field).
  { conversation_id: 1, image_count: 1 },
];

export const CONVERSATION_INDEXES: readonly IndexSpecification[] = [
  { user_id: 1, updated_at: -1, _id: -1 },
  // The admin's listing of everyone's conversations.
  { updated_at: -1, _id: -1 },
];

/** IndexOptionsConflict: the same keys are already indexed under another name, by the older app say. */
const INDEX_OPTIONS_CONFLICT = 85;
/** Unauthorized: the user may read and write but not create indexes (a least-privilege role). */
const UNAUTHORIZED = 13;
/** NamespaceNotFound: listIndexes on a collection that does not exist yet. */
const NAMESPACE_NOT_FOUND = 26;

/** The key pattern of an index as a comparable string: fields in order, with their direction or type. */
function keyOf(key: Document): string {
  return JSON.stringify(
    Object.entries(key).map(([field, kind]) => [field, typeof kind === 'number' ? Math.sign(kind) : String(kind)]),
  );
}

/** The wanted indexes the collection lacks, compared by key pattern (names do not matter). */
export function missingIndexes(
  existing: readonly { key: Document }[],
  wanted: readonly IndexSpecification[],
): IndexSpecification[] {
  const have = new Set(existing.map((i) => keyOf(i.key)));
  return wanted.filter((w) => !have.has(keyOf(w as Document)));
}

/**
 * Creates the indexes the collection lacks, one by one, so one the database already holds under
 * another name counts as present instead of failing init for all of them. Idempotent. Indexes
 * already there are never created again, so a user without createIndex rights starts fine once
 * an administrator made them; one still missing is named, with the command that creates it.
 */
export async function ensureIndexes<T extends Document>(
  collection: Collection<T>,
  keys: readonly IndexSpecification[],
): Promise<void> {
  let existing: { key: Document }[] = [];
  try {
    existing = (await collection.listIndexes().toArray()) as { key: Document }[];
  } catch (e) {
    // A new collection has no indexes; without the right to list them, each one is tried.
    if (!(e instanceof MongoServerError && (e.code === NAMESPACE_NOT_FOUND || e.code === UNAUTHORIZED))) throw e;
  }
  for (const key of missingIndexes(existing, keys)) {
    try {
      await collection.createIndex(key);
    } catch (e) {
      if (e instanceof MongoServerError && e.code === INDEX_OPTIONS_CONFLICT) continue;
      if (e instanceof MongoServerError && e.code === UNAUTHORIZED)
        throw new Error(missingIndexMessage(collection.collectionName, key));
      throw e;
    }
  }
}

export function missingIndexMessage(collection: string, key: IndexSpecification): string {
  return `MongoDB: the index ${JSON.stringify(key)} on "${collection}" is missing, and this user may not create indexes. Create it once as an administrator: db.${collection}.createIndex(${JSON.stringify(key)}), then start again.`;
}
