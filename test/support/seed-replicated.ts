import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ImageRecord, Message } from '../../src/domain/types.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import type { Emulator } from './emulators.js';
import { makeImage, TEST_FILE_URL_SECRET } from './factories.js';

const hex = (n: number) => randomBytes(n).toString('hex');

/** The environment of a server or CLI over `dir` (SQLite file and STORAGE_DIR) with the PostImages emulator as its provider. */
export function emulatedEnv(
  dir: string,
  cloud: Emulator,
): { SQLITE_PATH: string; STORAGE_DIR: string } & Record<string, string> {
  return {
    SQLITE_PATH: join(dir, 'metadata.sqlite'),
    STORAGE_DIR: join(dir, 'storage'),
    FILE_URL_SECRET: TEST_FILE_URL_SECRET,
    CLOUD_PROVIDERS: 'postimages',
    POSTIMAGES_API_KEY: cloud.apiKey,
    POSTIMAGES_API_URL: cloud.apiUrl,
    LOG_LEVEL: 'warn',
  };
}

/**
 * The state after a disk loss: `count` distinct JPEGs (`width` x `height`, made from `photo`)
 * held by the emulator's CDN and recorded in the store as replicated, ten to a message, with no
 * local file. `sameInstantEvery` gives that many consecutive images one uploadedAt, so keyset
 * paging meets ties. Used by the restore tests and bench/restore.ts.
 */
export async function seedReplicatedImages(
  store: MetadataStore,
  cloud: Emulator,
  o: { photo: Buffer; count: number; width: number; height: number; userId?: string; sameInstantEvery?: number },
): Promise<{ conversationId: string; images: ImageRecord[]; bytes: number }> {
  const userId = o.userId ?? 'alice';
  const base = await sharp(o.photo)
    .resize(o.width, o.height, { fit: 'cover' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const cdn = new URL(cloud.apiUrl).origin;
  const now = Date.now();
  const conversation = {
    id: hex(12),
    userId,
    title: 'restored after a disk loss',
    createdAt: new Date(now),
    updatedAt: new Date(now),
  };
  await store.createConversation(conversation);
  const images: ImageRecord[] = [];
  let bytes = 0;
  for (let m = 0; m * 10 < o.count; m++) {
    const message: Message = {
      id: hex(12),
      conversationId: conversation.id,
      userId,
      role: 'ASSISTANT',
      content: '',
      createdAt: new Date(now + m),
      images: [],
    };
    for (let n = m * 10; n < Math.min(o.count, m * 10 + 10); n++) {
      const pixels = Buffer.from(base.data);
      pixels.writeUInt32LE(n, 0); // distinct bytes per image
      const data = await sharp(pixels, { raw: base.info }).jpeg({ quality: 80 }).toBuffer();
      bytes += data.length;
      const id = hex(6);
      const name = `img_20260101_000000_${hex(4)}`;
      cloud.stored.set(`${id}/${name}.jpg`, data);
      message.images.push(
        makeImage(message, {
          localKey: `uploads/${name}.jpg`,
          thumbnailKey: `thumbnails/thumb_${name}.webp`,
          cloudUrl: `${cdn}/i/${id}/${name}.jpg`,
          deleteUrl: `${cdn}/delete/${id}`,
          size: data.length,
          mimeType: 'image/jpeg',
          width: o.width,
          height: o.height,
          service: 'POSTIMAGES',
          sha256: createHash('sha256').update(data).digest('hex'),
          uploadedAt: new Date(now + Math.floor(n / (o.sameInstantEvery ?? 1))),
          replication: { status: 'REPLICATED', attempts: 1 },
        }),
      );
    }
    await store.addMessage(message);
    images.push(...message.images);
  }
  return { conversationId: conversation.id, images, bytes };
}
