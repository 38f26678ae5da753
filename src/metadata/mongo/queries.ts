import { ObjectId, type Document } from 'mongodb';
import { isValidId } from '../../domain/ids.js';
import type { Cursor, PageRequest } from '../../domain/cursor.js';
import { STORAGE_SERVICES, type ImageFilter, type OwnerScope, type StorageStats } from '../../domain/types.js';
import type { ImagePatch } from '../metadata-store.js';
import { SERVICE_TO_DOC } from './documents.js';
import { anyIdForm, IMGBB_URL, idMatch, POSTIMAGES_URL, toObjectId, type Id } from './documents.js';

/**
 * Pure builders of the MongoDB filters, updates and pipelines, apart from the driver calls so
 * their exact shape is unit-tested without a server.
 *
 * Keyset conditions compare BSON dates and ObjectIds, which is what this server writes. Message
 * and image listings sort in memory anyway, so they compare dates after conversion and page
 * legacy string dates correctly. Conversations are listed straight off the index: one whose
 * updated_at is a string sorts after every dated one (BSON orders types before values) and is
 * not reached by a cursor, until a new message sets a date. Tie-breaks compare `_id`s, so a
 * legacy image not yet given its `_id` (see legacy.ts) sorts after its equals in time, and a page
 * boundary among such equals may skip some of them once; reads give them their `_id`.
 */

/**
 * The conversations `owner` sees: its own, and for LEGACY_DEFAULT_OWNER those that name no
 * owner (`user_id` missing or null). The admin (null) sees all.
 */
export function conversationOwnerMatch(owner: OwnerScope, defaultOwner: string | null): Document {
  if (owner === null) return {};
  const forms = anyIdForm([owner]);
  return { user_id: { $in: owner === defaultOwner ? [...forms, null] : forms } };
}

/**
 * An owner-scoped read of messages, as the store resolved it: the owner, and every stored form
 * of the ids of the conversations the owner sees (conversationOwnerMatch).
 */
export interface MessageScope {
  owner: string;
  conversations: Id[];
}

/**
 * Messages of `scope`'s owner: those naming it in `user_id`, and those naming no one (the seed
 * chatbot writes no `user_id` on messages) in one of the owner's conversations. A message's own
 * `user_id` wins over its conversation's, as documents.ts reads it. Null: every message.
 */
export function messageOwnerMatch(scope: MessageScope | null): Document {
  if (scope === null) return {};
  const own = { user_id: idMatch([scope.owner]) };
  if (scope.conversations.length === 0) return own;
  return { $or: [own, { user_id: null, conversation_id: { $in: scope.conversations } }] };
}

/** Rows strictly after the cursor in (field, idField) order, ascending (1) or descending (-1). */
export function keysetAfter(field: string, idField: string, cursor: Cursor | null, direction: 1 | -1): Document {
  if (!cursor) return {};
  const op = direction === 1 ? '$gt' : '$lt';
  const t = new Date(cursor.t);
  return { $or: [{ [field]: { [op]: t } }, { [field]: t, [idField]: { [op]: toObjectId(cursor.id) } }] };
}

/** A stored date (BSON date, ISO string or ms) as a BSON date; null when missing or unreadable. */
export function dateExpression(value: unknown): Document {
  return { $convert: { input: value, to: 'date', onError: null, onNull: null } };
}

/** A message's created_at as documents.ts reads it: converted, else the ObjectId's timestamp. */
export const MESSAGE_AT: Document = { $ifNull: [dateExpression('$created_at'), dateExpression('$_id')] };

/**
 * Messages of these conversations after the cursor, first + 1 of each (the extra one tells
 * hasNextPage), oldest first. The window runs over keys only, so its sort holds a few bytes per
 * message, and full documents are fetched by `_id` for the rows kept. The window sorts in memory
 * anyway, so dates are compared after conversion and legacy string dates page correctly here.
 * Conversation ids are partitioned as strings so one conversation stays one partition when
 * legacy messages hold its id as a string and ours as an ObjectId. Needs MongoDB 5.0.
 */
export function messagesPagePipeline(
  collection: string,
  conversationIds: readonly string[],
  page: PageRequest,
): Document[] {
  return [
    { $match: { conversation_id: idMatch(conversationIds) } },
    {
      $project: {
        conversation: { $toString: '$conversation_id' },
        at: MESSAGE_AT,
      },
    },
    { $match: keysetAfter('at', '_id', page.after, 1) },
    {
      $setWindowFields: {
        partitionBy: '$conversation',
        sortBy: { at: 1, _id: 1 },
        output: { rn: { $documentNumber: {} } },
      },
    },
    { $match: { rn: { $lte: page.first + 1 } } },
    { $lookup: { from: collection, localField: '_id', foreignField: '_id', as: 'doc' } },
    // A message deleted since the window ran has no doc and is dropped here.
    { $unwind: '$doc' },
    { $replaceWith: { $mergeObjects: ['$doc', { sort_at: '$at' }] } },
    { $sort: { sort_at: 1, _id: 1 } },
  ];
}

/** Messages per conversation, `_id` being the conversation id as a string. */
export function messageCountsPipeline(conversationIds: readonly string[]): Document[] {
  return [
    { $match: { conversation_id: idMatch(conversationIds) } },
    { $group: { _id: { $toString: '$conversation_id' }, n: { $sum: 1 } } },
  ];
}

/**
 * Images per conversation, as two pipelines whose rows (`_id` the stored conversation id, in
 * either form) add up: messages that carry `image_count` are summed from the (conversation_id,
 * image_count) index without reading a document; the others (the seed's, and this server's
 * before it kept the count) are read and their `images` measured.
 */
export function imageCountsPipelines(conversationIds: readonly string[]): {
  counted: Document[];
  measured: Document[];
} {
  const conversation = { conversation_id: idMatch(conversationIds) };
  return {
    counted: [
      { $match: { ...conversation, image_count: { $type: 'number' } } },
      { $group: { _id: '$conversation_id', n: { $sum: '$image_count' } } },
    ],
    measured: [
      { $match: { ...conversation, image_count: { $not: { $type: 'number' } } } },
      {
        $group: { _id: '$conversation_id', n: { $sum: { $cond: [{ $isArray: '$images' }, { $size: '$images' }, 0] } } },
      },
    ],
  };
}

/**
 * Appends an image and sets `image_count` to the new length, in one atomic update (a pipeline,
 * MongoDB 4.2+). `images` missing or null, as the older app writes for a message without
 * images, becomes `[doc]`. The element is a `$literal`, so a caption such as "$5" stays text.
 */
export function pushImageUpdate(doc: Document): Document[] {
  return [
    { $set: { images: { $concatArrays: [{ $cond: [{ $isArray: '$images' }, '$images', []] }, [{ $literal: doc }]] } } },
    { $set: { image_count: { $size: '$images' } } },
  ];
}

/** Removes the image with one of these stored ids and sets `image_count` to the new length, atomically. */
export function pullImageUpdate(ids: readonly unknown[]): Document[] {
  return [
    {
      $set: {
        images: {
          $filter: { input: '$images', as: 'i', cond: { $not: [{ $in: [{ $ifNull: ['$$i._id', null] }, ids] }] } },
        },
      },
    },
    { $set: { image_count: { $size: '$images' } } },
  ];
}

/**
 * The service an unwound image counts under, as documents spell it: its `service` when known,
 * else guessed from its cloud URL exactly as documents.ts guesses it, else `local`.
 */
export function serviceExpression(): Document {
  return {
    $let: {
      vars: { s: { $toLower: { $ifNull: ['$images.service', ''] } }, c: { $ifNull: ['$images.cloud_url', ''] } },
      in: {
        $switch: {
          branches: [
            { case: { $in: ['$$s', Object.values(SERVICE_TO_DOC)] }, then: '$$s' },
            { case: { $regexMatch: { input: '$$c', regex: POSTIMAGES_URL } }, then: SERVICE_TO_DOC.POSTIMAGES },
            { case: { $regexMatch: { input: '$$c', regex: IMGBB_URL } }, then: SERVICE_TO_DOC.IMGBB },
          ],
          default: SERVICE_TO_DOC.LOCAL,
        },
      },
    },
  };
}

/** The replication statuses of an image waiting for its cloud copy (the replication queue). */
const QUEUED = ['PENDING', 'RETRYING'];

/**
 * The fields of an unwound image as the domain reads them (defaults of legacy images applied),
 * so filters, sorting and statistics agree with the records returned.
 */
export function imageView(): Document {
  return {
    at: { $ifNull: [dateExpression('$images.uploaded_at'), MESSAGE_AT] },
    service: serviceExpression(),
    size: { $ifNull: ['$images.size', 0] },
    generated: { $ifNull: ['$images.generated', false] },
    local: { $not: [{ $in: [{ $ifNull: ['$images.url', null] }, [null, '']] }] },
    pending: { $in: [{ $toUpper: { $ifNull: ['$images.replication.status', ''] } }, QUEUED] },
  };
}

/** The ImageFilter on the fields of imageView(), stored under `v`. Sizes inclusive, after inclusive, before exclusive. */
export function imageViewMatch(filter: ImageFilter): Document {
  const m: Document = {};
  if (filter.generated != null) m['v.generated'] = filter.generated;
  if (filter.service != null) m['v.service'] = SERVICE_TO_DOC[filter.service];
  const size: Document = {};
  if (filter.minSize != null) size.$gte = filter.minSize;
  if (filter.maxSize != null) size.$lte = filter.maxSize;
  if (Object.keys(size).length > 0) m['v.size'] = size;
  const at: Document = {};
  if (filter.uploadedAfter != null) at.$gte = filter.uploadedAfter;
  if (filter.uploadedBefore != null) at.$lt = filter.uploadedBefore;
  if (Object.keys(at).length > 0) m['v.at'] = at;
  return m;
}

/** Messages that may hold matching images: the part of the filter an index can serve. */
export function imageMessagesMatch(scope: MessageScope | null, filter: ImageFilter): Document {
  return {
    ...messageOwnerMatch(scope),
    ...(filter.conversationId != null ? { conversation_id: idMatch([filter.conversationId]) } : {}),
    'images.0': { $exists: true },
  };
}

/**
 * Where a scan of messages by `_id` stands. `_id`s are ObjectIds (this server's and pymongo's) or,
 * in some legacy data, strings; a range condition matches one BSON type only, so the scan runs
 * over the strings first (BSON orders them before ObjectIds), then the ObjectIds.
 */
export type ScanCursor = { phase: 'string' | 'objectId'; last: string | null };

export const SCAN_START: ScanCursor = { phase: 'string', last: null };

export function encodeScanCursor(c: ScanCursor): string {
  return JSON.stringify([c.phase === 'string' ? 's' : 'o', c.last]);
}

/** The cursor a scan handed out; anything else (it is opaque, but it crossed a boundary) starts over. */
export function decodeScanCursor(s: string | null): ScanCursor {
  if (s === null) return SCAN_START;
  try {
    const [p, last] = JSON.parse(s) as [unknown, unknown];
    const phase = p === 's' ? 'string' : p === 'o' ? 'objectId' : null;
    if (
      phase &&
      (last === null || typeof last === 'string') &&
      (phase === 'string' || last === null || isValidId(last))
    )
      return { phase, last };
  } catch {
    // fall through
  }
  return SCAN_START;
}

/** The `_id` condition of one scan step: this phase's type, after the cursor. */
export function scanIdMatch(c: ScanCursor): Document {
  if (c.phase === 'string') return { $type: 'string', ...(c.last !== null ? { $gt: c.last } : {}) };
  return { $type: 'objectId', ...(c.last !== null ? { $gt: new ObjectId(c.last) } : {}) };
}

/** One unwound image per row, with its position in `images` and the message's fields. */
export const UNWIND_IMAGES = { $unwind: { path: '$images', includeArrayIndex: 'image_index' } };

/** One row per service (`_id` as documents spell it) with count, bytes, local bytes and pending images. */
export function storageStatsPipeline(scope: MessageScope | null): Document[] {
  return [
    { $match: { ...messageOwnerMatch(scope), 'images.0': { $exists: true } } },
    { $unwind: '$images' },
    { $project: { v: imageView() } },
    {
      $group: {
        _id: '$v.service',
        count: { $sum: 1 },
        bytes: { $sum: '$v.size' },
        localBytes: { $sum: { $cond: ['$v.local', '$v.size', 0] } },
        pending: { $sum: { $cond: ['$v.pending', 1, 0] } },
      },
    },
  ];
}

/** A row of storageStatsPipeline. */
export type StorageStatsRow = { _id: string; count: number; bytes: number; localBytes: number; pending: number };

/** StorageStats from the pipeline's rows, services in the domain's order. */
export function statsFromRows(rows: readonly StorageStatsRow[]): StorageStats {
  const stats: StorageStats = { imageCount: 0, totalBytes: 0, localBytes: 0, byService: [], pendingReplication: 0 };
  for (const service of STORAGE_SERVICES) {
    const row = rows.find((r) => r._id === SERVICE_TO_DOC[service]);
    if (!row) continue;
    stats.byService.push({ service, count: row.count, bytes: row.bytes });
    stats.imageCount += row.count;
    stats.totalBytes += row.bytes;
    stats.localBytes += row.localBytes;
    stats.pendingReplication += row.pending;
  }
  return stats;
}

/** Messages with an image other than those `exceptIds` name that shows `url` as its original's or its thumbnail's cloud copy. */
export function cloudUrlInUseFilter(url: string, exceptIds: readonly unknown[]): Document {
  const others = { _id: { $nin: exceptIds } };
  return {
    $or: [
      { images: { $elemMatch: { cloud_url: url, ...others } } },
      { images: { $elemMatch: { thumbnail_cloud_url: url, ...others } } },
    ],
  };
}

/** The owner's newest REPLICATED image with a cloud copy and these bytes. */
export function replicatedTwinPipeline(userId: string, sha256: string): Document[] {
  const twin = { sha256, 'replication.status': 'REPLICATED', cloud_url: { $nin: [null, ''] } };
  return [
    { $match: { user_id: idMatch([userId]), 'images.sha256': sha256, images: { $elemMatch: twin } } },
    UNWIND_IMAGES,
    { $match: Object.fromEntries(Object.entries(twin).map(([k, v]) => [`images.${k}`, v])) },
    { $sort: { 'images.uploaded_at': -1, 'images._id': -1 } },
    { $limit: 1 },
  ];
}

/**
 * The images PENDING or RETRYING in the whole collection, as `[{ n }]` (none when there are
 * none). The status index narrows the messages to those holding a queued image, so the cost
 * follows the queue, not the collection. Statuses are compared as written, as the worker's
 * claim does (claimCandidatesPipeline): an image the worker would not claim is not counted.
 */
export function pendingReplicationPipeline(): Document[] {
  return [
    { $match: { 'images.replication.status': { $in: QUEUED } } },
    {
      $group: {
        _id: null,
        n: {
          $sum: {
            $size: {
              $filter: {
                input: '$images',
                as: 'i',
                cond: { $in: [{ $ifNull: ['$$i.replication.status', null] }, QUEUED] },
              },
            },
          },
        },
      },
    },
  ];
}

/** An image (fields under `prefix`) that the replication worker may lease at `now`. */
export function dueForReplication(now: Date, prefix = ''): Document {
  return {
    [`${prefix}replication.status`]: { $in: QUEUED },
    $and: [
      {
        $or: [
          { [`${prefix}replication.next_attempt_at`]: null },
          { [`${prefix}replication.next_attempt_at`]: { $lte: now } },
        ],
      },
      {
        $or: [{ [`${prefix}replication.lease_until`]: null }, { [`${prefix}replication.lease_until`]: { $lte: now } }],
      },
    ],
  };
}

/** Due images, oldest due first, as `{ _id: message id, image_id }`; the status index narrows the messages. */
export function claimCandidatesPipeline(now: Date, limit: number): Document[] {
  return [
    { $match: { 'images.replication.status': { $in: QUEUED } } },
    { $unwind: '$images' },
    { $match: { 'images._id': { $ne: null }, ...dueForReplication(now, 'images.') } },
    { $sort: { 'images.replication.next_attempt_at': 1, 'images.uploaded_at': 1, 'images._id': 1 } },
    { $limit: limit },
    { $project: { image_id: '$images._id' } },
  ];
}

/**
 * The filter of one claim. The due condition is repeated inside `$elemMatch`, and a write to
 * one document is atomic, so of two claimers racing for an image only the first matches.
 */
export function claimFilter(messageId: Id, imageId: Id, now: Date): Document {
  return { _id: messageId, images: { $elemMatch: { _id: imageId, ...dueForReplication(now) } } };
}

export function leaseUpdate(leaseOwner: string, leaseUntil: Date): Document {
  return { $set: { 'images.$.replication.lease_owner': leaseOwner, 'images.$.replication.lease_until': leaseUntil } };
}

const PATCH_FIELDS = {
  localKey: 'url',
  evictedKey: 'evicted_url',
  thumbnailKey: 'thumbnail_url',
  cloudUrl: 'cloud_url',
  thumbnailCloudUrl: 'thumbnail_cloud_url',
  deleteUrl: 'delete_url',
  caption: 'caption',
  placeholder: 'placeholder',
  sha256: 'sha256',
  cloudVerifiedAt: 'cloud_verified_at',
  cloudAlteredAt: 'cloud_altered_at',
} as const;
const REPLICATION_FIELDS = {
  status: 'status',
  attempts: 'attempts',
  nextAttemptAt: 'next_attempt_at',
  lastError: 'last_error',
  leaseOwner: 'lease_owner',
  leaseUntil: 'lease_until',
} as const;

/**
 * The `$set` of a patch on the image at `path`. Replication fields are set one by one, so the
 * others keep their values. A key whose value is undefined counts as absent (as in the SQLite
 * adapter), so patches built by spreading optional fields never null a field by accident.
 */
export function patchSet(patch: ImagePatch, path: string): Document {
  const set: Document = {};
  for (const [key, field] of Object.entries(PATCH_FIELDS)) {
    const value = patch[key as keyof typeof PATCH_FIELDS];
    if (value !== undefined) set[`${path}.${field}`] = value;
  }
  if (patch.service !== undefined) set[`${path}.service`] = SERVICE_TO_DOC[patch.service];
  for (const [key, field] of Object.entries(REPLICATION_FIELDS)) {
    const value = patch.replication?.[key as keyof typeof REPLICATION_FIELDS];
    if (value !== undefined) set[`${path}.replication.${field}`] = value;
  }
  return set;
}

const LEGACY_PREFIX = '/static/Storage/';

/**
 * The ways a file key can be stored: the older app stored `/static/Storage/<folder>/<name>` where
 * this server stores `<folder>/<name>`. Both name the same file, and a lookup that missed the
 * legacy form would let the orphan sweep delete a legacy image's file.
 */
export function fileKeyForms(key: string): string[] {
  return key.startsWith(LEGACY_PREFIX) ? [key, key.slice(LEGACY_PREFIX.length)] : [key, `${LEGACY_PREFIX}${key}`];
}

export function fileKeyMatch(key: string): Document {
  const forms = fileKeyForms(key);
  return {
    $or: [
      { 'images.url': { $in: forms } },
      { 'images.thumbnail_url': { $in: forms } },
      { 'images.evicted_url': { $in: forms } },
    ],
  };
}
