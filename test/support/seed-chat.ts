import { createHash } from 'node:crypto';
import type { Conversation, ImageRecord, Message } from '../../src/domain/types.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';

/** Deterministic 24-hex ids, so seeded data is the same on every run. */
function hexId(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 24);
}

/** Fills a store with conversations of messages carrying image records (used by tests and bench/read.ts). */
export async function seedChat(
  store: MetadataStore,
  o: { userId: string; conversations: number; messagesPerConversation: number; imagesPerMessage: number },
): Promise<{ conversationIds: string[] }> {
  const base = Date.UTC(2026, 0, 1);
  const conversationIds: string[] = [];
  for (let c = 0; c < o.conversations; c++) {
    const conversation: Conversation = {
      id: hexId(o.userId, 'c', c),
      userId: o.userId,
      title: `Conversation ${c}`,
      createdAt: new Date(base + c * 60_000),
      updatedAt: new Date(base + c * 60_000),
    };
    await store.createConversation(conversation);
    conversationIds.push(conversation.id);
    for (let m = 0; m < o.messagesPerConversation; m++) {
      const messageId = hexId(o.userId, 'm', c, m);
      const createdAt = new Date(base + c * 60_000 + m * 1000);
      const images: ImageRecord[] = Array.from({ length: o.imagesPerMessage }, (_, i) => {
        const name = `img_20260101_000000_${hexId(c, m, i).slice(0, 8)}`;
        return {
          id: hexId(o.userId, 'i', c, m, i),
          messageId,
          conversationId: conversation.id,
          userId: o.userId,
          localKey: `Image_Gen/${name}.png`,
          evictedKey: null,
          thumbnailKey: `thumbnails/thumb_${name}.webp`,
          cloudUrl: i % 2 === 0 ? `https://i.postimg.cc/${hexId(c, m, i).slice(0, 8)}/${name}.png` : null,
          thumbnailCloudUrl: null,
          cloudAlteredAt: null,
          cloudVerifiedAt: i % 2 === 0 ? createdAt : null,
          deleteUrl: null,
          caption: `image ${i}`,
          size: 100_000 + i,
          mimeType: 'image/png',
          width: 1024,
          height: 1024,
          generated: true,
          service: i % 2 === 0 ? 'POSTIMAGES' : 'LOCAL',
          sha256: createHash('sha256').update(name).digest('hex'),
          placeholder: null,
          uploadedAt: createdAt,
          replication: {
            status: i % 2 === 0 ? 'REPLICATED' : 'PENDING',
            attempts: 0,
            nextAttemptAt: null,
            lastError: null,
            leaseOwner: null,
            leaseUntil: null,
          },
        };
      });
      const message: Message = {
        id: messageId,
        conversationId: conversation.id,
        userId: o.userId,
        role: m % 2 ? 'ASSISTANT' : 'USER',
        content: `message ${m}`,
        createdAt,
        images,
      };
      await store.addMessage(message);
    }
  }
  return { conversationIds };
}
