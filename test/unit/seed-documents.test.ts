/**
 * The seed-app fixture (written as the seed chatbot's Python writes it) read in place by the
 * MongoDB mapping layer: what a server pointed at the seed's own database makes of it. The same
 * documents are imported into SQLite in test/integration/seed-import.test.ts; the MongoDB
 * contract suite, where a mongod is reachable, runs the store itself.
 */
import { describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../src/domain/types.js';
import { NO_OWNER } from '../../src/domain/viewer.js';
import {
  docToConversation,
  docToMessage,
  messageOwners,
  type ConversationDoc,
  type MessageDoc,
} from '../../src/metadata/mongo/documents.js';
import { missingFieldsSet } from '../../src/metadata/mongo/legacy.js';
import { readSeedDocs, SEED } from '../support/seed-app.js';

const messages = await readSeedDocs<MessageDoc>('messages.json');
const conversations = await readSeedDocs<ConversationDoc>('conversations.json');

function read(defaultOwner: string | null = null): ImageRecord[] {
  const ownerOf = messageOwners(conversations, defaultOwner);
  return messages.flatMap((d) => docToMessage(d, ownerOf(d)).images);
}

const legacy = (key: string) => `/static/Storage/${key}`;

describe("the seed chatbot's documents, read in place", () => {
  it('gives every image its owner: the message without user_id is its conversation owner’s', () => {
    const images = read();
    const owners = new Map(images.map((i) => [i.localKey, i.userId]));
    expect(owners).toEqual(
      new Map([
        [legacy(SEED.generated), 'alice'],
        [legacy(SEED.upload), 'alice'],
        [legacy(SEED.localOnly), 'alice'],
        [legacy(SEED.missing), 'bob'],
      ]),
    );
    const withoutUserId = messages.find((m) => m.user_id === undefined)!;
    expect(docToMessage(withoutUserId, messageOwners(conversations, null)(withoutUserId))).toMatchObject({
      userId: 'alice',
      conversationId: SEED.aliceConversation,
    });
  });

  it('reads the local-only image as LOCAL_ONLY with no cloud copy, and recorded copies as not yet checked', () => {
    const byKey = new Map(read().map((i) => [i.localKey, i]));
    expect(byKey.get(legacy(SEED.localOnly))).toMatchObject({
      cloudUrl: null,
      service: 'LOCAL',
      cloudVerifiedAt: null,
      replication: { status: 'LOCAL_ONLY' },
    });
    for (const key of [SEED.generated, SEED.upload, SEED.missing]) {
      const image = byKey.get(legacy(key))!;
      expect(image.cloudUrl).toMatch(/^https:\/\/i\.(postimg\.cc|ibb\.co)\//);
      expect(image).toMatchObject({ cloudVerifiedAt: null, sha256: '', replication: { status: 'REPLICATED' } });
    }
    expect(byKey.get(legacy(SEED.generated))).toMatchObject({
      service: 'POSTIMAGES',
      generated: true,
      uploadedAt: new Date('2024-11-02T10:15:00.412Z'),
    });
    expect(byKey.get(legacy(SEED.upload))).toMatchObject({
      service: 'IMGBB',
      thumbnailKey: legacy('thumbnails/thumb_img_20241102_101620_0badc0de.jpg'),
    });
  });

  it('completing a seed image on its first update writes cloud_verified_at null, so the copy stays unchecked', () => {
    const [doc] = messages;
    const stored = doc!.images![0]!;
    const image = read()[0]!;
    expect(missingFieldsSet(stored, image, 'images.$')).toMatchObject({
      'images.$.cloud_verified_at': null,
      'images.$.replication': { status: 'REPLICATED' },
    });
  });

  it('gives documents that name no owner NO_OWNER, or LEGACY_DEFAULT_OWNER when set', () => {
    const orphan: MessageDoc = { ...messages[2]!, conversation_id: '6725f3a0c2b1a4e5f6a7b8ff' };
    const lonely: ConversationDoc = { _id: '6725f3a0c2b1a4e5f6a7b8fe', title: 'nobody' };
    expect(docToMessage(orphan, messageOwners(conversations, null)(orphan)).userId).toBe(NO_OWNER);
    expect(docToMessage(orphan, messageOwners(conversations, 'archive')(orphan)).userId).toBe('archive');
    expect(docToConversation(lonely).userId).toBe(NO_OWNER);
    expect(docToConversation(lonely, 'archive').userId).toBe('archive');
    // A message's own user_id always wins.
    expect(messageOwners([], 'archive')(messages[0]!)).toBeUndefined();
    expect(docToConversation(conversations[0]!, 'archive').userId).toBe('alice');
  });
});
