/** Plain domain types shared by every layer. No I/O, no framework imports. */

// Each enum is a const object and its union of values: code writes `MessageRole.USER` or
// `'USER'` alike, and the GraphQL layer registers these very objects (src/graphql/types/enums.ts).

export const MessageRole = { USER: 'USER', ASSISTANT: 'ASSISTANT', SYSTEM: 'SYSTEM' } as const;
export type MessageRole = (typeof MessageRole)[keyof typeof MessageRole];
export const MESSAGE_ROLES: readonly MessageRole[] = Object.values(MessageRole);

export const StorageService = { POSTIMAGES: 'POSTIMAGES', IMGBB: 'IMGBB', S3: 'S3', LOCAL: 'LOCAL' } as const;
export type StorageService = (typeof StorageService)[keyof typeof StorageService];
/** In this order: the order of the storage stats. */
export const STORAGE_SERVICES: readonly StorageService[] = Object.values(StorageService);

export const ReplicationStatus = {
  PENDING: 'PENDING',
  REPLICATED: 'REPLICATED',
  RETRYING: 'RETRYING',
  LOCAL_ONLY: 'LOCAL_ONLY',
} as const;
export type ReplicationStatus = (typeof ReplicationStatus)[keyof typeof ReplicationStatus];
export const REPLICATION_STATUSES: readonly ReplicationStatus[] = Object.values(ReplicationStatus);

export interface Conversation {
  id: string;
  /** Owner. Every read and write is filtered by it unless the caller is an admin. */
  userId: string;
  title: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Replication {
  status: ReplicationStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  /** Worker lease: who holds the record and until when. Both null when free. */
  leaseOwner: string | null;
  leaseUntil: Date | null;
}

export interface ImageRecord {
  id: string;
  messageId: string;
  conversationId: string;
  /** Owner, the same as the message's and the conversation's. */
  userId: string;
  /**
   * Key of the local original under STORAGE_DIR (for example `uploads/img_20260101_120000_ab12cd34.jpg`,
   * or a legacy `/static/Storage/...` path). Null once no local copy is kept (after cleanup).
   */
  localKey: string | null;
  /**
   * The key the local original had before cleanup removed it (localKey is then null). /files
   * answers that key with a redirect to the cloud copy, so links handed out earlier keep working.
   */
  evictedKey: string | null;
  thumbnailKey: string | null;
  cloudUrl: string | null;
  /**
   * The thumbnail's cloud copy, made by providers that keep thumbnails too (s3) right after the
   * original's. Once cleanup evicted the original it evicted the thumbnail as well (thumbnailKey
   * then still names the key its /files links use, which redirect here).
   */
  thumbnailCloudUrl: string | null;
  /**
   * When this server last knew the cloud copy holds these bytes: it uploaded them itself (the
   * provider answered with the URL), or cleanup downloaded the copy and its SHA-256 matched the
   * local file. Null for a copy only found recorded (written by the seed chatbot, or imported):
   * cleanup checks such a copy before it lets it be the only one.
   */
  cloudVerifiedAt: Date | null;
  /**
   * When a check (cleanup's, or a restore's download) found the cloud copy holding other bytes
   * than the recorded sha256: a host that re-encodes what it stores (PostImages' terms allow it).
   * Replication then makes a new copy from the local original, on another provider first; null
   * otherwise, and again once a new copy is made.
   */
  cloudAlteredAt: Date | null;
  /** Server-side only: never returned by the API nor logged. */
  deleteUrl: string | null;
  caption: string | null;
  size: number;
  mimeType: string;
  width: number;
  height: number;
  generated: boolean;
  service: StorageService;
  sha256: string;
  placeholder: string | null;
  uploadedAt: Date;
  replication: Replication;
}

/**
 * Whether cleanup evicted the local thumbnail with its original: it does so only where the
 * provider holds a copy of the thumbnail (s3). The thumbnail's links then lead to that copy.
 */
export function thumbnailEvicted(image: Pick<ImageRecord, 'localKey' | 'thumbnailCloudUrl'>): boolean {
  return image.localKey === null && image.thumbnailCloudUrl !== null;
}

export interface Message {
  id: string;
  conversationId: string;
  userId: string;
  role: MessageRole;
  content: string;
  createdAt: Date;
  /** Images embedded in the message, in insertion order. */
  images: ImageRecord[];
}

export interface ImageFilter {
  conversationId?: string | null;
  generated?: boolean | null;
  service?: StorageService | null;
  /** Bytes, inclusive. */
  minSize?: number | null;
  /** Bytes, inclusive. */
  maxSize?: number | null;
  /** Inclusive. */
  uploadedAfter?: Date | null;
  /** Exclusive. */
  uploadedBefore?: Date | null;
}

export interface ServiceStats {
  service: StorageService;
  count: number;
  bytes: number;
}

export interface StorageStats {
  imageCount: number;
  totalBytes: number;
  /** Bytes of the images whose record points at a local copy. */
  localBytes: number;
  byService: ServiceStats[];
  /** Images not yet held by a provider: PENDING or RETRYING. */
  pendingReplication: number;
}

/**
 * A deletion in progress: the image record is already gone (the API no longer shows the image);
 * what is left to remove is listed here until it is done. Stored durably, so a restart or the
 * background worker finishes what a crash or an unreachable provider interrupted.
 */
export interface DeletionJob {
  imageId: string;
  userId: string;
  /** Local files still to remove (original, thumbnail). */
  localKeys: string[];
  /** The cloud copy still to delete; null once deleted or when it cannot be deleted. */
  cloud: { service: StorageService; url: string; deleteUrl: string } | null;
  /** Whether a provider confirmed the cloud copy's deletion. */
  cloudDeleted: boolean;
  requestedAt: Date;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  leaseOwner: string | null;
  leaseUntil: Date | null;
}

/** Who a store read is for: a user id, or `null` for an admin (everything). */
export type OwnerScope = string | null;
