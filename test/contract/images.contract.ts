import { expect, it } from 'vitest';
import type { ImageFilter, ImageRecord, Message } from '../../src/domain/types.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import {
  at,
  byTimeDescId,
  makeConversation,
  makeImage,
  makeMessage,
  newId,
  scramble,
  walkPages,
  type ImageOverrides,
} from '../support/factories.js';
import type { StoreRef } from './metadata-store.contract.js';

/** A conversation with one message carrying images made from `overrides`, stored. */
async function seedMessage(
  store: MetadataStore,
  userId: string,
  overrides: ImageOverrides[] = [],
  conversationId?: string,
): Promise<Message> {
  const conversation = makeConversation({ userId, ...(conversationId ? { id: conversationId } : {}) });
  if (!conversationId) await store.createConversation(conversation);
  const message = makeMessage(conversation);
  const withImages = { ...message, images: overrides.map((o) => makeImage(message, o)) };
  await store.addMessage(withImages);
  return withImages;
}

const ids = (images: readonly ImageRecord[]) => images.map((i) => i.id);

export function imageCases(ref: StoreRef): void {
  it('stores the images of a message in insertion order with every field intact', async () => {
    const message = await seedMessage(ref.store, 'alice', [
      {
        cloudUrl: 'https://i.postimg.cc/abc/x.png',
        deleteUrl: 'https://postimg.cc/delete/abc/secret',
        caption: 'a lighthouse',
        generated: true,
        service: 'POSTIMAGES',
        placeholder: 'data:image/webp;base64,AAAA',
        mimeType: 'image/jpeg',
        size: 123_456,
        width: 1024,
        height: 768,
        replication: {
          status: 'REPLICATED',
          attempts: 2,
          lastError: 'timeout',
          nextAttemptAt: at(9),
          leaseOwner: 'w',
          leaseUntil: at(10),
        },
      },
      { localKey: null, thumbnailKey: null, uploadedAt: at(1) },
      { caption: 'third' },
    ]);

    expect(await ref.store.getMessagesByIds([message.id])).toEqual([message]);
    const found = await ref.store.getImagesByIds([message.images[2]!.id, message.images[0]!.id, newId()]);
    expect(found.sort((a, b) => a.size - b.size || (a.caption ?? '').localeCompare(b.caption ?? ''))).toEqual([
      message.images[2],
      message.images[0],
    ]);
    expect(await ref.store.getImagesByIds([])).toEqual([]);
  });

  it('addImage appends to an existing message, keeping the order', async () => {
    const message = await seedMessage(ref.store, 'alice', [{ caption: 'first' }, { caption: 'second' }]);
    const third = makeImage(message, { caption: 'third', uploadedAt: at(-5) });
    await ref.store.addImage(message.id, third);
    const bare = await seedMessage(ref.store, 'alice');
    const only = makeImage(bare);
    await ref.store.addImage(bare.id, only);

    const [withThree] = await ref.store.getMessagesByIds([message.id]);
    expect(withThree!.images).toEqual([...message.images, third]);
    expect((await ref.store.getMessagesByIds([bare.id]))[0]!.images).toEqual([only]);
  });

  it('addImage to a missing message throws and stores nothing', async () => {
    const orphan = makeImage({ id: newId(), conversationId: newId(), userId: 'alice' });
    await expect(ref.store.addImage(orphan.messageId, orphan)).rejects.toThrow();
    expect(await ref.store.getImagesByIds([orphan.id])).toEqual([]);
  });

  it('updateImage merges replication fields one by one and leaves the rest untouched', async () => {
    const message = await seedMessage(ref.store, 'alice', [
      {
        replication: {
          status: 'RETRYING',
          attempts: 1,
          nextAttemptAt: at(50),
          lastError: 'HTTP 503',
          leaseOwner: 'w1',
          leaseUntil: at(60),
        },
      },
    ]);
    const before = message.images[0]!;

    expect(
      await ref.store.updateImage(before.id, {
        cloudUrl: 'https://i.ibb.co/x/y.png',
        service: 'IMGBB',
        replication: { status: 'REPLICATED', attempts: 2 },
      }),
    ).toBe(true);
    const [afterMerge] = await ref.store.getImagesByIds([before.id]);
    expect(afterMerge).toEqual({
      ...before,
      cloudUrl: 'https://i.ibb.co/x/y.png',
      service: 'IMGBB',
      replication: { ...before.replication, status: 'REPLICATED', attempts: 2 },
    });

    // A key present with null clears it; absent keys still stay.
    expect(
      await ref.store.updateImage(before.id, {
        localKey: null,
        replication: { lastError: null, leaseOwner: null, leaseUntil: null },
      }),
    ).toBe(true);
    const [cleared] = await ref.store.getImagesByIds([before.id]);
    expect(cleared).toEqual({
      ...afterMerge,
      localKey: null,
      replication: { ...afterMerge!.replication, lastError: null, leaseOwner: null, leaseUntil: null },
    });
    expect((await ref.store.getMessagesByIds([message.id]))[0]!.images).toEqual([cleared]);
    expect(await ref.store.updateImage(newId(), { caption: 'nobody' })).toBe(false);
  });

  it('updateImage with a guard applies only for the lease holder', async () => {
    const message = await seedMessage(ref.store, 'alice', [{}]);
    const id = message.images[0]!.id;
    const [claimed] = await ref.store.claimDueImages({
      now: at(10_000),
      leaseOwner: 'holder',
      leaseMs: 60_000,
      limit: 10,
    });
    expect(claimed!.id).toBe(id);

    expect(
      await ref.store.updateImage(
        id,
        { cloudUrl: 'https://x/1.png', replication: { status: 'REPLICATED' } },
        { leaseOwner: 'intruder' },
      ),
    ).toBe(false);
    expect(await ref.store.getImagesByIds([id])).toEqual([claimed]);
    expect(
      await ref.store.updateImage(
        id,
        { cloudUrl: 'https://x/2.png', replication: { status: 'REPLICATED' } },
        { leaseOwner: 'holder' },
      ),
    ).toBe(true);
    const [updated] = await ref.store.getImagesByIds([id]);
    expect(updated!.cloudUrl).toBe('https://x/2.png');
    expect(updated!.replication.status).toBe('REPLICATED');
  });

  it('removeImage removes the record once and keeps its message', async () => {
    const message = await seedMessage(ref.store, 'alice', [{ caption: 'keep' }, { caption: 'drop' }]);
    const [keep, drop] = message.images;
    expect(await ref.store.removeImage(drop!.id)).toBe(true);
    expect(await ref.store.removeImage(drop!.id)).toBe(false);
    expect(await ref.store.getImagesByIds([drop!.id])).toEqual([]);
    expect(await ref.store.getMessagesByIds([message.id])).toEqual([{ ...message, images: [keep] }]);
  });

  it('filters images by each ImageFilter field and by combinations, within the owner', async () => {
    const conversationA = makeConversation();
    await ref.store.createConversation(conversationA);
    const m1 = await seedMessage(ref.store, 'alice', [
      { generated: true, service: 'POSTIMAGES', size: 100, uploadedAt: at(0) },
      { generated: false, service: 'IMGBB', size: 200, uploadedAt: at(1000) },
    ]);
    const m2 = await seedMessage(ref.store, 'alice', [
      { generated: false, service: 'LOCAL', size: 300, uploadedAt: at(2000) },
      { generated: true, service: 'POSTIMAGES', size: 400, uploadedAt: at(3000) },
    ]);
    const [bobs] = (
      await seedMessage(ref.store, 'bob', [{ generated: true, service: 'POSTIMAGES', size: 200, uploadedAt: at(1000) }])
    ).images;
    const [i1, i2] = m1.images;
    const [i3, i4] = m2.images;
    const list = async (owner: string | null, filter: ImageFilter) => {
      const page = await ref.store.listImages(owner, filter, { first: 100, after: null });
      expect(page.totalCount).toBe(page.items.length);
      return ids(page.items);
    };

    expect(await list('alice', {})).toEqual(ids([i4!, i3!, i2!, i1!]));
    expect(await list('alice', { conversationId: m1.conversationId })).toEqual(ids([i2!, i1!]));
    expect(await list('alice', { generated: true })).toEqual(ids([i4!, i1!]));
    expect(await list('alice', { generated: false })).toEqual(ids([i3!, i2!]));
    expect(await list('alice', { service: 'POSTIMAGES' })).toEqual(ids([i4!, i1!]));
    expect(await list('alice', { minSize: 200 })).toEqual(ids([i4!, i3!, i2!]));
    expect(await list('alice', { maxSize: 300 })).toEqual(ids([i3!, i2!, i1!]));
    expect(await list('alice', { uploadedAfter: at(1000) })).toEqual(ids([i4!, i3!, i2!]));
    expect(await list('alice', { uploadedBefore: at(3000) })).toEqual(ids([i3!, i2!, i1!]));
    expect(
      await list('alice', {
        generated: false,
        minSize: 200,
        maxSize: 300,
        uploadedAfter: at(1000),
        uploadedBefore: at(2000),
      }),
    ).toEqual(ids([i2!]));
    expect(await list('alice', { conversationId: m2.conversationId, service: 'POSTIMAGES' })).toEqual(ids([i4!]));
    expect(
      await list('alice', {
        conversationId: null,
        generated: null,
        service: null,
        minSize: null,
        maxSize: null,
        uploadedAfter: null,
        uploadedBefore: null,
      }),
    ).toHaveLength(4);
    expect(await list('alice', { conversationId: conversationA.id })).toEqual([]);

    expect(await list('bob', {})).toEqual(ids([bobs!]));
    expect(await list('bob', { conversationId: m1.conversationId })).toEqual([]);
    expect(await list(null, { service: 'POSTIMAGES' })).toEqual(ids([i4!, bobs!, i1!]));
    expect(await list(null, {})).toHaveLength(5);
  });

  it('scans every matching image exactly once, a slice at a time, with updates made during the walk', async () => {
    // Several messages of two owners, many images each, spread over time and services.
    const alice: ImageRecord[] = [];
    for (let m = 0; m < 5; m++) {
      const message = await seedMessage(
        ref.store,
        'alice',
        Array.from({ length: 3 + m }, (_, i) => ({
          size: 100 * (i + 1),
          service: i % 2 === 0 ? ('POSTIMAGES' as const) : ('LOCAL' as const),
          uploadedAt: at(1000 * ((m * 7 + i * 3) % 11)),
        })),
      );
      alice.push(...message.images);
    }
    const bob = (await seedMessage(ref.store, 'bob', [{}, {}])).images;
    const scan = async (
      owner: string | null,
      filter: ImageFilter,
      limit: number,
      during?: (image: ImageRecord) => Promise<void>,
    ) => {
      const seen: string[] = [];
      let after: string | null = null;
      let slices = 0;
      do {
        const slice = await ref.store.scanImages(owner, filter, after, limit);
        expect(slice.items.length).toBeLessThanOrEqual(limit * 8);
        for (const image of slice.items) {
          seen.push(image.id);
          await during?.(image);
        }
        after = slice.next;
        expect(++slices).toBeLessThan(100);
      } while (after !== null);
      return seen;
    };
    const listed = async (owner: string | null, filter: ImageFilter) =>
      ids((await ref.store.listImages(owner, filter, { first: 100, after: null })).items).sort();

    for (const limit of [1, 2, 3, 100]) {
      const seen = await scan('alice', {}, limit);
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual(ids(alice).sort());
    }
    for (const filter of [
      { service: 'POSTIMAGES' as const },
      { minSize: 300 },
      { uploadedBefore: at(5000) },
      { uploadedAfter: at(5000), maxSize: 400 },
      { conversationId: alice[0]!.conversationId },
    ]) {
      expect((await scan('alice', filter, 2)).sort(), JSON.stringify(filter)).toEqual(await listed('alice', filter));
    }
    expect((await scan(null, {}, 2)).sort()).toEqual([...ids(alice), ...ids(bob)].sort());
    expect((await scan('bob', {}, 2)).sort()).toEqual(ids(bob).sort());
    expect(await scan('carol', {}, 2)).toEqual([]);

    // A walk that changes what it walks (cleanup evicting, a requeue) still sees each image once.
    const changed = await scan('alice', { service: 'POSTIMAGES' }, 2, async (image) => {
      expect(
        await ref.store.updateImage(image.id, {
          localKey: null,
          evictedKey: image.localKey,
          replication: { status: 'PENDING' },
        }),
      ).toBe(true);
    });
    expect(changed.sort()).toEqual(ids(alice.filter((i) => i.service === 'POSTIMAGES')).sort());
  });

  it('pages images newest first, stable by id when many share a timestamp', async () => {
    const overrides = Array.from({ length: 11 }, (_, i) => ({ uploadedAt: at([7, 7, 7, 3, 3, 3, 3, 9, 9, 7, 3][i]!) }));
    const a = await seedMessage(ref.store, 'alice', scramble(overrides.slice(0, 6)));
    const b = await seedMessage(ref.store, 'alice', scramble(overrides.slice(6)));
    await seedMessage(ref.store, 'bob', [{ uploadedAt: at(7) }]);
    const expected = [...a.images, ...b.images].sort(byTimeDescId((i) => i.uploadedAt));

    const pages = await walkPages(
      4,
      (p) => ref.store.listImages('alice', {}, p),
      (i) => ({ t: i.uploadedAt.getTime(), id: i.id }),
    );
    expect(pages.flatMap((p) => p.items)).toEqual(expected);
    expect(pages.map((p) => p.items.length)).toEqual([4, 4, 3]);
    expect(pages.map((p) => p.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((p) => p.totalCount)).toEqual([11, 11, 11]);
  });

  it('counts images per conversation, with 0 for conversations without images', async () => {
    const two = await seedMessage(ref.store, 'alice', [{}, {}]);
    await seedMessage(ref.store, 'alice', [{}], two.conversationId);
    const one = await seedMessage(ref.store, 'bob', [{}]);
    const none = await seedMessage(ref.store, 'alice', []);
    const unknown = newId();

    const counts = await ref.store.countImagesByConversation([
      two.conversationId,
      one.conversationId,
      none.conversationId,
      unknown,
    ]);
    expect(Object.fromEntries(counts)).toEqual({
      [two.conversationId]: 3,
      [one.conversationId]: 1,
      [none.conversationId]: 0,
      [unknown]: 0,
    });
  });

  it('reports storage stats per owner and for the admin', async () => {
    await seedMessage(ref.store, 'alice', [
      { size: 100, service: 'LOCAL', replication: { status: 'PENDING' } },
      { size: 200, service: 'IMGBB', replication: { status: 'REPLICATED' } },
      { size: 400, service: 'POSTIMAGES', localKey: null, replication: { status: 'REPLICATED' } },
      { size: 800, service: 'LOCAL', replication: { status: 'RETRYING' } },
    ]);
    await seedMessage(ref.store, 'bob', [{ size: 1600, service: 'LOCAL', replication: { status: 'LOCAL_ONLY' } }]);

    expect(await ref.store.storageStats('alice')).toEqual({
      imageCount: 4,
      totalBytes: 1500,
      localBytes: 1100,
      byService: [
        { service: 'POSTIMAGES', count: 1, bytes: 400 },
        { service: 'IMGBB', count: 1, bytes: 200 },
        { service: 'LOCAL', count: 2, bytes: 900 },
      ],
      pendingReplication: 2,
    });
    expect(await ref.store.storageStats('bob')).toEqual({
      imageCount: 1,
      totalBytes: 1600,
      localBytes: 1600,
      byService: [{ service: 'LOCAL', count: 1, bytes: 1600 }],
      pendingReplication: 0,
    });
    const admin = await ref.store.storageStats(null);
    expect(admin).toMatchObject({ imageCount: 5, totalBytes: 3100, localBytes: 2700, pendingReplication: 2 });
    expect(admin.byService.map((s) => [s.service, s.count, s.bytes])).toEqual([
      ['POSTIMAGES', 1, 400],
      ['IMGBB', 1, 200],
      ['LOCAL', 3, 2500],
    ]);
    expect(await ref.store.storageStats('carol')).toEqual({
      imageCount: 0,
      totalBytes: 0,
      localBytes: 0,
      byService: [],
      pendingReplication: 0,
    });
  });

  it("finds the owner's newest replicated image with given bytes", async () => {
    const sha = 'a'.repeat(64);
    const replicated = {
      sha256: sha,
      cloudUrl: 'https://i.ibb.co/old.png',
      replication: { status: 'REPLICATED' as const },
    };
    const message = await seedMessage(ref.store, 'alice', [
      { ...replicated, uploadedAt: at(1) },
      { ...replicated, cloudUrl: 'https://i.ibb.co/new.png', uploadedAt: at(2) },
      { sha256: sha, uploadedAt: at(3), replication: { status: 'PENDING' } },
      { ...replicated, cloudUrl: null, uploadedAt: at(4) },
    ]);
    await seedMessage(ref.store, 'bob', [{ ...replicated, sha256: 'b'.repeat(64), uploadedAt: at(5) }]);

    expect(await ref.store.findReplicatedBySha256('alice', sha)).toEqual(message.images[1]);
    expect(await ref.store.findReplicatedBySha256('alice', 'b'.repeat(64))).toBeNull();
    expect(await ref.store.findReplicatedBySha256('bob', sha)).toBeNull();
    expect(await ref.store.findReplicatedBySha256('alice', 'c'.repeat(64))).toBeNull();
  });

  it('finds an image by the key of its original or of its thumbnail', async () => {
    const message = await seedMessage(ref.store, 'alice', [
      {
        localKey: 'uploads/img_20260101_000000_aaaaaaaa.png',
        thumbnailKey: 'thumbnails/thumb_img_20260101_000000_aaaaaaaa.webp',
      },
      {
        localKey: 'Image_Gen/img_20260101_000000_bbbbbbbb.png',
        thumbnailKey: 'thumbnails/thumb_img_20260101_000000_bbbbbbbb.webp',
      },
    ]);
    const [first, second] = message.images;
    expect(await ref.store.findImageByFileKey('uploads/img_20260101_000000_aaaaaaaa.png')).toEqual(first);
    expect(await ref.store.findImageByFileKey('thumbnails/thumb_img_20260101_000000_bbbbbbbb.webp')).toEqual(second);
    expect(await ref.store.findImageByFileKey('uploads/img_20260101_000000_cccccccc.png')).toBeNull();
    await ref.store.removeImage(first!.id);
    expect(await ref.store.findImageByFileKey('uploads/img_20260101_000000_aaaaaaaa.png')).toBeNull();
  });
}
