import { ObjectId, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { legacyImageId } from '../../src/domain/ids.js';
import {
  anyIdForm,
  conversationToDoc,
  docToConversation,
  docToMessage,
  idMatch,
  imageToDoc,
  messageToDoc,
  type ImageDoc,
  type MessageDoc,
} from '../../src/metadata/mongo/documents.js';
import {
  CONVERSATION_INDEXES,
  MESSAGE_INDEXES,
  missingIndexes,
  missingIndexMessage,
} from '../../src/metadata/mongo/indexes.js';
import { adoptLegacyOps, elementsOf, missingFieldsSet } from '../../src/metadata/mongo/legacy.js';
import {
  claimFilter,
  cloudUrlInUseFilter,
  decodeScanCursor,
  encodeScanCursor,
  scanIdMatch,
  dueForReplication,
  fileKeyMatch,
  imageMessagesMatch,
  imageViewMatch,
  keysetAfter,
  leaseUpdate,
  messagesPagePipeline,
  conversationOwnerMatch,
  messageOwnerMatch,
  storageStatsPipeline,
  patchSet,
} from '../../src/metadata/mongo/queries.js';
import {
  FIRST_WINDOW_MS,
  listingWindows,
  MAX_DATE,
  MIN_DATE,
  windowMatch,
  windowPipeline,
  windowRanges,
} from '../../src/metadata/mongo/image-listing.js';
import { at, makeConversation, makeImage, makeMessage } from '../support/factories.js';

const MSG = '65a1b2c3d4e5f60718293a4b';
const CONV = '65a1b2c3d4e5f60718293a00';
const LEGACY_URL = '/static/Storage/Image_Gen/img_20240101_120000_ab12cd34.png';
const LEGACY_NAME = 'img_20240101_120000_ab12cd34.png';

/** A message exactly as the older app wrote it: no image `_id`, `sha256`, `replication` nor `service`; string dates. */
function legacyMessage(): MessageDoc {
  return {
    _id: new ObjectId(MSG),
    conversation_id: CONV,
    user_id: 'u1',
    role: 'Assistant',
    content: 'Here is your lighthouse',
    created_at: '2024-01-01T12:00:00',
    images: [
      {
        url: LEGACY_URL,
        cloud_url: 'https://i.postimg.cc/abc/img.png',
        caption: 'sunset',
        size: 1000,
        width: 512,
        height: 512,
        generated: true,
      },
      {
        url: '/static/Storage/uploads/img_20240101_120001_ffffffff.jpg',
        thumbnail_url: '/static/Storage/thumbnails/thumb_x.webp',
      },
      {
        url: '/static/Storage/uploads/img_20240101_120002_eeeeeeee.webp',
        cloud_url: '',
        uploaded_at: '2024-01-01T12:00:02.500Z',
        mime_type: 'image/webp',
      },
    ],
  };
}

describe('MongoDB documents: our records', () => {
  it('round-trips a conversation', () => {
    const conversation = makeConversation({ title: 'Trip', createdAt: at(1), updatedAt: at(2) });
    const doc = conversationToDoc(conversation);
    expect(doc).toEqual({
      _id: new ObjectId(conversation.id),
      user_id: 'alice',
      title: 'Trip',
      created_at: at(1),
      updated_at: at(2),
    });
    expect(docToConversation(doc)).toEqual(conversation);
    expect(docToConversation(conversationToDoc({ ...conversation, title: null }))).toEqual({
      ...conversation,
      title: null,
    });
  });

  it('round-trips a message and its images with every field, in the chatbot’s snake_case shape', () => {
    const message = makeMessage(makeConversation(), { role: 'ASSISTANT', content: 'here', createdAt: at(10) });
    const image = makeImage(message, {
      cloudUrl: 'https://i.ibb.co/x/y.png',
      cloudVerifiedAt: at(4),
      deleteUrl: 'https://ibb.co/x/delete',
      service: 'IMGBB',
      caption: 'c',
      generated: true,
      placeholder: 'data:image/webp;base64,AAAA',
      replication: {
        status: 'RETRYING',
        attempts: 3,
        nextAttemptAt: at(5),
        lastError: 'timeout',
        leaseOwner: 'w1',
        leaseUntil: at(6),
      },
    });
    const bare = makeImage(message, { localKey: null, thumbnailKey: null, service: 'LOCAL' });
    const full = { ...message, images: [image, bare] };
    const doc = messageToDoc(full);
    expect(doc).toMatchObject({
      _id: new ObjectId(message.id),
      conversation_id: new ObjectId(message.conversationId),
      user_id: 'alice',
      role: 'assistant',
      content: 'here',
      created_at: at(10),
    });
    expect(doc.images?.[0]).toEqual({
      _id: new ObjectId(image.id),
      url: image.localKey,
      cloud_url: 'https://i.ibb.co/x/y.png',
      cloud_verified_at: at(4),
      delete_url: 'https://ibb.co/x/delete',
      thumbnail_url: image.thumbnailKey,
      caption: 'c',
      size: 1000,
      mime_type: 'image/png',
      width: 640,
      height: 480,
      generated: true,
      service: 'imgbb',
      uploaded_at: image.uploadedAt,
      sha256: image.sha256,
      placeholder: 'data:image/webp;base64,AAAA',
      replication: {
        status: 'RETRYING',
        attempts: 3,
        next_attempt_at: at(5),
        last_error: 'timeout',
        lease_owner: 'w1',
        lease_until: at(6),
      },
    });
    expect(docToMessage(doc)).toEqual(full);
    for (const role of ['USER', 'SYSTEM'] as const)
      expect(docToMessage(messageToDoc({ ...full, role }))).toEqual({ ...full, role });
    expect(messageToDoc(full).role).toBe('assistant');
    expect(imageToDoc({ ...image, service: 'POSTIMAGES' }).service).toBe('postimages');
    // The thumbnail's cloud copy (s3) is stored only when there is one, and read back.
    const withThumb = {
      ...image,
      service: 'S3' as const,
      thumbnailCloudUrl: 's3://bucket/alice/abc.thumb.webp',
      cloudAlteredAt: at(7),
    };
    expect(imageToDoc(withThumb)).toMatchObject({
      thumbnail_cloud_url: 's3://bucket/alice/abc.thumb.webp',
      cloud_altered_at: at(7),
      service: 's3',
    });
    expect(docToMessage(messageToDoc({ ...full, images: [withThumb] })).images[0]).toEqual(withThumb);
  });

  it("finds a cloud URL in use as an original's or a thumbnail's copy, never the excepted image's", () => {
    const except = idMatch([MSG]).$in;
    expect(cloudUrlInUseFilter('s3://b/k', except)).toEqual({
      $or: [
        { images: { $elemMatch: { cloud_url: 's3://b/k', _id: { $nin: except } } } },
        { images: { $elemMatch: { thumbnail_cloud_url: 's3://b/k', _id: { $nin: except } } } },
      ],
    });
    expect(MESSAGE_INDEXES).toContainEqual({ 'images.thumbnail_cloud_url': 1 });
  });

  it('keeps the form of the conversation id it is given for conversation_id', () => {
    const message = makeMessage({ id: CONV, userId: 'u1' });
    expect(messageToDoc(message, CONV).conversation_id).toBe(CONV);
    expect(docToMessage(messageToDoc(message, CONV))).toEqual(message);
  });

  it('maps string and ObjectId ids to the same hex', () => {
    const a = docToMessage({
      _id: MSG,
      conversation_id: CONV,
      user_id: 'u1',
      role: 'user',
      content: '',
      created_at: at(0),
    });
    const b = docToMessage({
      _id: new ObjectId(MSG),
      conversation_id: new ObjectId(CONV),
      user_id: 'u1',
      role: 'user',
      content: '',
      created_at: at(0),
    });
    expect(a).toEqual(b);
    expect(a).toMatchObject({ id: MSG, conversationId: CONV });
    expect(docToConversation({ _id: CONV, user_id: new ObjectId(MSG), created_at: at(0) })).toMatchObject({
      id: CONV,
      userId: MSG,
      updatedAt: at(0),
    });
  });

  it('matches ids in both stored forms with one helper', () => {
    expect(anyIdForm([MSG, MSG])).toEqual([new ObjectId(MSG), MSG]);
    expect(idMatch([MSG, 'legacy-id'])).toEqual({ $in: [new ObjectId(MSG), MSG, 'legacy-id'] });
  });
});

describe('MongoDB documents: the older app’s', () => {
  it('reads a legacy message with derived ids and documented defaults', () => {
    const m = docToMessage(legacyMessage());
    const created = new Date('2024-01-01T12:00:00Z');
    expect(m).toMatchObject({
      id: MSG,
      conversationId: CONV,
      userId: 'u1',
      role: 'ASSISTANT',
      content: 'Here is your lighthouse',
      createdAt: created,
    });
    const [a, b, c] = m.images;
    expect(a).toEqual({
      id: legacyImageId(MSG, LEGACY_NAME),
      messageId: MSG,
      conversationId: CONV,
      userId: 'u1',
      localKey: LEGACY_URL,
      evictedKey: null,
      thumbnailKey: null,
      cloudUrl: 'https://i.postimg.cc/abc/img.png',
      thumbnailCloudUrl: null,
      cloudAlteredAt: null,
      // Recorded by the seed, never checked here: cleanup downloads it before trusting it.
      cloudVerifiedAt: null,
      deleteUrl: null,
      caption: 'sunset',
      size: 1000,
      mimeType: 'image/png',
      width: 512,
      height: 512,
      generated: true,
      service: 'POSTIMAGES',
      sha256: '',
      placeholder: null,
      uploadedAt: created,
      replication: {
        status: 'REPLICATED',
        attempts: 0,
        nextAttemptAt: null,
        lastError: null,
        leaseOwner: null,
        leaseUntil: null,
      },
    });
    expect(b).toMatchObject({
      thumbnailKey: '/static/Storage/thumbnails/thumb_x.webp',
      cloudUrl: null,
      service: 'LOCAL',
      mimeType: 'image/jpeg',
      size: 0,
      width: 0,
      height: 0,
      generated: false,
      replication: { status: 'LOCAL_ONLY' },
    });
    // An empty cloud_url is no cloud copy.
    expect(c).toMatchObject({
      cloudUrl: null,
      mimeType: 'image/webp',
      uploadedAt: new Date('2024-01-01T12:00:02.500Z'),
      replication: { status: 'LOCAL_ONLY' },
    });
  });

  it('reads the seed chatbot’s local-only images (cloud_url = url, service "local") as LOCAL_ONLY with no cloud copy', () => {
    // What the seed's Python wrote when both clouds failed: the local path copied into cloud_url.
    const url = '/static/Storage/Image_Gen/img_20240101_120003_abcdef12.png';
    const shapes = [
      { url, cloud_url: url, service: 'local' },
      { url, cloud_url: url },
      { url, cloud_url: 'https://i.postimg.cc/abc/img.png', service: 'local' },
      { url, cloud_url: '/static/Storage/uploads/other.png' },
      { url, cloud_url: 'static/Storage/Image_Gen/img.png' },
      { url, cloud_url: 'ftp://i.postimg.cc/abc/img.png' },
    ];
    for (const image of shapes) {
      const [read] = docToMessage({ ...legacyMessage(), images: [image] }).images;
      expect(read, JSON.stringify(image)).toMatchObject({
        localKey: url,
        cloudUrl: null,
        service: 'LOCAL',
        replication: { status: 'LOCAL_ONLY' },
      });
    }
    // Their id is still derived from the url, as before.
    expect(docToMessage({ ...legacyMessage(), images: [shapes[0]!] }).images[0]!.id).toBe(
      legacyImageId(MSG, 'img_20240101_120003_abcdef12.png'),
    );
    // A real cloud URL is still a cloud copy.
    const [cloud] = docToMessage({
      ...legacyMessage(),
      images: [{ url, cloud_url: 'https://i.ibb.co/q/a.png' }],
    }).images;
    expect(cloud).toMatchObject({
      cloudUrl: 'https://i.ibb.co/q/a.png',
      service: 'IMGBB',
      replication: { status: 'REPLICATED' },
    });
  });

  it('knows a cloud copy is good only when this server made or checked it', () => {
    const url = '/static/Storage/Image_Gen/img_20240101_120003_abcdef12.png';
    const cloud = 'https://i.postimg.cc/abc/img.png';
    const uploaded = new Date('2026-01-02T03:04:05Z');
    const read = (image: ImageDoc) => docToMessage({ ...legacyMessage(), images: [image] }).images[0]!;
    // The seed's own image: a URL it wrote down, never checked by this server.
    expect(read({ url, cloud_url: cloud })).toMatchObject({
      cloudUrl: cloud,
      cloudVerifiedAt: null,
      replication: { status: 'REPLICATED' },
    });
    // Written by an earlier version of this server, which set a REPLICATED status only after its own upload.
    expect(
      read({
        url,
        cloud_url: cloud,
        uploaded_at: uploaded,
        sha256: 'ab'.repeat(32),
        replication: { status: 'REPLICATED' },
      }).cloudVerifiedAt,
    ).toEqual(uploaded);
    // ...but it also wrote REPLICATED, with no digest, when it completed a seed element: not its upload.
    expect(
      read({ url, cloud_url: cloud, uploaded_at: uploaded, sha256: '', replication: { status: 'REPLICATED' } })
        .cloudVerifiedAt,
    ).toBeNull();
    // Not REPLICATED (a requeue in progress): nothing known.
    expect(
      read({ url, cloud_url: cloud, uploaded_at: uploaded, replication: { status: 'RETRYING' } }).cloudVerifiedAt,
    ).toBeNull();
    // This version writes the field; an explicit null (an import) stays null.
    expect(
      read({
        url,
        cloud_url: cloud,
        uploaded_at: uploaded,
        cloud_verified_at: null,
        replication: { status: 'REPLICATED' },
      }).cloudVerifiedAt,
    ).toBeNull();
    const checked = new Date('2026-03-01T00:00:00Z');
    expect(read({ url, cloud_url: cloud, cloud_verified_at: checked.toISOString() }).cloudVerifiedAt).toEqual(checked);
    // No cloud copy, nothing to know.
    expect(
      read({ url, cloud_url: url, cloud_verified_at: checked, replication: { status: 'REPLICATED' } }).cloudVerifiedAt,
    ).toBeNull();
  });

  it('derives the same image id on every read, and a different one for another file name', () => {
    const first = docToMessage(legacyMessage()).images.map((i) => i.id);
    expect(docToMessage(legacyMessage()).images.map((i) => i.id)).toEqual(first);
    expect(new Set(first).size).toBe(3);
    const renamed = legacyMessage();
    renamed.images![0]!.url = '/static/Storage/Image_Gen/img_20240101_120000_ab12cd35.png';
    expect(docToMessage(renamed).images[0]!.id).not.toBe(first[0]);
    expect(first[0]).toMatch(/^[0-9a-f]{24}$/);
  });

  it('reads roles in any case, guesses services from the cloud host, and falls back for missing dates', () => {
    const doc = {
      _id: new ObjectId(MSG),
      conversation_id: CONV,
      user_id: 'u1',
      images: [{ url: 'x/a.gif', cloud_url: 'https://i.ibb.co/q/a.gif', service: 'ImgBB' }],
    };
    const m = docToMessage({ ...doc, role: 'USER', content: null });
    expect(m).toMatchObject({ role: 'USER', content: '', createdAt: new ObjectId(MSG).getTimestamp() });
    expect(m.images[0]).toMatchObject({
      service: 'IMGBB',
      mimeType: 'image/gif',
      replication: { status: 'REPLICATED' },
    });
    expect(
      docToMessage({ ...doc, role: 'system', images: [{ url: 'x/a.png', cloud_url: 'https://i.ibb.co/q/a.png' }] })
        .images[0]!.service,
    ).toBe('IMGBB');
    expect(docToMessage({ ...doc, role: 'bot', images: null }).images).toEqual([]);
    expect(docToMessage({ ...doc, role: 'bot' }).role).toBe('ASSISTANT');
    expect(docToMessage({ ...doc, created_at: '2024-03-01 08:00:00' }).createdAt).toEqual(
      new Date('2024-03-01T08:00:00Z'),
    );
    expect(docToMessage({ ...doc, created_at: 'yesterday' }).createdAt).toEqual(new ObjectId(MSG).getTimestamp());
  });

  it('adopts legacy elements by writing their derived id, matched by what the id derives from', () => {
    const doc = legacyMessage();
    doc.images!.push({ _id: new ObjectId(CONV), url: 'uploads/ours.png' }, { caption: 'no file at all' }, null);
    const ops = adoptLegacyOps(elementsOf(doc));
    expect(ops).toHaveLength(3);
    expect(ops[0]).toEqual({
      updateOne: {
        filter: {
          _id: new ObjectId(MSG),
          images: { $elemMatch: { _id: null, url: LEGACY_URL, cloud_url: 'https://i.postimg.cc/abc/img.png' } },
        },
        update: { $set: { 'images.$[legacy]._id': new ObjectId(legacyImageId(MSG, LEGACY_NAME)) } },
        arrayFilters: [
          { 'legacy._id': null, 'legacy.url': LEGACY_URL, 'legacy.cloud_url': 'https://i.postimg.cc/abc/img.png' },
        ],
      },
    });
    expect(ops[1]).toMatchObject({
      updateOne: {
        arrayFilters: [
          {
            'legacy._id': null,
            'legacy.url': '/static/Storage/uploads/img_20240101_120001_ffffffff.jpg',
            'legacy.cloud_url': null,
          },
        ],
      },
    });
    // The ids written are the ids read.
    const read = docToMessage(legacyMessage()).images;
    expect(
      ops.map((op) =>
        'updateOne' in op
          ? String((op.updateOne.update as { $set: Record<string, unknown> }).$set['images.$[legacy]._id'])
          : '',
      ),
    ).toEqual(read.map((i) => i.id));
    expect(adoptLegacyOps(elementsOf(messageToDoc(makeMessage(makeConversation(), { images: [] }))))).toEqual([]);
  });

  it('completes a legacy element with the defaults it lacks, leaving what it has', () => {
    const stored: ImageDoc = {
      _id: new ObjectId(CONV),
      url: LEGACY_URL,
      cloud_url: 'https://i.postimg.cc/abc/img.png',
      size: 1000,
      caption: 'sunset',
    };
    const derived = docToMessage({ ...legacyMessage(), images: [stored] }).images[0]!;
    expect(missingFieldsSet(stored, derived, 'images.$')).toEqual({
      // Written as null with the REPLICATED status below, so no later read takes the copy for one this server made.
      'images.$.cloud_verified_at': null,
      'images.$.delete_url': null,
      'images.$.thumbnail_url': null,
      'images.$.mime_type': 'image/png',
      'images.$.width': 0,
      'images.$.height': 0,
      'images.$.generated': false,
      'images.$.service': 'postimages',
      'images.$.uploaded_at': new Date('2024-01-01T12:00:00Z'),
      'images.$.sha256': '',
      'images.$.placeholder': null,
      'images.$.replication': {
        status: 'REPLICATED',
        attempts: 0,
        next_attempt_at: null,
        last_error: null,
        lease_owner: null,
        lease_until: null,
      },
    });
    const partial = { ...imageToDoc(derived), replication: { status: 'PENDING' } };
    expect(missingFieldsSet(partial, derived, 'images.$')).toEqual({
      'images.$.replication.attempts': 0,
      'images.$.replication.next_attempt_at': null,
      'images.$.replication.last_error': null,
      'images.$.replication.lease_owner': null,
      'images.$.replication.lease_until': null,
    });
  });
});

describe('MongoDB query builders', () => {
  const oid = new ObjectId(MSG);

  it('keyset conditions follow the sort direction and break ties by id', () => {
    expect(keysetAfter('updated_at', '_id', { t: 1000, id: MSG }, -1)).toEqual({
      $or: [{ updated_at: { $lt: new Date(1000) } }, { updated_at: new Date(1000), _id: { $lt: oid } }],
    });
    expect(keysetAfter('at', '_id', { t: 5, id: MSG }, 1)).toEqual({
      $or: [{ at: { $gt: new Date(5) } }, { at: new Date(5), _id: { $gt: oid } }],
    });
    expect(keysetAfter('at', '_id', null, 1)).toEqual({});
  });

  it('filters by owner in both id forms, or not at all for the admin', () => {
    expect(conversationOwnerMatch('alice', null)).toEqual({ user_id: { $in: ['alice'] } });
    expect(conversationOwnerMatch(MSG, null)).toEqual({ user_id: { $in: [oid, MSG] } });
    expect(conversationOwnerMatch(null, 'archive')).toEqual({});
    // LEGACY_DEFAULT_OWNER also sees the conversations that name no one (missing or null user_id).
    expect(conversationOwnerMatch('archive', 'archive')).toEqual({ user_id: { $in: ['archive', null] } });
    expect(conversationOwnerMatch('alice', 'archive')).toEqual({ user_id: { $in: ['alice'] } });
  });

  it("matches a seed message without user_id by its conversation's owner, never another's", () => {
    const scope = { owner: 'alice', conversations: [new ObjectId(CONV), CONV] };
    expect(messageOwnerMatch(scope)).toEqual({
      $or: [{ user_id: { $in: ['alice'] } }, { user_id: null, conversation_id: { $in: [new ObjectId(CONV), CONV] } }],
    });
    // No conversations: only messages naming the owner.
    expect(messageOwnerMatch({ owner: 'alice', conversations: [] })).toEqual({ user_id: { $in: ['alice'] } });
    expect(messageOwnerMatch(null)).toEqual({});
    expect(storageStatsPipeline(scope)[0]).toEqual({
      $match: { ...messageOwnerMatch(scope), 'images.0': { $exists: true } },
    });
  });

  it('builds the image filter: conversation before unwinding, the rest on the fields as read', () => {
    const after = new Date(1);
    const before = new Date(2);
    expect(
      imageViewMatch({
        generated: false,
        service: 'POSTIMAGES',
        minSize: 10,
        maxSize: 20,
        uploadedAfter: after,
        uploadedBefore: before,
      }),
    ).toEqual({
      'v.generated': false,
      'v.service': 'postimages',
      'v.size': { $gte: 10, $lte: 20 },
      'v.at': { $gte: after, $lt: before },
    });
    expect(imageViewMatch({ minSize: 0 })).toEqual({ 'v.size': { $gte: 0 } });
    expect(imageViewMatch({ generated: null, service: null })).toEqual({});
    expect(imageMessagesMatch({ owner: 'alice', conversations: [] }, { conversationId: CONV })).toEqual({
      user_id: { $in: ['alice'] },
      conversation_id: { $in: [new ObjectId(CONV), CONV] },
      'images.0': { $exists: true },
    });
    expect(imageMessagesMatch(null, {})).toEqual({ 'images.0': { $exists: true } });
  });

  it('lists images by windows of time, each branch of the match an index range (scope, then uploaded_at of one BSON type)', () => {
    const scope = { owner: 'alice', conversations: [CONV] };
    const w = { from: new Date(1_000), to: new Date(5_000), toInclusive: false };
    const match = windowMatch(scope, { generated: true }, w);
    expect(match.$or).toHaveLength(6);
    const ranges = windowRanges(w);
    expect(ranges[0]).toEqual({ images: { $elemMatch: { uploaded_at: { $gte: w.from, $lt: w.to } } } });
    expect(ranges[2]).toEqual({ images: { $elemMatch: { uploaded_at: { $gte: 1_000, $lt: 5_000 } } } });
    // Strings two days wider each side: zone offsets move a string against its instant.
    expect(ranges[1]).toEqual({
      images: { $elemMatch: { uploaded_at: { $gte: '1969-12-30T00:00:01.000Z', $lte: '1970-01-03T00:00:05.000Z' } } },
    });
    expect(match.$or[0]).toEqual({ user_id: { $in: ['alice'] }, ...ranges[0] });
    expect(match.$or[3]).toEqual({ user_id: null, conversation_id: { $in: scope.conversations }, ...ranges[0] });
    // A conversation filter goes into every branch; an admin has one branch per type.
    expect(windowMatch(null, { conversationId: CONV }, w).$or).toEqual(
      ranges.map((r) => ({ conversation_id: { $in: [new ObjectId(CONV), CONV] }, ...r })),
    );
    const pipeline = windowPipeline(scope, { generated: true }, { ...w, toInclusive: true }, { t: 9, id: MSG }, 6);
    expect(pipeline[1]).toEqual({ $unwind: { path: '$images', includeArrayIndex: 'image_index' } });
    expect(pipeline[3]).toEqual({
      $match: {
        $and: [
          { 'v.generated': true },
          { 'v.at': { $gte: w.from, $lte: w.to } },
          keysetAfter('v.at', 'images._id', { t: 9, id: MSG }, -1),
        ],
      },
    });
    expect(pipeline.slice(4)).toEqual([{ $sort: { 'v.at': -1, 'images._id': -1 } }, { $limit: 6 }]);
  });

  it('reads windows newest first, each four times the last, from the cursor (or now) down to the floor', () => {
    const hour = FIRST_WINDOW_MS;
    const now = new Date(100 * hour);
    const windows = [...listingWindows(MAX_DATE, new Date(0), now)];
    expect(windows[0]).toEqual({ from: new Date(99 * hour), to: MAX_DATE, toInclusive: true });
    expect(windows[1]).toEqual({ from: new Date(95 * hour), to: new Date(99 * hour), toInclusive: false });
    expect(windows[2]).toEqual({ from: new Date(79 * hour), to: new Date(95 * hour), toInclusive: false });
    expect(windows.at(-1)!.from).toEqual(new Date(0));
    expect(windows).toHaveLength(5);
    // Windows touch and never overlap.
    for (let i = 1; i < windows.length; i++) expect(windows[i]!.to).toEqual(windows[i - 1]!.from);
    // From a cursor in the past, the first window ends at the cursor, inclusive (ties break by id).
    expect([...listingWindows(new Date(10 * hour), new Date(0), now)][0]).toEqual({
      from: new Date(9 * hour),
      to: new Date(10 * hour),
      toInclusive: true,
    });
    // Down to the oldest date there is, a sparse history costs a bounded number of windows.
    const all = [...listingWindows(MAX_DATE, MIN_DATE, new Date('2026-12-07T00:00:00Z'))];
    expect(all.length).toBeLessThanOrEqual(12);
    expect(all.at(-1)!.from).toEqual(MIN_DATE);
    expect(all.at(-2)!.from.getTime()).toBeGreaterThanOrEqual(0);
  });

  it('scans messages by _id, strings first then ObjectIds, from an opaque cursor that survives a round trip', () => {
    expect(decodeScanCursor(null)).toEqual({ phase: 'string', last: null });
    expect(scanIdMatch(decodeScanCursor(null))).toEqual({ $type: 'string' });
    expect(scanIdMatch({ phase: 'string', last: 'legacy-7' })).toEqual({ $type: 'string', $gt: 'legacy-7' });
    expect(scanIdMatch({ phase: 'objectId', last: null })).toEqual({ $type: 'objectId' });
    expect(scanIdMatch({ phase: 'objectId', last: MSG })).toEqual({ $type: 'objectId', $gt: oid });
    for (const c of [
      { phase: 'string', last: 'a"b' },
      { phase: 'objectId', last: MSG },
      { phase: 'objectId', last: null },
    ] as const) {
      expect(decodeScanCursor(encodeScanCursor(c))).toEqual(c);
    }
    // A cursor that is not one of ours starts over instead of throwing or matching a bad id.
    for (const bad of ['', 'x', '["o","nothex"]', '["q",null]', '[1,2]', 'null'])
      expect(decodeScanCursor(bad)).toEqual({ phase: 'string', last: null });
  });

  it('creates only the indexes a collection lacks, by key pattern, and names one it may not create', () => {
    const existing: { key: Document; name: string }[] = [
      { key: { _id: 1 }, name: '_id_' },
      // Made by the older app or an administrator, under its own name and with Int32-like values.
      { key: { conversation_id: 1, created_at: 1, _id: 1 }, name: 'by_conversation' },
      { key: { 'images._id': 1.0 }, name: 'img' },
      { key: { user_id: 1, updated_at: -1, _id: -1 }, name: 'x' },
    ];
    expect(missingIndexes(existing, MESSAGE_INDEXES)).toEqual(MESSAGE_INDEXES.slice(2));
    expect(missingIndexes(existing, CONVERSATION_INDEXES)).toEqual([{ updated_at: -1, _id: -1 }]);
    // The same fields in another order, or another direction, are another index.
    expect(
      missingIndexes(
        [{ key: { created_at: 1, conversation_id: 1, _id: 1 } }],
        [{ conversation_id: 1, created_at: 1, _id: 1 }],
      ),
    ).toHaveLength(1);
    expect(missingIndexes([{ key: { updated_at: 1, _id: 1 } }], [{ updated_at: -1, _id: -1 }])).toHaveLength(1);
    expect(
      missingIndexes([...existing, ...MESSAGE_INDEXES.map((key) => ({ key: key as Document }))], MESSAGE_INDEXES),
    ).toEqual([]);
    expect(missingIndexMessage('messages', { 'images.url': 1 })).toBe(
      'MongoDB: the index {"images.url":1} on "messages" is missing, and this user may not create indexes. Create it once as an administrator: db.messages.createIndex({"images.url":1}), then start again.',
    );
  });

  it('pages messages of many conversations in one pipeline, first + 1 each', () => {
    const pipeline = messagesPagePipeline('messages', [CONV], { first: 3, after: { t: 7, id: MSG } });
    expect(pipeline[0]).toEqual({ $match: { conversation_id: { $in: [new ObjectId(CONV), CONV] } } });
    expect(pipeline[2]).toEqual({ $match: keysetAfter('at', '_id', { t: 7, id: MSG }, 1) });
    expect(pipeline[3]).toEqual({
      $setWindowFields: {
        partitionBy: '$conversation',
        sortBy: { at: 1, _id: 1 },
        output: { rn: { $documentNumber: {} } },
      },
    });
    expect(pipeline[4]).toEqual({ $match: { rn: { $lte: 4 } } });
    expect(pipeline.at(-1)).toEqual({ $sort: { sort_at: 1, _id: 1 } });
  });

  it('claims only due, unleased images, repeating the condition inside the atomic update', () => {
    const now = new Date(100);
    const due = {
      'replication.status': { $in: ['PENDING', 'RETRYING'] },
      $and: [
        { $or: [{ 'replication.next_attempt_at': null }, { 'replication.next_attempt_at': { $lte: now } }] },
        { $or: [{ 'replication.lease_until': null }, { 'replication.lease_until': { $lte: now } }] },
      ],
    };
    expect(dueForReplication(now)).toEqual(due);
    expect(dueForReplication(now, 'images.')).toMatchObject({
      'images.replication.status': { $in: ['PENDING', 'RETRYING'] },
    });
    expect(claimFilter(oid, new ObjectId(CONV), now)).toEqual({
      _id: oid,
      images: { $elemMatch: { _id: new ObjectId(CONV), ...due } },
    });
    expect(leaseUpdate('w1', new Date(200))).toEqual({
      $set: { 'images.$.replication.lease_owner': 'w1', 'images.$.replication.lease_until': new Date(200) },
    });
  });

  it('turns a patch into a $set, replication fields one by one, undefined as absent', () => {
    expect(
      patchSet(
        {
          cloudUrl: 'https://x/y.png',
          localKey: null,
          service: 'IMGBB',
          caption: undefined,
          replication: { status: 'REPLICATED', leaseOwner: null, nextAttemptAt: new Date(3), lastError: undefined },
        },
        'images.$',
      ),
    ).toEqual({
      'images.$.cloud_url': 'https://x/y.png',
      'images.$.url': null,
      'images.$.service': 'imgbb',
      'images.$.replication.status': 'REPLICATED',
      'images.$.replication.lease_owner': null,
      'images.$.replication.next_attempt_at': new Date(3),
    });
    expect(patchSet({}, 'images.$')).toEqual({});
  });

  it('looks a file key up in both the current and the legacy /static/Storage/ form, as original, thumbnail or evicted original', () => {
    const forms = ['uploads/a.png', '/static/Storage/uploads/a.png'];
    const fields = ['images.url', 'images.thumbnail_url', 'images.evicted_url'];
    expect(fileKeyMatch('uploads/a.png')).toEqual({ $or: fields.map((f) => ({ [f]: { $in: forms } })) });
    expect(fileKeyMatch('/static/Storage/uploads/a.png')).toEqual({
      $or: fields.map((f) => ({ [f]: { $in: [...forms].reverse() } })),
    });
  });
});
