import { ObjectId } from 'mongodb';
import { isValidId, legacyImageId } from '../../domain/ids.js';
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
import { SERVICE_TO_DOC } from '../metadata-store.js';

/**
 * The document shape the existing chatbot writes (snake_case, images embedded in messages),
 * and the pure mapping to and from domain records. Reading is lenient, because documents of
 * the older app lack `_id`, `sha256` and `replication` inside images and may hold string ids
 * or string dates; writing always produces the full shape.
 */

type Id = ObjectId | string;
type DateLike = Date | string | number;

export interface ConversationDoc {
  _id: Id;
  user_id: string;
  title?: string | null;
  created_at: DateLike;
  updated_at?: DateLike;
}

export interface ReplicationDoc {
  status?: string;
  attempts?: number;
  next_attempt_at?: Date | null;
  last_error?: string | null;
  lease_owner?: string | null;
  lease_until?: Date | null;
}

export interface ImageDoc {
  _id?: Id;
  url?: string | null;
  cloud_url?: string | null;
  delete_url?: string | null;
  thumbnail_url?: string | null;
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
  replication?: ReplicationDoc;
}

export interface MessageDoc {
  _id: Id;
  conversation_id: Id;
  user_id: string;
  role?: string;
  content?: string | null;
  created_at: DateLike;
  images?: ImageDoc[];
}

export function idString(id: Id): string {
  return typeof id === 'string' ? id : id.toHexString();
}

/** Our ids are written as ObjectIds; any id-shaped string becomes one. */
export function toObjectId(id: string): Id {
  return isValidId(id) ? new ObjectId(id) : id;
}

/** Matches an id stored as an ObjectId or, in legacy data, as a string. */
export function anyIdForm(ids: readonly string[]): Id[] {
  return ids.flatMap((id) => (isValidId(id) ? [new ObjectId(id), id] : [id]));
}

export function toDate(value: DateLike | null | undefined, fallback: Date): Date {
  if (value instanceof Date) return value;
  if (value === null || value === undefined) return fallback;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? fallback : d;
}

export function conversationToDoc(c: Conversation): ConversationDoc {
  return { _id: toObjectId(c.id), user_id: c.userId, title: c.title, created_at: c.createdAt, updated_at: c.updatedAt };
}

export function docToConversation(d: ConversationDoc): Conversation {
  const createdAt = toDate(d.created_at, new Date(0));
  return { id: idString(d._id), userId: String(d.user_id), title: d.title ?? null, createdAt, updatedAt: toDate(d.updated_at, createdAt) };
}

export function imageToDoc(i: ImageRecord): ImageDoc {
  return {
    _id: toObjectId(i.id),
    url: i.localKey,
    cloud_url: i.cloudUrl,
    delete_url: i.deleteUrl,
    thumbnail_url: i.thumbnailKey,
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

export function messageToDoc(m: Message): MessageDoc {
  return {
    _id: toObjectId(m.id),
    conversation_id: toObjectId(m.conversationId),
    user_id: m.userId,
    role: m.role.toLowerCase(),
    content: m.content,
    created_at: m.createdAt,
    images: m.images.map(imageToDoc),
  };
}

export function docToMessage(d: MessageDoc): Message {
  const id = idString(d._id);
  const conversationId = idString(d.conversation_id);
  const createdAt = toDate(d.created_at, new Date(0));
  const role = String(d.role ?? '').toUpperCase();
  const message: Message = {
    id,
    conversationId,
    userId: String(d.user_id),
    role: (MESSAGE_ROLES as readonly string[]).includes(role) ? (role as MessageRole) : 'ASSISTANT',
    content: d.content ?? '',
    createdAt,
    images: [],
  };
  message.images = (d.images ?? []).map((img, index) => docToImage(img, message, index));
  return message;
}

const DOC_TO_SERVICE: Record<string, StorageService> = { postimages: 'POSTIMAGES', imgbb: 'IMGBB', local: 'LOCAL' };
const MIME_BY_EXT: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif' };

/** The file name of a stored key or URL, which legacy image ids are derived from. */
export function fileNameOf(urlOrKey: string): string {
  return urlOrKey.split('?')[0]!.split('/').filter(Boolean).at(-1) ?? urlOrKey;
}

/**
 * Id of an image: its `_id`, or for the older app's images (which have none) one derived from
 * the message id and the file name, the same on every read.
 */
export function imageIdOf(d: ImageDoc, messageId: string, index: number): string {
  if (d._id !== undefined) return idString(d._id);
  return legacyImageId(messageId, fileNameOf(d.url ?? d.cloud_url ?? `#${index}`));
}

export function docToImage(d: ImageDoc, message: Pick<Message, 'id' | 'conversationId' | 'userId' | 'createdAt'>, index: number): ImageRecord {
  const cloudUrl = d.cloud_url ?? null;
  const status = (REPLICATION_STATUSES as readonly string[]).includes(d.replication?.status ?? '')
    ? (d.replication!.status as ReplicationStatus)
    : // The older app tried the providers once: a cloud URL means it succeeded, none means it gave up.
      cloudUrl
      ? 'REPLICATED'
      : 'LOCAL_ONLY';
  const ext = fileNameOf(d.url ?? cloudUrl ?? '').split('.').at(-1)?.toLowerCase() ?? '';
  return {
    id: imageIdOf(d, message.id, index),
    messageId: message.id,
    conversationId: message.conversationId,
    userId: message.userId,
    localKey: d.url ?? null,
    thumbnailKey: d.thumbnail_url ?? null,
    cloudUrl,
    deleteUrl: d.delete_url ?? null,
    caption: d.caption ?? null,
    size: d.size ?? 0,
    mimeType: d.mime_type ?? MIME_BY_EXT[ext] ?? 'application/octet-stream',
    width: d.width ?? 0,
    height: d.height ?? 0,
    generated: d.generated ?? false,
    service: DOC_TO_SERVICE[String(d.service ?? '').toLowerCase()] ?? serviceFromUrl(cloudUrl),
    // Unknown for legacy images until the file is read again (restore or reconcile fills it).
    sha256: d.sha256 ?? '',
    placeholder: d.placeholder ?? null,
    uploadedAt: toDate(d.uploaded_at, message.createdAt),
    replication: {
      status,
      attempts: d.replication?.attempts ?? 0,
      nextAttemptAt: d.replication?.next_attempt_at ?? null,
      lastError: d.replication?.last_error ?? null,
      leaseOwner: d.replication?.lease_owner ?? null,
      leaseUntil: d.replication?.lease_until ?? null,
    },
  };
}

function serviceFromUrl(url: string | null): StorageService {
  if (!url) return 'LOCAL';
  const host = (() => {
    try {
      return new URL(url).hostname;
    } catch {
      return '';
    }
  })();
  if (host.endsWith('postimg.cc') || host.endsWith('postimages.org')) return 'POSTIMAGES';
  if (host.endsWith('ibb.co') || host.endsWith('imgbb.com')) return 'IMGBB';
  return 'LOCAL';
}
