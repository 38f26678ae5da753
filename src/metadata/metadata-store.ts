import type { Page, PageRequest } from '../domain/cursor.js';
import type { ChangeLog } from './change-log.js';
import type { BudgetCounter } from '../cloud/budget.js';
import type {
  Conversation,
  DeletionJob,
  ImageFilter,
  ImageRecord,
  Message,
  OwnerScope,
  Replication,
  StorageStats,
} from '../domain/types.js';

/** Fields of an image record that may change after it is written. */
export type ImagePatch = Partial<
  Pick<
    ImageRecord,
    | 'localKey'
    | 'evictedKey'
    | 'thumbnailKey'
    | 'cloudUrl'
    | 'thumbnailCloudUrl'
    | 'cloudVerifiedAt'
    | 'cloudAlteredAt'
    | 'deleteUrl'
    | 'service'
    | 'caption'
    | 'placeholder'
    | 'sha256'
  >
> & { replication?: Partial<Replication> };

/** One slice of scanImages. */
export interface ImageSlice {
  items: ImageRecord[];
  /** Opaque: where the next slice starts; null when the scan is done. */
  next: string | null;
}

export interface ClaimArgs {
  now: Date;
  /** Identifies the claiming worker (instance id + random). */
  leaseOwner: string;
  leaseMs: number;
  limit: number;
}

/**
 * The metadata port, split by concern: each service is handed the slices it uses (ReplicationService
 * an ImageStore and the ReplicationQueue, ChatService the conversation, message and image reads),
 * and MetadataStore, every slice together, is what the two adapters implement
 * (src/metadata/sqlite, src/metadata/mongo) and what one contract suite (test/contract) runs
 * against, one file per slice. Every method is one round trip as far as callers are concerned:
 * batch methods take many ids so DataLoaders can avoid N+1.
 *
 * Ordering rules, identical in both adapters:
 * - conversations: newest first by (updatedAt desc, id desc);
 * - messages: oldest first by (createdAt asc, id asc);
 * - images: newest first by (uploadedAt desc, id desc).
 * Cursors carry the sort timestamp and id of the last row, so pages are stable when
 * timestamps are equal.
 */
export interface MetadataStore
  extends
    StoreLifecycle,
    ConversationStore,
    MessageStore,
    ImageStore,
    ImageQueries,
    ReplicationQueue,
    DeletionQueue,
    BudgetCounter,
    ChangeLog {}

/** Opening, health and closing of the store itself. */
export interface StoreLifecycle {
  readonly kind: 'sqlite' | 'mongo';
  /** Apply migrations (SQLite) or create indexes (MongoDB). Idempotent. */
  init(): Promise<void>;
  /** Throws when the store cannot be reached; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ConversationStore {
  createConversation(conversation: Conversation): Promise<void>;
  /** Unknown ids are absent from the result; order is unspecified. No owner filter. */
  getConversationsByIds(ids: readonly string[]): Promise<Conversation[]>;
  listConversations(owner: OwnerScope, page: PageRequest): Promise<Page<Conversation>>;
}

export interface MessageStore {
  /**
   * Insert a message with the images it carries (possibly none) and raise its conversation's
   * updatedAt to the message's createdAt (never lower it: of two concurrent posts, the later
   * one's time wins whichever is written last; on MongoDB `$max`, which also replaces a
   * legacy string date, as BSON orders dates after strings).
   */
  addMessage(message: Message): Promise<void>;
  /** Unknown ids are absent from the result; order is unspecified. Images are included. */
  getMessagesByIds(ids: readonly string[]): Promise<Message[]>;
  /**
   * One page of messages for each conversation in one round trip. The same `page` applies to
   * every conversation. Every requested id has an entry (an empty page when it has no messages).
   */
  listMessagesOfConversations(
    conversationIds: readonly string[],
    page: PageRequest,
  ): Promise<Map<string, Page<Message>>>;
}

/** Image records one at a time: written, read by id or by what they point at, changed, removed. */
export interface ImageStore {
  /** Append an image to an existing message. Throws when the message does not exist. */
  addImage(messageId: string, image: ImageRecord): Promise<void>;
  getImagesByIds(ids: readonly string[]): Promise<ImageRecord[]>;
  /**
   * Apply `patch` (replication fields are merged one by one). With `guard`, the update applies
   * only while `guard.leaseOwner` still holds the lease. Returns whether a record was changed.
   */
  updateImage(id: string, patch: ImagePatch, guard?: { leaseOwner: string }): Promise<boolean>;
  /** Returns whether a record was removed. */
  removeImage(id: string): Promise<boolean>;
  /**
   * The image whose original (`localKey`), thumbnail (`thumbnailKey`) or evicted original
   * (`evictedKey`) is stored under `key`; null when none.
   */
  findImageByFileKey(key: string): Promise<ImageRecord | null>;
  /** Whether an image other than `exceptImageId` shows this cloud URL, as its original's or its thumbnail's copy (a shared copy must not be deleted). */
  cloudUrlInUse(cloudUrl: string, exceptImageId: string): Promise<boolean>;
  /** A REPLICATED image of `userId` with these bytes, to reuse its cloud copy; null when none. */
  findReplicatedBySha256(userId: string, sha256: string): Promise<ImageRecord | null>;
}

/** Reads over many images: pages, walks, counts. */
export interface ImageQueries {
  listImages(owner: OwnerScope, filter: ImageFilter, page: PageRequest): Promise<Page<ImageRecord>>;
  /**
   * Every image matching `filter`, a slice at a time in storage order (not by time), for the
   * maintenance walks (restore, cleanup, reconcile, requeue): each slice is one index range
   * read wherever the walk is, where each listImages page sorts and counts all matching images.
   * `after` is the previous slice's `next` (null to start); `next` is null at the end. A slice
   * may hold fewer than `limit` images (even none) before the end; records changed during the
   * walk are neither skipped nor repeated, as the order never depends on a field that changes.
   */
  scanImages(owner: OwnerScope, filter: ImageFilter, after: string | null, limit: number): Promise<ImageSlice>;
  /** Every requested id has an entry (0 when it has no images). */
  countImagesByConversation(conversationIds: readonly string[]): Promise<Map<string, number>>;
  storageStats(owner: OwnerScope): Promise<StorageStats>;
  /**
   * Images of legacy messages that name no owner anywhere (no `user_id`, nor on their
   * conversation) and that LEGACY_DEFAULT_OWNER does not claim: only admins see them. Always 0
   * on SQLite, which stores no such records (import-seed refuses them).
   */
  countOwnerlessImages(): Promise<number>;
}

/** The images waiting for a cloud copy, as a queue with leases. */
export interface ReplicationQueue {
  /**
   * Atomically lease up to `limit` images that are PENDING or RETRYING, whose nextAttemptAt
   * is null or <= now, and whose lease is free or expired (leaseUntil <= now). Sets
   * leaseOwner and leaseUntil = now + leaseMs on each and returns them as updated. Two
   * concurrent claimers never receive the same image.
   */
  claimDueImages(args: ClaimArgs): Promise<ImageRecord[]>;
  /**
   * Images waiting for a cloud copy (PENDING or RETRYING) in the whole store: the replication
   * queue's depth for `/metrics`. One index range on either store, where storageStats reads
   * every image.
   */
  countPendingReplication(): Promise<number>;
}

/** Deletion jobs: what is left to remove of deleted images, as a queue with leases. */
export interface DeletionQueue {
  /**
   * Starts a deletion: stores `job` and removes the image record, atomically where the backend
   * allows (SQLite); on MongoDB the job is written first, so a crash in between leaves a job the
   * worker completes, never a record without its files. Returns false, storing nothing, when
   * the image record was already gone (deleted before, or by a concurrent call).
   */
  beginDeletion(job: DeletionJob): Promise<boolean>;
  /** Stores a job for something no record owns any more (a cloud copy made for a deleted image). */
  enqueueDeletion(job: DeletionJob): Promise<void>;
  /** Leases due deletion jobs (nextAttemptAt null or <= now, lease free or expired), as claimDueImages. */
  claimDueDeletions(args: ClaimArgs): Promise<DeletionJob[]>;
  /** Updates a job; with `guard`, only while `guard.leaseOwner` holds its lease. */
  updateDeletion(job: DeletionJob, guard?: { leaseOwner: string }): Promise<boolean>;
  /** Removes a finished job. */
  finishDeletion(imageId: string): Promise<void>;
  /** Jobs not finished yet (for stats and tests). */
  countPendingDeletions(): Promise<number>;
}
