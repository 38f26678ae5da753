import { expect, it } from 'vitest';
import type { DeletionJob, ImageRecord } from '../../src/domain/types.js';
import { at } from '../support/factories.js';
import type { StoreRef } from './metadata-store.contract.js';
import { seedQueue } from './replication.contract.js';

const NOW = at(60_000);

function jobFor(image: ImageRecord, o: Partial<DeletionJob> = {}): DeletionJob {
  return {
    imageId: image.id,
    userId: image.userId,
    localKeys: [image.localKey, image.thumbnailKey].filter((k): k is string => k !== null),
    cloud: {
      service: 'POSTIMAGES',
      url: 'https://i.postimg.cc/x/a.png',
      deleteUrl: 'https://postimg.cc/delete/x/secret',
    },
    cloudDeleted: false,
    requestedAt: at(1000),
    attempts: 0,
    nextAttemptAt: null,
    lastError: null,
    leaseOwner: null,
    leaseUntil: null,
    ...o,
  };
}

export function deletionCases(ref: StoreRef): void {
  it('beginDeletion removes the record and keeps the job; a second begin finds nothing', async () => {
    const [image, other] = await seedQueue(ref.store, [{}, {}]);
    expect(await ref.store.beginDeletion(jobFor(image!))).toBe(true);

    expect(await ref.store.getImagesByIds([image!.id, other!.id])).toEqual([other]);
    expect(await ref.store.findImageByFileKey(image!.localKey!)).toBeNull();
    expect(await ref.store.countPendingDeletions()).toBe(1);
    expect(await ref.store.beginDeletion(jobFor(image!))).toBe(false);
    expect(await ref.store.countPendingDeletions()).toBe(1);
  });

  it('beginDeletion of an image that never existed stores no job', async () => {
    const [image] = await seedQueue(ref.store, [{}]);
    expect(await ref.store.beginDeletion(jobFor({ ...image!, id: 'ffffffffffffffffffffffff' }))).toBe(false);
    expect(await ref.store.countPendingDeletions()).toBe(0);
    expect(await ref.store.getImagesByIds([image!.id])).toHaveLength(1);
  });

  it('of two concurrent deletions of one image exactly one wins', async () => {
    const [image] = await seedQueue(ref.store, [{}]);
    const results = await Promise.all([
      ref.store.beginDeletion(jobFor(image!)),
      ref.store.beginDeletion(jobFor(image!)),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await ref.store.countPendingDeletions()).toBe(1);
  });

  it('a delete after a begin that crashed takes its job over: no worker claims it meanwhile', async () => {
    const [image] = await seedQueue(ref.store, [{}]);
    // What a crash between writing the job and removing the record leaves (MongoDB's order).
    await ref.store.enqueueDeletion(jobFor(image!, { leaseOwner: 'crashed', leaseUntil: at(1000) }));
    expect(await ref.store.beginDeletion(jobFor(image!, { leaseOwner: 'me', leaseUntil: at(120_000) }))).toBe(true);
    expect(await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'worker', leaseMs: 10_000, limit: 10 })).toEqual(
      [],
    );
    expect(
      await ref.store.updateDeletion(
        jobFor(image!, { cloudDeleted: true, leaseOwner: 'me', leaseUntil: at(120_000) }),
        { leaseOwner: 'me' },
      ),
    ).toBe(true);
    expect(await ref.store.countPendingDeletions()).toBe(1);
  });

  it('a claim hands out each job once, even with a zero lease', async () => {
    const [a, b] = await seedQueue(ref.store, [{}, {}]);
    await ref.store.enqueueDeletion(jobFor(a!));
    await ref.store.enqueueDeletion(jobFor(b!));
    const claimed = await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'w', leaseMs: 0, limit: 5 });
    expect(claimed.map((j) => j.imageId).sort()).toEqual([a!.id, b!.id].sort());
  });

  it('claims due jobs with a lease, round-trips every field and honours the guard', async () => {
    const [a, b, c] = await seedQueue(ref.store, [{}, {}, {}]);
    await ref.store.beginDeletion(jobFor(a!));
    await ref.store.beginDeletion(jobFor(b!, { nextAttemptAt: at(120_000), cloud: null, cloudDeleted: true }));
    await ref.store.beginDeletion(jobFor(c!, { leaseOwner: 'inline', leaseUntil: at(90_000) }));

    const claimed = await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'w1', leaseMs: 10_000, limit: 10 });
    expect(claimed).toEqual([jobFor(a!, { leaseOwner: 'w1', leaseUntil: at(70_000) })]);
    expect(await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'w2', leaseMs: 10_000, limit: 10 })).toEqual([]);

    const later = await ref.store.claimDueDeletions({ now: at(130_000), leaseOwner: 'w2', leaseMs: 10_000, limit: 10 });
    expect(later.map((j) => j.imageId).sort()).toEqual([a!.id, b!.id, c!.id].sort());
    const jobB = later.find((j) => j.imageId === b!.id)!;
    expect(jobB.cloud).toBeNull();
    expect(jobB.cloudDeleted).toBe(true);

    const progressed = {
      ...jobB,
      localKeys: [],
      attempts: 1,
      lastError: 'disk busy',
      leaseOwner: null,
      leaseUntil: null,
    };
    expect(await ref.store.updateDeletion(progressed, { leaseOwner: 'w1' })).toBe(false);
    expect(await ref.store.updateDeletion(progressed, { leaseOwner: 'w2' })).toBe(true);
    const again = await ref.store.claimDueDeletions({ now: at(130_000), leaseOwner: 'w3', leaseMs: 10_000, limit: 10 });
    expect(again).toEqual([{ ...progressed, leaseOwner: 'w3', leaseUntil: at(140_000) }]);

    await ref.store.finishDeletion(b!.id);
    expect(await ref.store.countPendingDeletions()).toBe(2);
  });

  it('enqueueDeletion stores a job without touching any image record', async () => {
    const [image] = await seedQueue(ref.store, [{}]);
    await ref.store.enqueueDeletion(jobFor(image!, { imageId: 'orphan-copy', localKeys: [] }));
    expect(await ref.store.getImagesByIds([image!.id])).toHaveLength(1);
    const [job] = await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'w', leaseMs: 1000, limit: 5 });
    expect(job).toMatchObject({
      imageId: 'orphan-copy',
      localKeys: [],
      cloud: { deleteUrl: 'https://postimg.cc/delete/x/secret' },
    });
  });

  it('cloudUrlInUse tells whether another image shows a cloud URL', async () => {
    const url = 'https://i.postimg.cc/shared/a.png';
    const [a, b, c] = await seedQueue(ref.store, [
      { cloudUrl: url },
      { cloudUrl: url },
      { cloudUrl: 'https://i.postimg.cc/own/c.png' },
    ]);
    expect(await ref.store.cloudUrlInUse(url, a!.id)).toBe(true);
    expect(await ref.store.cloudUrlInUse(c!.cloudUrl!, c!.id)).toBe(false);
    await ref.store.removeImage(b!.id);
    expect(await ref.store.cloudUrlInUse(url, a!.id)).toBe(false);
  });

  it('cloudUrlInUse sees thumbnail copies too, set by a patch', async () => {
    const thumb = 's3://bucket/alice/abc.thumb.webp';
    const [a, b] = await seedQueue(ref.store, [
      { cloudUrl: 's3://bucket/alice/abc.png' },
      { cloudUrl: 's3://bucket/alice/abc.png' },
    ]);
    expect(await ref.store.cloudUrlInUse(thumb, 'nobody')).toBe(false);
    expect(await ref.store.updateImage(b!.id, { thumbnailCloudUrl: thumb })).toBe(true);
    expect((await ref.store.getImagesByIds([b!.id]))[0]!.thumbnailCloudUrl).toBe(thumb);
    expect(await ref.store.cloudUrlInUse(thumb, a!.id)).toBe(true);
    expect(await ref.store.cloudUrlInUse(thumb, b!.id)).toBe(false);
  });

  it('finds an image by the key of its evicted original, which a patch sets', async () => {
    const [image] = await seedQueue(ref.store, [{}]);
    const key = image!.localKey!;
    expect(await ref.store.updateImage(image!.id, { localKey: null, evictedKey: key })).toBe(true);
    const found = await ref.store.findImageByFileKey(key);
    expect(found).toMatchObject({ id: image!.id, localKey: null, evictedKey: key });
  });

  it('a claim with a limit of zero or less hands out nothing and leases nothing', async () => {
    const [a] = await seedQueue(ref.store, [{}]);
    await ref.store.enqueueDeletion(jobFor(a!));
    for (const limit of [0, -1])
      expect(await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'w1', leaseMs: 10_000, limit })).toEqual([]);
    expect(await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'w2', leaseMs: 10_000, limit: 1 })).toEqual([
      jobFor(a!, { leaseOwner: 'w2', leaseUntil: at(70_000) }),
    ]);
  });

  it('updateDeletion without a guard writes the job whoever holds its lease', async () => {
    const [a] = await seedQueue(ref.store, [{}]);
    await ref.store.enqueueDeletion(jobFor(a!));
    const [claimed] = await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'w1', leaseMs: 10_000, limit: 1 });
    const released = { ...claimed!, attempts: 1, lastError: 'disk busy', leaseOwner: null, leaseUntil: null };

    expect(await ref.store.updateDeletion(released)).toBe(true);
    expect(await ref.store.claimDueDeletions({ now: NOW, leaseOwner: 'w2', leaseMs: 10_000, limit: 1 })).toEqual([
      { ...released, leaseOwner: 'w2', leaseUntil: at(70_000) },
    ]);
    expect(await ref.store.updateDeletion({ ...released, imageId: 'ffffffffffffffffffffffff' })).toBe(false);
  });
}
