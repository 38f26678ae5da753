import type { Logger } from 'pino';
import type { DeletionJob, ImageRecord, Message } from '../domain/types.js';
import type { ChangeLog, NewChange, WakeSignal } from '../metadata/change-log.js';
import type { ImagePatch, MetadataStore } from '../metadata/metadata-store.js';

/**
 * Wraps the metadata store so that every write a live client cares about is also appended to
 * the change log (src/metadata/change-log.ts), whoever makes it: an upload, the replication worker
 * of any server, a deletion, the CLI. One place, so no write path can forget it.
 *
 * - addMessage: MESSAGE_ADDED, then IMAGE_ADDED for each image it carries;
 * - addImage: IMAGE_ADDED;
 * - updateImage that changed the record, unless it only moved a lease: IMAGE_CHANGED
 *   (replication status, cloud copy, eviction), read back for its conversation;
 * - beginDeletion and removeImage that removed the record: IMAGE_DELETED (read before, as the
 *   record is gone after).
 *
 * The change is appended after the write it reports, and awaited, so it is in the log before
 * the mutation answers. An append that fails is logged and does not fail the write: the data
 * is stored, a live client misses one update and sees it on its next query. A process killed
 * between the two loses the change the same way, never the data.
 */
export function recordingStore(
  inner: MetadataStore,
  o: { changes: ChangeLog; wake: WakeSignal; log: Logger },
): MetadataStore {
  const record = async (changes: NewChange[]) => {
    if (changes.length === 0) return;
    try {
      await o.changes.appendChanges(changes);
      o.wake.wake();
    } catch (err) {
      o.log.warn(
        { err, changes: changes.length },
        'could not append to the change log: live subscribers miss this update',
      );
    }
  };
  const imageAdded = (image: ImageRecord): NewChange => ({
    kind: 'IMAGE_ADDED',
    conversationId: image.conversationId,
    userId: image.userId,
    messageId: image.messageId,
    imageId: image.id,
  });
  const one = async (id: string) => (await inner.getImagesByIds([id]))[0];

  const overrides: Partial<MetadataStore> = {
    async addMessage(message: Message) {
      await inner.addMessage(message);
      await record([
        {
          kind: 'MESSAGE_ADDED',
          conversationId: message.conversationId,
          userId: message.userId,
          messageId: message.id,
          imageId: null,
        },
        ...message.images.map(imageAdded),
      ]);
    },
    async addImage(messageId: string, image: ImageRecord) {
      await inner.addImage(messageId, image);
      await record([imageAdded({ ...image, messageId })]);
    },
    async updateImage(id: string, patch: ImagePatch, guard?: { leaseOwner: string }) {
      const changed = await inner.updateImage(id, patch, guard);
      if (changed && !onlyLease(patch)) {
        const image = await one(id).catch(() => undefined);
        if (image)
          await record([
            {
              kind: 'IMAGE_CHANGED',
              conversationId: image.conversationId,
              userId: image.userId,
              messageId: image.messageId,
              imageId: image.id,
            },
          ]);
      }
      return changed;
    },
    async beginDeletion(job: DeletionJob) {
      const image = await one(job.imageId);
      const begun = await inner.beginDeletion(job);
      if (begun && image) await record([deleted(image)]);
      return begun;
    },
    async removeImage(id: string) {
      const image = await one(id);
      const removed = await inner.removeImage(id);
      if (removed && image) await record([deleted(image)]);
      return removed;
    },
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && prop in overrides) return overrides[prop as keyof MetadataStore];
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function deleted(image: ImageRecord): NewChange {
  return {
    kind: 'IMAGE_DELETED',
    conversationId: image.conversationId,
    userId: image.userId,
    messageId: image.messageId,
    imageId: image.id,
  };
}

/** A patch that only renews or releases a lease: nothing a client shows has changed. */
function onlyLease(patch: ImagePatch): boolean {
  const keys = Object.keys(patch);
  if (keys.length !== 1 || keys[0] !== 'replication' || !patch.replication) return false;
  return Object.keys(patch.replication).every((k) => k === 'leaseOwner' || k === 'leaseUntil');
}
