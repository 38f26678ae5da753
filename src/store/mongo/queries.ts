import type { Document, Filter } from 'mongodb';
import type { Cursor } from '../../domain/cursor.js';
import type { ImageFilter, OwnerScope } from '../../domain/types.js';
import { SERVICE_TO_DOC } from '../metadata-store.js';
import { anyIdForm, toObjectId, type MessageDoc } from './documents.js';

/**
 * Pure builders of the MongoDB filters, kept apart from the driver calls so their exact shape
 * is unit-tested without a server. Keyset conditions assume dates stored as BSON dates and
 * ids as ObjectIds, which is what this server writes; legacy string dates sort apart.
 */

/** Rows strictly after the cursor in (field, _id) order, ascending or descending. */
export function keysetAfter(field: string, idField: string, cursor: Cursor | null, direction: 1 | -1): Document {
  if (!cursor) return {};
  const op = direction === 1 ? '$gt' : '$lt';
  const t = new Date(cursor.t);
  return { $or: [{ [field]: { [op]: t } }, { [field]: t, [idField]: { [op]: toObjectId(cursor.id) } }] };
}

export function ownerFilter(owner: OwnerScope): Document {
  return owner === null ? {} : { user_id: owner };
}

/** The match on unwound `images` for an ImageFilter (the conversation is matched before unwinding). */
export function imageFieldsMatch(filter: ImageFilter): Document {
  const m: Document = {};
  if (filter.generated != null) m['images.generated'] = filter.generated;
  if (filter.service != null) m['images.service'] = SERVICE_TO_DOC[filter.service];
  if (filter.minSize != null || filter.maxSize != null) {
    m['images.size'] = { ...(filter.minSize != null ? { $gte: filter.minSize } : {}), ...(filter.maxSize != null ? { $lte: filter.maxSize } : {}) };
  }
  if (filter.uploadedAfter != null || filter.uploadedBefore != null) {
    m['images.uploaded_at'] = {
      ...(filter.uploadedAfter != null ? { $gte: filter.uploadedAfter } : {}),
      ...(filter.uploadedBefore != null ? { $lt: filter.uploadedBefore } : {}),
    };
  }
  return m;
}

/** Messages that may hold matching images, before `$unwind`. */
export function messagesWithImagesMatch(owner: OwnerScope, filter: ImageFilter): Filter<MessageDoc> {
  return {
    ...ownerFilter(owner),
    ...(filter.conversationId ? { conversation_id: { $in: anyIdForm([filter.conversationId]) } } : {}),
    'images.0': { $exists: true },
  } as Filter<MessageDoc>;
}

/** An image (fields relative to `prefix`) that the replication worker may claim at `now`. */
export function dueForReplication(now: Date, prefix = ''): Document {
  return {
    [`${prefix}replication.status`]: { $in: ['PENDING', 'RETRYING'] },
    $and: [
      { $or: [{ [`${prefix}replication.next_attempt_at`]: null }, { [`${prefix}replication.next_attempt_at`]: { $lte: now } }] },
      { $or: [{ [`${prefix}replication.lease_until`]: null }, { [`${prefix}replication.lease_until`]: { $lte: now } }] },
    ],
  };
}
