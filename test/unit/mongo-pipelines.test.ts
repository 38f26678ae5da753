/**
 * The MongoDB aggregation builders run, not only their shape: mingo evaluates each pipeline in
 * memory over the seed chatbot's documents (test/fixtures/seed-app) and documents this server
 * writes, and the answer must agree with what the mapping layer (documents.ts) reads from the
 * same documents. mingo is not mongod (no indexes, and a few operators differ: it cannot
 * $toString an ObjectId), so this proves what a pipeline computes, not what it costs; the
 * contract suite runs the real store where a mongod is reachable.
 */
import { Aggregator, updateOne } from 'mingo';
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { STORAGE_SERVICES, type ImageRecord, type StorageStats } from '../../src/domain/types.js';
import {
  anyIdForm,
  docToImage,
  docToMessage,
  idString,
  messageOwners,
  messageToDoc,
  parentOf,
  type ConversationDoc,
  type ImageDoc,
  type MessageDoc,
} from '../../src/metadata/mongo/documents.js';
import { countImagesPipeline, FIRST_WINDOW_MS, listImageRows } from '../../src/metadata/mongo/image-listing.js';
import {
  imageCountsPipelines,
  pendingReplicationPipeline,
  pullImageUpdate,
  pushImageUpdate,
  statsFromRows,
  storageStatsPipeline,
  type MessageScope,
  type StorageStatsRow,
} from '../../src/metadata/mongo/queries.js';
import { idMatch, imageToDoc } from '../../src/metadata/mongo/documents.js';
import type { ImageFilter } from '../../src/domain/types.js';
import { ObjectId } from 'mongodb';
import { prng } from '../support/prng.js';
import { at, makeConversation, makeImage, makeMessage } from '../support/factories.js';
import { readSeedDocs } from '../support/seed-app.js';

const seedMessages = await readSeedDocs<MessageDoc>('messages.json');
const conversations = await readSeedDocs<ConversationDoc>('conversations.json');

/** A message of ours beside the seed's: one image in every replication state, two services. */
function ourMessage(): MessageDoc {
  const conversation = makeConversation({ userId: 'carol' });
  const message = makeMessage(conversation);
  const images = [
    makeImage(message, { uploadedAt: at(1), size: 100, replication: { status: 'PENDING' } }),
    makeImage(message, { uploadedAt: at(2), size: 200, replication: { status: 'RETRYING', attempts: 2 } }),
    makeImage(message, { uploadedAt: at(3), size: 300, replication: { status: 'LOCAL_ONLY' } }),
    makeImage(message, {
      uploadedAt: at(4),
      size: 400,
      service: 'S3',
      cloudUrl: 'https://bucket.example/k',
      replication: { status: 'REPLICATED' },
    }),
    makeImage(message, {
      uploadedAt: at(5),
      size: 500,
      localKey: null,
      service: 'S3',
      cloudUrl: 'https://bucket.example/e',
      replication: { status: 'REPLICATED' },
    }),
  ];
  return messageToDoc({ ...message, images });
}

const all = [...seedMessages, ourMessage(), ourMessage()];

function records(docsIn: readonly MessageDoc[]): ImageRecord[] {
  const ownerOf = messageOwners(conversations, null);
  return docsIn.flatMap((d) => docToMessage(d, ownerOf(d)).images);
}

/** StorageStats as the domain defines them, from records. */
function expectedStats(images: readonly ImageRecord[]): StorageStats {
  const byService = STORAGE_SERVICES.flatMap((service) => {
    const of = images.filter((i) => i.service === service);
    return of.length === 0 ? [] : [{ service, count: of.length, bytes: of.reduce((n, i) => n + i.size, 0) }];
  });
  return {
    imageCount: images.length,
    totalBytes: images.reduce((n, i) => n + i.size, 0),
    localBytes: images.filter((i) => i.localKey !== null).reduce((n, i) => n + i.size, 0),
    byService,
    pendingReplication: images.filter((i) => i.replication.status === 'PENDING' || i.replication.status === 'RETRYING')
      .length,
  };
}

const run = <T>(pipeline: Document[], input: readonly Document[]) => new Aggregator(pipeline).run([...input]) as T[];

describe('MongoDB pipelines, evaluated in memory', () => {
  it('counts the replication queue as the records read it: PENDING and RETRYING only, seed images never', () => {
    const images = records(all);
    const queued = images.filter((i) => i.replication.status === 'PENDING' || i.replication.status === 'RETRYING');
    expect(queued).toHaveLength(4);
    expect(run<{ n: number }>(pendingReplicationPipeline(), all)).toEqual([{ _id: null, n: 4 }]);
    // The seed's own documents have no queue; the pipeline answers nothing rather than a zero row.
    expect(run(pendingReplicationPipeline(), seedMessages)).toEqual([]);
    // A message whose images are all replicated is not counted, though it is in the collection.
    const done = ourMessage();
    for (const i of done.images ?? []) if (i?.replication) i.replication.status = 'REPLICATED';
    expect(run(pendingReplicationPipeline(), [done])).toEqual([]);
  });

  it('computes storage statistics that agree with the records, over seed documents and ours', () => {
    const images = records(all);
    const stats = statsFromRows(run<StorageStatsRow>(storageStatsPipeline(null), all));
    expect(stats).toEqual(expectedStats(images));
    expect(stats.byService.map((s) => s.service).sort()).toEqual(['IMGBB', 'LOCAL', 'POSTIMAGES', 'S3']);
    expect(stats.pendingReplication).toBe(4);
  });
});

/**
 * Alice's history as both apps wrote it: the seed fixture (ISO strings without a zone, a message
 * without user_id) and this server's messages with BSON dates, bunched (many images within
 * minutes, ties to the millisecond) and sparse (years apart), plus strings with a zone and
 * millisecond numbers. Bob's images are interleaved in time and must never show.
 */
function history(): MessageDoc[] {
  const rng = prng(20261207);
  const out: MessageDoc[] = [...seedMessages];
  const base = Date.UTC(2025, 5, 1);
  const times: number[] = [];
  for (let i = 0; i < 40; i++) times.push(base + Math.floor(rng() * 40 * 60_000)); // forty within 40 minutes
  for (let i = 0; i < 6; i++) times.push(base - (i + 1) * 400 * 86_400_000); // years apart
  times.push(times[0]!, times[0]!, times[1]!); // ties
  times.push(Date.now() + 60_000); // a clock a little ahead
  const forms = (t: number, i: number): ImageDoc['uploaded_at'] =>
    i % 7 === 3
      ? new Date(t).toISOString().replace('Z', '')
      : i % 7 === 5
        ? new Date(t + 5 * 3_600_000).toISOString().replace('Z', '+05:00')
        : i % 11 === 4
          ? t
          : new Date(t);
  times.forEach((t, i) => {
    const owner = i % 5 === 2 ? 'bob' : 'alice';
    const conversation = owner === 'bob' ? SEED_BOB_CONVERSATION : SEED_ALICE_CONVERSATION;
    const message: MessageDoc = {
      _id: new ObjectId(),
      conversation_id: new ObjectId(conversation),
      user_id: owner,
      role: 'user',
      content: `image ${i}`,
      created_at: new Date(t),
      images: [
        {
          _id: new ObjectId(),
          url: `uploads/${i}.jpg`,
          size: 100 + i,
          generated: i % 3 === 0,
          uploaded_at: forms(t, i),
          replication: { status: 'PENDING', attempts: 0 },
        },
      ],
    };
    // Some messages hold two images at different times: each is listed at its own.
    if (i % 9 === 1)
      message.images!.push({
        _id: new ObjectId(),
        url: `uploads/${i}b.jpg`,
        size: 7,
        uploaded_at: new Date(t - 90 * 86_400_000),
      });
    // As this server writes it; a few as an older version did, without the count.
    if (i % 13 !== 6) message.image_count = message.images!.length;
    out.push(message);
  });
  return out;
}

const SEED_ALICE_CONVERSATION = '6725f3a0c2b1a4e5f6a7b801';
const SEED_BOB_CONVERSATION = '6725f3a0c2b1a4e5f6a7b802';

function scopeOf(owner: string | null): MessageScope | null {
  if (owner === null) return null;
  return {
    owner,
    conversations: anyIdForm(conversations.filter((c) => idString(c.user_id!) === owner).map((c) => idString(c._id))),
  };
}

/** Every page of a listing, walked with the cursor of each page's last image, as the resolver hands it out. */
async function walk(
  docsIn: MessageDoc[],
  owner: string | null,
  filter: ImageFilter,
  first: number,
  now = new Date(),
): Promise<{ ids: string[]; pages: number; windows: number }> {
  const ownerOf = messageOwners(conversations, null);
  const ids: string[] = [];
  let after: { t: number; id: string } | null = null;
  let pages = 0;
  let windows = 0;
  for (;;) {
    pages++;
    type Row = MessageDoc & { images: ImageDoc; image_index: number };
    const rows: Row[] = await listImageRows<Row>(scopeOf(owner), filter, { first, after }, now, async (pipeline) => {
      windows++;
      return run<Row>(pipeline, docsIn);
    });
    const images: ImageRecord[] = rows.map((r) => docToImage(r.images, parentOf(r, ownerOf(r)), r.image_index));
    ids.push(...images.slice(0, first).map((i) => i.id));
    if (images.length <= first) return { ids, pages, windows };
    const last: ImageRecord = images[first - 1]!;
    after = { t: last.uploadedAt.getTime(), id: last.id };
  }
}

function expectedOrder(
  docsIn: MessageDoc[],
  owner: string | null,
  filter: (i: ImageRecord) => boolean = () => true,
): string[] {
  return records(docsIn)
    .filter((i) => (owner === null || i.userId === owner) && filter(i))
    .sort((a, b) => b.uploadedAt.getTime() - a.uploadedAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((i) => i.id);
}

describe('MongoDB image listing by windows of time, evaluated in memory', () => {
  const docsIn = history();

  it("pages an owner's images newest first exactly as one sort of all of them would, seed and ours, across every page size", async () => {
    const expected = expectedOrder(docsIn, 'alice');
    expect(expected.length).toBeGreaterThan(40);
    for (const first of [1, 3, 20, 100]) {
      const { ids } = await walk(docsIn, 'alice', {}, first);
      expect(ids).toEqual(expected);
    }
  });

  it("never shows another owner's images, and gives an admin everyone's", async () => {
    const bob = await walk(docsIn, 'bob', {}, 5);
    expect(bob.ids).toEqual(expectedOrder(docsIn, 'bob'));
    expect(bob.ids.length).toBeGreaterThan(5);
    const alice = new Set((await walk(docsIn, 'alice', {}, 50)).ids);
    for (const id of bob.ids) expect(alice.has(id)).toBe(false);
    expect((await walk(docsIn, null, {}, 25)).ids).toEqual(expectedOrder(docsIn, null));
    // A seed message without user_id is its conversation owner's: naming bob's conversation in
    // the filter does not make it alice's.
    const bobsSeed: MessageDoc = {
      _id: new ObjectId(),
      conversation_id: new ObjectId(SEED_BOB_CONVERSATION),
      role: 'user',
      images: [{ url: '/static/Storage/uploads/bob.jpg', uploaded_at: '2025-06-01T00:00:00' }],
    };
    const withBobs = [...docsIn, bobsSeed];
    expect((await walk(withBobs, 'alice', { conversationId: SEED_BOB_CONVERSATION }, 10)).ids).toEqual([]);
    expect((await walk(withBobs, 'bob', { conversationId: SEED_BOB_CONVERSATION }, 10)).ids).toEqual(
      expectedOrder(withBobs, 'bob'),
    );
    expect(expectedOrder(withBobs, 'bob')).toHaveLength(bob.ids.length + 1);
  });

  it('applies the filter (dates, generated, conversation) before the page, and counts what it lists', async () => {
    const after = new Date(Date.UTC(2025, 5, 1, 0, 10));
    const before = new Date(Date.UTC(2025, 5, 1, 0, 30));
    const filter: ImageFilter = { uploadedAfter: after, uploadedBefore: before, generated: true };
    const want = expectedOrder(docsIn, 'alice', (i) => i.generated && i.uploadedAt >= after && i.uploadedAt < before);
    expect(want.length).toBeGreaterThan(2);
    expect((await walk(docsIn, 'alice', filter, 2)).ids).toEqual(want);
    expect(run<{ n: number }>(countImagesPipeline(scopeOf('alice'), filter), docsIn)).toEqual([{ n: want.length }]);
    const inConversation = expectedOrder(docsIn, 'alice', (i) => i.conversationId === SEED_ALICE_CONVERSATION);
    expect((await walk(docsIn, 'alice', { conversationId: SEED_ALICE_CONVERSATION }, 10)).ids).toEqual(inConversation);
  });

  it('lists an image lying exactly on the edge between two windows once', async () => {
    const now = new Date(Date.UTC(2025, 5, 1, 5));
    const edge = new Date(now.getTime() - FIRST_WINDOW_MS);
    const onEdge: MessageDoc = {
      _id: new ObjectId(),
      conversation_id: new ObjectId(SEED_ALICE_CONVERSATION),
      user_id: 'alice',
      images: [{ _id: new ObjectId(), url: 'uploads/edge.jpg', uploaded_at: edge, replication: { status: 'PENDING' } }],
    };
    const withEdge = [...docsIn, onEdge];
    const { ids } = await walk(withEdge, 'alice', {}, 7, now);
    expect(ids.filter((id) => id === idString(onEdge.images![0]!._id!))).toHaveLength(1);
    expect(ids).toEqual(expectedOrder(withEdge, 'alice'));
  });

  it('reads few windows for a page of a bunched history, and a bounded number for a sparse one', async () => {
    // The newest forty images lie within an hour of each other: the first page needs few windows.
    const dense = await listImageRows(
      scopeOf('alice'),
      {},
      { first: 10, after: null },
      new Date(Date.UTC(2025, 5, 1, 0, 40)),
      async (p) => run(p, docsIn),
    );
    expect(dense).toHaveLength(11);
    let windows = 0;
    await listImageRows(
      scopeOf('carol'),
      {},
      { first: 10, after: null },
      new Date(),
      async (p) => (windows++, run(p, docsIn)),
    );
    expect(windows).toBeLessThanOrEqual(12);
    const { pages } = await walk(docsIn, 'alice', {}, 100);
    expect(pages).toBe(1);
  });
});

describe('MongoDB image counts kept in the message, evaluated in memory', () => {
  function counts(docsIn: MessageDoc[], ids: string[]): Map<string, number> {
    const { counted, measured } = imageCountsPipelines(ids);
    const out = new Map(ids.map((id) => [id, 0]));
    for (const r of [
      ...run<{ _id: ObjectId | string; n: number }>(counted, docsIn),
      ...run<{ _id: ObjectId | string; n: number }>(measured, docsIn),
    ]) {
      const id = idString(r._id);
      if (out.has(id)) out.set(id, out.get(id)! + r.n);
    }
    return out;
  }
  function expectedCounts(docsIn: MessageDoc[], ids: string[]): Map<string, number> {
    const images = records(docsIn);
    return new Map(ids.map((id) => [id, images.filter((i) => i.conversationId === id).length]));
  }

  it('counts seed messages (no image_count) from their images and ours from image_count, both id forms together', () => {
    const docsIn = history();
    const ids = [SEED_ALICE_CONVERSATION, SEED_BOB_CONVERSATION, new ObjectId().toHexString()];
    expect(counts(docsIn, ids)).toEqual(expectedCounts(docsIn, ids));
    expect(counts(docsIn, ids).get(SEED_ALICE_CONVERSATION)).toBeGreaterThan(30);
    // Only messages without image_count are measured: the others are summed from the index.
    const measured = run<{ n: number }>(imageCountsPipelines([SEED_ALICE_CONVERSATION]).measured, docsIn);
    const uncounted = docsIn.filter((d) => d.image_count == null);
    expect(uncounted.length).toBeGreaterThan(seedMessages.length);
    expect(measured.reduce((n, r) => n + r.n, 0)).toBe(
      records(uncounted).filter((i) => i.conversationId === SEED_ALICE_CONVERSATION).length,
    );
  });

  it('keeps image_count equal to the images through pushes and pulls, on seed messages with images missing, null or present', () => {
    const conversation = makeConversation({ userId: 'alice' });
    const message = makeMessage(conversation);
    const textOnly: MessageDoc = {
      _id: new ObjectId(),
      conversation_id: conversation.id,
      user_id: 'alice',
      role: 'user',
      content: 'hi',
    };
    const nullImages: MessageDoc = { ...textOnly, _id: new ObjectId(), images: null };
    const seed = structuredClone(seedMessages[0]!);
    const ours = messageToDoc({ ...message, images: [makeImage(message)] });
    expect(ours.image_count).toBe(1);
    const docsIn = [textOnly, nullImages, seed, ours];
    const image = makeImage(message, { caption: '$5 pizza, {"$gt": 1}' });
    // mingo may replace a document rather than change it: each is looked up again by position.
    for (const d of [...docsIn])
      expect(updateOne(docsIn, { _id: d._id }, pushImageUpdate(imageToDoc(image)) as never).matchedCount).toBe(1);
    for (const d of docsIn) {
      expect(d.image_count).toBe(d.images!.length);
      expect(d.images!.at(-1)).toMatchObject({ caption: '$5 pizza, {"$gt": 1}' });
    }
    expect(docsIn[0]!.images).toHaveLength(1);
    expect(docsIn[1]!.images).toHaveLength(1);
    expect(docsIn[2]!.images).toHaveLength(seedMessages[0]!.images!.length + 1);
    const pulled = updateOne(docsIn, { _id: seed._id }, pullImageUpdate(idMatch([image.id]).$in) as never);
    expect(pulled.modifiedCount).toBe(1);
    // Only the pulled image went: the seed's elements (no _id) were never taken for it.
    expect(docsIn[2]!.images).toEqual(seedMessages[0]!.images);
    expect(docsIn[2]!.image_count).toBe(seedMessages[0]!.images!.length);
    expect(counts(docsIn, [conversation.id])).toEqual(new Map([[conversation.id, 4]]));
    expect(counts(docsIn, [conversation.id])).toEqual(expectedCounts(docsIn, [conversation.id]));
  });
});
