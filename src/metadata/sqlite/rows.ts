import type {
  Conversation,
  ImageRecord,
  Message,
  MessageRole,
  ReplicationStatus,
  StorageService,
} from '../../domain/types.js';
import type { ImagePatch } from '../metadata-store.js';

export interface ConversationRow {
  id: string;
  user_id: string;
  title: string | null;
  created_at: number;
  updated_at: number;
}

export interface MessageRow {
  id: string;
  conversation_id: string;
  user_id: string;
  role: string;
  content: string;
  created_at: number;
}

export interface ImageRow {
  id: string;
  message_id: string;
  conversation_id: string;
  user_id: string;
  position: number;
  local_key: string | null;
  evicted_key: string | null;
  thumbnail_key: string | null;
  cloud_url: string | null;
  thumbnail_cloud_url: string | null;
  cloud_verified_at: number | null;
  cloud_altered_at: number | null;
  delete_url: string | null;
  caption: string | null;
  size: number;
  mime_type: string;
  width: number;
  height: number;
  generated: number;
  service: string;
  sha256: string;
  placeholder: string | null;
  uploaded_at: number;
  repl_status: string;
  repl_attempts: number;
  repl_next_attempt_at: number | null;
  repl_last_error: string | null;
  lease_owner: string | null;
  lease_until: number | null;
}

export const dateOrNull = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
export const msOrNull = (d: Date | null): number | null => (d === null ? null : d.getTime());

export function toConversation(r: ConversationRow): Conversation {
  return {
    id: r.id,
    userId: r.user_id,
    title: r.title,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export function conversationParams(c: Conversation): ConversationRow {
  return {
    id: c.id,
    user_id: c.userId,
    title: c.title,
    created_at: c.createdAt.getTime(),
    updated_at: c.updatedAt.getTime(),
  };
}

export function toMessage(r: MessageRow, images: ImageRecord[]): Message {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    userId: r.user_id,
    // The CHECK constraint on the column guarantees the value is a MessageRole.
    role: r.role as MessageRole,
    content: r.content,
    createdAt: new Date(r.created_at),
    images,
  };
}

export function messageParams(m: Message): MessageRow {
  return {
    id: m.id,
    conversation_id: m.conversationId,
    user_id: m.userId,
    role: m.role,
    content: m.content,
    created_at: m.createdAt.getTime(),
  };
}

export function toImage(r: ImageRow): ImageRecord {
  return {
    id: r.id,
    messageId: r.message_id,
    conversationId: r.conversation_id,
    userId: r.user_id,
    localKey: r.local_key,
    evictedKey: r.evicted_key,
    thumbnailKey: r.thumbnail_key,
    cloudUrl: r.cloud_url,
    thumbnailCloudUrl: r.thumbnail_cloud_url,
    cloudVerifiedAt: dateOrNull(r.cloud_verified_at),
    cloudAlteredAt: dateOrNull(r.cloud_altered_at),
    deleteUrl: r.delete_url,
    caption: r.caption,
    size: r.size,
    mimeType: r.mime_type,
    width: r.width,
    height: r.height,
    generated: r.generated === 1,
    service: r.service as StorageService,
    sha256: r.sha256,
    placeholder: r.placeholder,
    uploadedAt: new Date(r.uploaded_at),
    replication: {
      status: r.repl_status as ReplicationStatus,
      attempts: r.repl_attempts,
      nextAttemptAt: dateOrNull(r.repl_next_attempt_at),
      lastError: r.repl_last_error,
      leaseOwner: r.lease_owner,
      leaseUntil: dateOrNull(r.lease_until),
    },
  };
}

/**
 * Bind parameters of an image insert. Message, conversation and owner are not taken from the
 * record: the insert reads them from the parent message row, as the MongoDB adapter does by
 * embedding the image in its message, so both stores agree when a caller passes stale ones.
 */
export type ImageInsertParams = Omit<ImageRow, 'message_id' | 'conversation_id' | 'user_id' | 'position'> & {
  message_id: string;
};

export function imageInsertParams(messageId: string, i: ImageRecord): ImageInsertParams {
  return {
    id: i.id,
    message_id: messageId,
    local_key: i.localKey,
    evicted_key: i.evictedKey,
    thumbnail_key: i.thumbnailKey,
    cloud_url: i.cloudUrl,
    thumbnail_cloud_url: i.thumbnailCloudUrl,
    cloud_verified_at: msOrNull(i.cloudVerifiedAt),
    cloud_altered_at: msOrNull(i.cloudAlteredAt),
    delete_url: i.deleteUrl,
    caption: i.caption,
    size: i.size,
    mime_type: i.mimeType,
    width: i.width,
    height: i.height,
    generated: i.generated ? 1 : 0,
    service: i.service,
    sha256: i.sha256,
    placeholder: i.placeholder,
    uploaded_at: i.uploadedAt.getTime(),
    repl_status: i.replication.status,
    repl_attempts: i.replication.attempts,
    repl_next_attempt_at: msOrNull(i.replication.nextAttemptAt),
    repl_last_error: i.replication.lastError,
    lease_owner: i.replication.leaseOwner,
    lease_until: msOrNull(i.replication.leaseUntil),
  };
}

/** Patch keys mapped to columns, with the conversion each value needs. */
const PATCH_COLUMNS: { [K in keyof Omit<ImagePatch, 'replication' | 'cloudVerifiedAt' | 'cloudAlteredAt'>]-?: string } =
  {
    localKey: 'local_key',
    evictedKey: 'evicted_key',
    thumbnailKey: 'thumbnail_key',
    cloudUrl: 'cloud_url',
    thumbnailCloudUrl: 'thumbnail_cloud_url',
    deleteUrl: 'delete_url',
    service: 'service',
    caption: 'caption',
    placeholder: 'placeholder',
    sha256: 'sha256',
  };

const REPLICATION_COLUMNS: { [K in keyof NonNullable<ImagePatch['replication']>]-?: [string, (v: never) => unknown] } =
  {
    status: ['repl_status', (v: string) => v],
    attempts: ['repl_attempts', (v: number) => v],
    nextAttemptAt: ['repl_next_attempt_at', msOrNull],
    lastError: ['repl_last_error', (v: string | null) => v],
    leaseOwner: ['lease_owner', (v: string | null) => v],
    leaseUntil: ['lease_until', msOrNull],
  };

/**
 * The SET clause and values of a patch. A key whose value is undefined is treated as absent, so
 * `{ ...spread }` patches built from optional fields do not null out columns by accident.
 */
export function patchAssignments(patch: ImagePatch): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  for (const [key, column] of Object.entries(PATCH_COLUMNS)) {
    const value = patch[key as keyof typeof PATCH_COLUMNS];
    if (value === undefined) continue;
    columns.push(column);
    values.push(value);
  }
  if (patch.cloudVerifiedAt !== undefined) {
    columns.push('cloud_verified_at');
    values.push(msOrNull(patch.cloudVerifiedAt));
  }
  if (patch.cloudAlteredAt !== undefined) {
    columns.push('cloud_altered_at');
    values.push(msOrNull(patch.cloudAlteredAt));
  }
  const replication = patch.replication ?? {};
  for (const [key, [column, convert]] of Object.entries(REPLICATION_COLUMNS)) {
    const value = replication[key as keyof typeof REPLICATION_COLUMNS];
    if (value === undefined) continue;
    columns.push(column);
    values.push((convert as (v: unknown) => unknown)(value));
  }
  return { columns, values };
}
