import { ObjectId } from 'mongodb';
import { isValidId, legacyImageId } from '../../domain/ids.js';
import { NO_OWNER } from '../../domain/viewer.js';
import {
  MESSAGE_ROLES,
  REPLICATION_STATUSES,
  type Conversation,
  type ImageRecord,
  type Message,
  type MessageRole,
  type ReplicationStatus,
  type StorageService,
} from '../../domain/types.js';

/** Storage service names as the MongoDB documents of the existing chatbot spell them. */
export const SERVICE_TO_DOC: Record<StorageService, string> = {
  POSTIMAGES: 'postimages',
  IMGBB: 'imgbb',
  S3: 's3',
  LOCAL: 'local',
};

/**
 * The document shape the existing chatbot writes (snake_case, images embedded in messages) and
 * the pure mapping to and from domain records. Writing always produces the full shape; reading
 * is lenient, because the older app's documents lack `_id`, `sha256` and `replication` inside
 * images, may lack most other image fields, and may hold string ids and string dates.
 */

export type Id = ObjectId | string;
export type DateLike = Date | string | number;

export type ConversationDoc = {
  _id: Id;
  /** Missing in no data this server writes; read as LEGACY_DEFAULT_OWNER, else NO_OWNER. */
  user_id?: Id | null;
  title?: string | null;
  created_at?: DateLike | null;
  updated_at?: DateLike | null;
};

export type ReplicationDoc = {
  status?: string | null;
  attempts?: number | null;
  next_attempt_at?: DateLike | null;
  last_error?: string | null;
  lease_owner?: string | null;
  lease_until?: DateLike | null;
};

export type ImageDoc = {
  _id?: Id | null;
  url?: string | null;
  cloud_url?: string | null;
  /** This server's own field: when a check found the cloud copy changed at its host. */
  cloud_altered_at?: Date | string | null;
  /** This server's own field: the thumbnail's cloud copy (providers that keep thumbnails, s3). */
  thumbnail_cloud_url?: string | null;
  /**
   * Added by this server: when the cloud copy was last known to hold the bytes. Absent (not
   * null) in documents an earlier version of this server wrote, where a stored REPLICATED
   * status means it uploaded the copy itself.
   */
  cloud_verified_at?: DateLike | null;
  delete_url?: string | null;
  thumbnail_url?: string | null;
  /** Added by this server: the key of a local original removed by cleanup. */
  evicted_url?: string | null;
  caption?: string | null;
  size?: number | null;
  mime_type?: string | null;
  width?: number | null;
  height?: number | null;
  generated?: boolean | null;
  service?: string | null;
  uploaded_at?: DateLike | null;
  sha256?: string | null;
  placeholder?: string | null;
  replication?: ReplicationDoc | null;
};

export type MessageDoc = {
  _id: Id;
  conversation_id: Id;
  /** The seed chatbot writes none: the message is its conversation's owner's (see parentOf). */
  user_id?: Id | null;
  role?: string | null;
  content?: unknown;
  created_at?: DateLike | null;
  images?: (ImageDoc | null)[] | null;
  /**
   * This server's own field: the length of `images`, kept by every write of this server in the
   * same atomic update, so a conversation's images are counted from an index without reading
   * its messages. Messages the seed chatbot (or an older version) wrote have none.
   */
  image_count?: number | null;
};

/** The message fields an image record inherits. */
export type ImageParent = Pick<Message, 'id' | 'conversationId' | 'userId' | 'createdAt'>;

/** Ids as the domain spells them; anything other than an ObjectId or a string (say a number) is stringified. */
export function idString(id: Id): string {
  return id instanceof ObjectId ? id.toHexString() : String(id);
}

/** Our ids are written as ObjectIds; a string that is not id-shaped can only be matched as itself. */
export function toObjectId(id: string): Id {
  return isValidId(id) ? new ObjectId(id) : id;
}

/**
 * Every stored form of these ids, for an `$in`: legacy data may hold an id as a string where
 * this server writes an ObjectId, and the two never compare equal in a query.
 */
export function anyIdForm(ids: readonly string[]): Id[] {
  return [...new Set(ids)].flatMap((id) => (isValidId(id) ? [new ObjectId(id), id] : [id]));
}

/** The condition matching an id field against these ids in either stored form. */
export function idMatch(ids: readonly string[]): { $in: Id[] } {
  return { $in: anyIdForm(ids) };
}

/** An ISO date and time without a zone, as Python's `datetime.utcnow().isoformat()` writes it. */
const NAIVE_ISO = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$/;

/**
 * A stored date as a Date. Strings without a zone are read as UTC (what the older app meant by
 * them) rather than in this server's local zone; anything unreadable gives `fallback`.
 */
export function toDate(value: DateLike | null | undefined, fallback: Date): Date {
  if (value instanceof Date) return value;
  if (value === null || value === undefined) return fallback;
  const naive = typeof value === 'string' ? NAIVE_ISO.exec(value.trim()) : null;
  const d = new Date(naive ? `${naive[1]}T${naive[2]}Z` : value);
  return Number.isNaN(d.getTime()) ? fallback : d;
}

function toDateOrNull(value: DateLike | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  const d = toDate(value, new Date(Number.NaN));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A missing creation date falls back to the ObjectId's own timestamp, the best record left. */
function createdAtOf(d: { _id: Id; created_at?: DateLike | null }): Date {
  return toDate(d.created_at, d._id instanceof ObjectId ? d._id.getTimestamp() : new Date(0));
}

/** The older app sometimes stored '' where it had no URL; the domain says null. */
function nonEmpty(s: string | null | undefined): string | null {
  return typeof s === 'string' && s !== '' ? s : null;
}

export function conversationToDoc(c: Conversation): ConversationDoc {
  return { _id: toObjectId(c.id), user_id: c.userId, title: c.title, created_at: c.createdAt, updated_at: c.updatedAt };
}

/** `defaultOwner`: LEGACY_DEFAULT_OWNER, the owner of a conversation that names none. */
export function docToConversation(d: ConversationDoc, defaultOwner: string | null = null): Conversation {
  const createdAt = createdAtOf(d);
  return {
    id: idString(d._id),
    userId: d.user_id != null ? idString(d.user_id) : (defaultOwner ?? NO_OWNER),
    title: d.title ?? null,
    createdAt,
    updatedAt: toDate(d.updated_at, createdAt),
  };
}

export function imageToDoc(i: ImageRecord): ImageDoc & { _id: Id; replication: ReplicationDoc } {
  return {
    _id: toObjectId(i.id),
    url: i.localKey,
    cloud_url: i.cloudUrl,
    cloud_verified_at: i.cloudVerifiedAt,
    delete_url: i.deleteUrl,
    thumbnail_url: i.thumbnailKey,
    ...(i.thumbnailCloudUrl ? { thumbnail_cloud_url: i.thumbnailCloudUrl } : {}),
    ...(i.cloudAlteredAt ? { cloud_altered_at: i.cloudAlteredAt } : {}),
    ...(i.evictedKey ? { evicted_url: i.evictedKey } : {}),
    caption: i.caption,
    size: i.size,
    mime_type: i.mimeType,
    width: i.width,
    height: i.height,
    generated: i.generated,
    service: SERVICE_TO_DOC[i.service],
    uploaded_at: i.uploadedAt,
    sha256: i.sha256,
    placeholder: i.placeholder,
    replication: {
      status: i.replication.status,
      attempts: i.replication.attempts,
      next_attempt_at: i.replication.nextAttemptAt,
      last_error: i.replication.lastError,
      lease_owner: i.replication.leaseOwner,
      lease_until: i.replication.leaseUntil,
    },
  };
}

/** `conversationForm`: the conversation id as already stored for it (an ObjectId, or a string in legacy data). */
export function messageToDoc(m: Message, conversationForm?: Id): MessageDoc {
  return {
    _id: toObjectId(m.id),
    conversation_id: conversationForm ?? toObjectId(m.conversationId),
    user_id: m.userId,
    role: m.role.toLowerCase(),
    content: m.content,
    created_at: m.createdAt,
    images: m.images.map(imageToDoc),
    image_count: m.images.length,
  };
}

/** `owner`: who owns the message when it names no `user_id` (its conversation's owner, resolved by the store). */
export function docToMessage(d: MessageDoc, owner?: string): Message {
  const role = String(d.role ?? '').toUpperCase();
  const parent = parentOf(d, owner);
  return {
    ...parent,
    // Roles outside the three known ones come from the model side of older chat formats.
    role: (MESSAGE_ROLES as readonly string[]).includes(role) ? (role as MessageRole) : 'ASSISTANT',
    content: typeof d.content === 'string' ? d.content : d.content == null ? '' : JSON.stringify(d.content),
    images: imagesOf(d).map((img, index) => docToImage(img, parent, index)),
  };
}

/** A message without images may have `images` missing or null in the older app's documents. */
export function imagesOf(d: Pick<MessageDoc, 'images'>): ImageDoc[] {
  return Array.isArray(d.images) ? d.images.map((img) => img ?? {}) : [];
}

/** Storage service names as stored, back to ours (the inverse of SERVICE_TO_DOC). */
export const DOC_TO_SERVICE: Record<string, StorageService> = {
  postimages: 'POSTIMAGES',
  imgbb: 'IMGBB',
  s3: 'S3',
  local: 'LOCAL',
};
const MIME_BY_EXT: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  bmp: 'image/bmp',
  svg: 'image/svg+xml',
};

/** Hosts of the providers' CDN URLs; shared with the aggregation that guesses a missing service. */
export const POSTIMAGES_URL = /^https?:\/\/(?:[^/?#@]*\.)?(?:postimg\.cc|postimages\.org)(?::\d+)?(?:[/?#]|$)/i;
export const IMGBB_URL = /^https?:\/\/(?:[^/?#@]*\.)?(?:ibb\.co|imgbb\.com)(?::\d+)?(?:[/?#]|$)/i;

/** The file name of a stored key or URL, from which legacy image ids are derived. */
export function fileNameOf(urlOrKey: string): string {
  return urlOrKey.split(/[?#]/)[0]!.split('/').filter(Boolean).at(-1) ?? urlOrKey;
}

/**
 * An image's id: its `_id`, or for the older app's images (which have none) one derived from the
 * message id and the file name, the same on every read. The position is only a last resort for
 * an element with no URL at all.
 */
export function imageIdOf(d: ImageDoc, messageId: string, index: number): string {
  if (d._id != null) return idString(d._id);
  return legacyImageId(messageId, fileNameOf(nonEmpty(d.url) ?? nonEmpty(d.cloud_url) ?? `#${index}`));
}

/** The service a legacy image without `service` used, guessed from its cloud URL's host. */
export function guessService(cloudUrl: string | null): StorageService {
  if (cloudUrl && POSTIMAGES_URL.test(cloudUrl)) return 'POSTIMAGES';
  if (cloudUrl && IMGBB_URL.test(cloudUrl)) return 'IMGBB';
  return 'LOCAL';
}

/**
 * The cloud URL a document's `cloud_url` stands for, or null when it is no cloud copy. When
 * every cloud failed, the seed chatbot wrote `cloud_url = url` (its relative `/static/Storage/…`
 * path) and `service: 'local'`: reading that as a cloud copy would make a local-only image look
 * replicated, and cleanup would then delete its only copy. So a `local` service, a value equal
 * to `url`, or anything but an absolute http(s) URL is no cloud copy.
 */
export function cloudUrlOf(d: Pick<ImageDoc, 'cloud_url' | 'url' | 'service'>): string | null {
  const value = nonEmpty(d.cloud_url);
  if (value === null) return null;
  if (String(d.service ?? '').toLowerCase() === SERVICE_TO_DOC.LOCAL) return null;
  if (value === nonEmpty(d.url) || !/^https?:\/\/[^/?#]/i.test(value)) return null;
  return value;
}

/**
 * When the cloud copy was last known good: the stored date; for a document of an earlier version
 * of this server (no field, a stored REPLICATED status and a digest) its upload; never for the
 * seed's own images (no stored status, or one completed without a digest), whose copy cleanup
 * has to check first.
 */
function cloudVerifiedAtOf(d: ImageDoc, cloudUrl: string | null, storedStatus: string | null): Date | null {
  if (cloudUrl === null) return null;
  if (d.cloud_verified_at !== undefined) return toDateOrNull(d.cloud_verified_at);
  // An earlier version also wrote REPLICATED when it completed a seed element on its first update,
  // with the sha256 it did not know ('') : only its own uploads carry a digest.
  return storedStatus === 'REPLICATED' && nonEmpty(d.sha256) !== null ? toDateOrNull(d.uploaded_at) : null;
}

export function docToImage(d: ImageDoc, parent: ImageParent, index: number): ImageRecord {
  const localKey = nonEmpty(d.url);
  const cloudUrl = cloudUrlOf(d);
  const r = d.replication ?? {};
  const storedStatus = String(r.status ?? '').toUpperCase();
  const known = (REPLICATION_STATUSES as readonly string[]).includes(storedStatus);
  const ext =
    fileNameOf(localKey ?? cloudUrl ?? '')
      .split('.')
      .at(-1)
      ?.toLowerCase() ?? '';
  return {
    id: imageIdOf(d, parent.id, index),
    messageId: parent.id,
    conversationId: parent.conversationId,
    userId: parent.userId,
    localKey,
    evictedKey: nonEmpty(d.evicted_url),
    thumbnailKey: nonEmpty(d.thumbnail_url),
    cloudUrl,
    thumbnailCloudUrl: nonEmpty(d.thumbnail_cloud_url),
    cloudAlteredAt: toDateOrNull(d.cloud_altered_at),
    cloudVerifiedAt: cloudVerifiedAtOf(d, cloudUrl, known ? storedStatus : null),
    deleteUrl: nonEmpty(d.delete_url),
    caption: d.caption ?? null,
    size: d.size ?? 0,
    mimeType: d.mime_type || (MIME_BY_EXT[ext] ?? 'application/octet-stream'),
    width: d.width ?? 0,
    height: d.height ?? 0,
    generated: d.generated ?? false,
    service: DOC_TO_SERVICE[String(d.service ?? '').toLowerCase()] ?? guessService(cloudUrl),
    // The older app kept no digest. '' never matches a real one, so no cloud copy is reused by mistake.
    sha256: d.sha256 ?? '',
    placeholder: d.placeholder ?? null,
    uploadedAt: toDate(d.uploaded_at, parent.createdAt),
    replication: {
      // The older app tried the providers once: a cloud URL means it succeeded, none that it gave up.
      status: known ? (storedStatus as ReplicationStatus) : cloudUrl ? 'REPLICATED' : 'LOCAL_ONLY',
      attempts: r.attempts ?? 0,
      nextAttemptAt: toDateOrNull(r.next_attempt_at),
      lastError: r.last_error ?? null,
      leaseOwner: r.lease_owner ?? null,
      leaseUntil: toDateOrNull(r.lease_until),
    },
  };
}

/**
 * Who owns each message that names no `user_id`, given the documents of their conversations:
 * the conversation's owner, else LEGACY_DEFAULT_OWNER, else NO_OWNER (also for a message whose
 * conversation is missing). Undefined for a message with its own `user_id` (parentOf reads it).
 */
export function messageOwners(
  conversations: readonly Pick<ConversationDoc, '_id' | 'user_id'>[],
  defaultOwner: string | null,
): (d: Pick<MessageDoc, 'user_id' | 'conversation_id'>) => string | undefined {
  const owners = new Map(
    conversations.map((c) => [idString(c._id), c.user_id != null ? idString(c.user_id) : (defaultOwner ?? NO_OWNER)]),
  );
  return (d) => (d.user_id != null ? undefined : (owners.get(idString(d.conversation_id)) ?? defaultOwner ?? NO_OWNER));
}

/**
 * Parent fields of a message document, for mapping one of its images on its own. The seed
 * chatbot puts no `user_id` on messages (ownership lives on the conversation): then `owner`, the
 * conversation's owner as the store resolved it, is the message's; without one, NO_OWNER.
 */
export function parentOf(
  d: Pick<MessageDoc, '_id' | 'conversation_id' | 'user_id' | 'created_at'>,
  owner?: string,
): ImageParent {
  const userId = d.user_id != null ? idString(d.user_id) : (owner ?? NO_OWNER);
  return { id: idString(d._id), conversationId: idString(d.conversation_id), userId, createdAt: createdAtOf(d) };
}
