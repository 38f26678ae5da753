import { ObjectId, type AnyBulkWriteOperation, type Document } from 'mongodb';
import type { ImageRecord } from '../../domain/types.js';
import { idString, imageIdOf, imagesOf, imageToDoc, type Id, type ImageDoc, type MessageDoc } from './documents.js';

/**
 * Bringing the older app's image elements up to the full shape, one step at a time, so that a
 * deployment shares its database with the older app without a migration:
 * - on read, an element without `_id` gets its derived id written, so every id this server
 *   hands out can be found again by the `images._id` index (image(id), updates, deletes);
 * - on the first update of such an element, every other missing field gets its default
 *   written before the patch, so the patch never lands in a half-shaped element.
 * Fields the older app wrote are never rewritten, and fields this server does not know are kept.
 */

/** An image element as found in a message document, with its position in `images`. */
export interface ImageElement {
  messageId: Id;
  index: number;
  image: ImageDoc;
}

/** The message's image elements; a null element (nothing to adopt) is left out. */
export function elementsOf(doc: MessageDoc): ImageElement[] {
  return imagesOf(doc).flatMap((image, index) =>
    doc.images?.[index] == null ? [] : [{ messageId: doc._id, index, image }],
  );
}

/**
 * One update per legacy element that has no `_id`, writing the id readers derive for it. The
 * element is picked by what the id derives from (`url`, else `cloud_url`), never by position,
 * so an array changed since it was read is never written at the wrong place; elements alike in
 * both derive the same id and get it together. An element with neither has an id that depends
 * on its position only, and stays unaddressable rather than be pinned by a guess.
 */
export function adoptLegacyOps(elements: readonly ImageElement[]): AnyBulkWriteOperation<MessageDoc>[] {
  const ops = new Map<string, AnyBulkWriteOperation<MessageDoc>>();
  for (const { messageId, index, image } of elements) {
    if (image._id != null || (!image.url && !image.cloud_url)) continue;
    const same = { _id: null, url: image.url ?? null, cloud_url: image.cloud_url ?? null };
    const key = JSON.stringify([idString(messageId), typeof messageId, same.url, same.cloud_url]);
    if (ops.has(key)) continue;
    ops.set(key, {
      updateOne: {
        filter: { _id: messageId, images: { $elemMatch: same } },
        update: { $set: { 'images.$[legacy]._id': new ObjectId(imageIdOf(image, idString(messageId), index)) } },
        arrayFilters: [Object.fromEntries(Object.entries(same).map(([k, v]) => [`legacy.${k}`, v]))],
      },
    });
  }
  return [...ops.values()];
}

/**
 * The `$set` that writes, under `path` (for example `images.$`), every field the stored element
 * lacks, with the value `derived` (the record read from it) holds for that field.
 */
export function missingFieldsSet(stored: ImageDoc, derived: ImageRecord, path: string): Document {
  const full = imageToDoc(derived);
  const set: Document = {};
  for (const [key, value] of Object.entries(full)) {
    if (key !== 'replication' && stored[key as keyof ImageDoc] === undefined) set[`${path}.${key}`] = value;
  }
  if (stored.replication == null) {
    set[`${path}.replication`] = full.replication;
  } else {
    for (const [key, value] of Object.entries(full.replication)) {
      if (stored.replication[key as keyof typeof stored.replication] === undefined)
        set[`${path}.replication.${key}`] = value;
    }
  }
  return set;
}
