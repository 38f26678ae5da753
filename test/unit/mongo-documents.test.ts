import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { legacyImageId } from '../../src/domain/ids.js';
import { anyIdForm, conversationToDoc, docToConversation, docToMessage, imageToDoc, messageToDoc, type MessageDoc } from '../../src/store/mongo/documents.js';
import { dueForReplication, imageFieldsMatch, keysetAfter, messagesWithImagesMatch } from '../../src/store/mongo/queries.js';
import { makeConversation, makeImage, makeMessage } from '../support/factories.js';

describe('MongoDB documents', () => {
  it('round-trip conversations, messages and images with every field, in the chatbot\'s snake_case shape', () => {
    const conversation = makeConversation({ userId: 'alice', title: 'Trip' });
    expect(docToConversation(conversationToDoc(conversation))).toEqual(conversation);
    const message = makeMessage(conversation, { role: 'ASSISTANT', content: 'here' });
    const full = {
      ...message,
      images: [
        makeImage(message, {
          cloudUrl: 'https://i.ibb.co/x/y.png',
          deleteUrl: 'https://ibb.co/x/delete',
          service: 'IMGBB',
          caption: 'c',
          replication: { status: 'RETRYING', attempts: 3, nextAttemptAt: new Date(5000), lastError: 'timeout', leaseOwner: 'w1', leaseUntil: new Date(6000) },
        }),
      ],
    };
    const doc = messageToDoc(full);
    expect(doc.role).toBe('assistant');
    expect(doc._id).toBeInstanceOf(ObjectId);
    expect(doc.conversation_id).toBeInstanceOf(ObjectId);
    expect(doc.images?.[0]).toMatchObject({ service: 'imgbb', cloud_url: 'https://i.ibb.co/x/y.png', delete_url: 'https://ibb.co/x/delete', url: full.images[0]!.localKey });
    expect(doc.images?.[0]?.replication).toEqual({ status: 'RETRYING', attempts: 3, next_attempt_at: new Date(5000), last_error: 'timeout', lease_owner: 'w1', lease_until: new Date(6000) });
    expect(docToMessage(doc)).toEqual(full);
    expect(imageToDoc(full.images[0]!)._id).toEqual(new ObjectId(full.images[0]!.id));
  });

  it('reads a legacy message exactly as the older app wrote it', () => {
    const legacy: MessageDoc = {
      _id: '65a1b2c3d4e5f60718293a4b',
      conversation_id: new ObjectId('65a1b2c3d4e5f60718293a00'),
      user_id: 'u1',
      role: 'Assistant',
      content: 'an image',
      created_at: '2024-01-01T12:00:00.000Z',
      images: [
        { url: '/static/Storage/Image_Gen/img_20240101_120000_ab12cd34.png', cloud_url: 'https://i.postimg.cc/abc/img.png', caption: 'sunset', size: 1000 },
        { url: '/static/Storage/uploads/img_20240101_120001_ffffffff.jpg' },
      ],
    };
    const m = docToMessage(legacy);
    expect(m).toMatchObject({ id: '65a1b2c3d4e5f60718293a4b', conversationId: '65a1b2c3d4e5f60718293a00', role: 'ASSISTANT', createdAt: new Date('2024-01-01T12:00:00Z') });
    const [a, b] = m.images;
    expect(a).toMatchObject({
      id: legacyImageId('65a1b2c3d4e5f60718293a4b', 'img_20240101_120000_ab12cd34.png'),
      localKey: '/static/Storage/Image_Gen/img_20240101_120000_ab12cd34.png',
      service: 'POSTIMAGES',
      mimeType: 'image/png',
      sha256: '',
      uploadedAt: new Date('2024-01-01T12:00:00Z'),
      replication: { status: 'REPLICATED', attempts: 0 },
    });
    expect(b).toMatchObject({ service: 'LOCAL', mimeType: 'image/jpeg', replication: { status: 'LOCAL_ONLY' } });
    expect(docToMessage(legacy).images.map((i) => i.id)).toEqual(m.images.map((i) => i.id));
    expect(a!.id).not.toBe(b!.id);
  });

  it('matches ids stored as ObjectId or as string', () => {
    expect(anyIdForm(['65a1b2c3d4e5f60718293a4b'])).toEqual([new ObjectId('65a1b2c3d4e5f60718293a4b'), '65a1b2c3d4e5f60718293a4b']);
    expect(anyIdForm(['legacy-id'])).toEqual(['legacy-id']);
  });
});

describe('MongoDB query builders', () => {
  it('keyset conditions follow the sort direction and break ties by _id', () => {
    const id = '65a1b2c3d4e5f60718293a4b';
    expect(keysetAfter('updated_at', '_id', { t: 1000, id }, -1)).toEqual({
      $or: [{ updated_at: { $lt: new Date(1000) } }, { updated_at: new Date(1000), _id: { $lt: new ObjectId(id) } }],
    });
    expect(keysetAfter('created_at', '_id', { t: 5, id }, 1)).toEqual({
      $or: [{ created_at: { $gt: new Date(5) } }, { created_at: new Date(5), _id: { $gt: new ObjectId(id) } }],
    });
    expect(keysetAfter('created_at', '_id', null, 1)).toEqual({});
  });

  it('builds the image filter with inclusive sizes, inclusive after and exclusive before', () => {
    const after = new Date(1);
    const before = new Date(2);
    expect(imageFieldsMatch({ generated: true, service: 'POSTIMAGES', minSize: 10, maxSize: 20, uploadedAfter: after, uploadedBefore: before })).toEqual({
      'images.generated': true,
      'images.service': 'postimages',
      'images.size': { $gte: 10, $lte: 20 },
      'images.uploaded_at': { $gte: after, $lt: before },
    });
    expect(imageFieldsMatch({})).toEqual({});
    expect(messagesWithImagesMatch('alice', { conversationId: '65a1b2c3d4e5f60718293a4b' })).toEqual({
      user_id: 'alice',
      conversation_id: { $in: [new ObjectId('65a1b2c3d4e5f60718293a4b'), '65a1b2c3d4e5f60718293a4b'] },
      'images.0': { $exists: true },
    });
    expect(messagesWithImagesMatch(null, {})).toEqual({ 'images.0': { $exists: true } });
  });

  it('claims only pending or retrying images that are due and not leased', () => {
    const now = new Date(100);
    expect(dueForReplication(now, 'images.')).toEqual({
      'images.replication.status': { $in: ['PENDING', 'RETRYING'] },
      $and: [
        { $or: [{ 'images.replication.next_attempt_at': null }, { 'images.replication.next_attempt_at': { $lte: now } }] },
        { $or: [{ 'images.replication.lease_until': null }, { 'images.replication.lease_until': { $lte: now } }] },
      ],
    });
  });
});
