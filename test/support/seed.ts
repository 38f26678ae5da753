import { randomBytes } from 'node:crypto';
import type { ImageRecord, ReplicationStatus, StorageService } from '../../src/domain/types.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';

let counter = 0;

/**
 * Writes an image record straight into the store, as the upload path will. Until uploads
 * exist this is how read tests get images; the bytes are not needed for metadata reads.
 */
export async function seedImage(
  sqlitePath: string,
  o: {
    conversationId: string;
    messageId: string;
    userId: string;
    size?: number;
    generated?: boolean;
    service?: StorageService;
    cloudUrl?: string | null;
    /** False: the cloud copy was recorded but never checked (the seed chatbot's, an import's). */
    verified?: boolean;
    status?: ReplicationStatus;
    uploadedAt?: Date;
    sha256?: string;
  },
): Promise<ImageRecord> {
  const store = new SqliteMetadataStore({ path: sqlitePath });
  await store.init();
  const name = `img_20260101_120000_${randomBytes(4).toString('hex')}`;
  const image: ImageRecord = {
    id: randomBytes(12).toString('hex'),
    messageId: o.messageId,
    conversationId: o.conversationId,
    userId: o.userId,
    localKey: `${o.generated ? 'Image_Gen' : 'uploads'}/${name}.png`,
    evictedKey: null,
    thumbnailKey: `thumbnails/thumb_${name}.webp`,
    cloudUrl: o.cloudUrl ?? null,
    thumbnailCloudUrl: null,
    cloudAlteredAt: null,
    // As this server's replication leaves it, unless the test says the copy was never checked.
    cloudVerifiedAt: o.cloudUrl && o.verified !== false ? (o.uploadedAt ?? new Date()) : null,
    deleteUrl: o.cloudUrl ? 'https://ibb.co/delete/secret' : null,
    caption: null,
    size: o.size ?? 1234,
    mimeType: 'image/png',
    width: 64,
    height: 48,
    generated: o.generated ?? false,
    service: o.service ?? 'LOCAL',
    sha256: o.sha256 ?? randomBytes(32).toString('hex'),
    placeholder: null,
    uploadedAt: o.uploadedAt ?? new Date(Date.UTC(2026, 0, 1, 12, 0, 0, ++counter)),
    replication: {
      status: o.status ?? 'PENDING',
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      leaseOwner: null,
      leaseUntil: null,
    },
  };
  await store.addImage(o.messageId, image);
  await store.close();
  return image;
}
