import { describe, it, expect, vi } from 'vitest';
import { ProviderError } from '../../src/cloud/provider.js';
import { AttemptError, NotFoundError } from '../../src/domain/errors.js';
import type { DeletionJob, ImageRecord } from '../../src/domain/types.js';
import type { Viewer } from '../../src/domain/viewer.js';
import { at } from '../support/factories.js';
import {
  elapse,
  newDeletionTestService,
  peekDeletions,
  scriptedRandom,
  seedImages,
  storedImage,
  useTestServices,
} from '../support/service.js';

useTestServices();

const alice: Viewer = { userId: 'alice', isAdmin: false };
const bob: Viewer = { userId: 'bob', isAdmin: false };

const CLOUD = {
  service: 'POSTIMAGES' as const,
  cloudUrl: 'https://i.postimg.cc/abc/original.png',
  deleteUrl: 'https://postimg.cc/delete/abc/secret',
  replication: { status: 'REPLICATED' as const, attempts: 1 },
};

/** The job deleteImage would have stored for `image`, as a crash right after beginDeletion leaves it. */
function jobFor(image: ImageRecord, o: Partial<DeletionJob> = {}): DeletionJob {
  return {
    imageId: image.id,
    userId: image.userId,
    localKeys: [image.localKey!, image.thumbnailKey!],
    cloud: { service: image.service, url: image.cloudUrl!, deleteUrl: image.deleteUrl! },
    cloudDeleted: false,
    requestedAt: at(0),
    attempts: 0,
    nextAttemptAt: null,
    lastError: null,
    leaseOwner: null,
    leaseUntil: null,
    ...o,
  };
}

describe('DeletionService.deleteImage', () => {
  it("someone else's image is NOT_FOUND and nothing of it is deleted", async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });

    const attempt = t.sut.deleteImage(bob, image!.id);

    await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
    await expect(attempt).rejects.toMatchObject({ code: 'NOT_FOUND', message: `Image "${image!.id}" was not found.` });
    expect(await storedImage(t.store, image!.id)).toEqual(image);
    expect(peekDeletions(t.path)).toEqual([]);
    expect(t.cloud.calls).toEqual([]);
    expect(t.files.deleted).toEqual([]);
  });

  it('an id that does not exist gets the same NOT_FOUND', async () => {
    const t = await newDeletionTestService();
    await expect(t.sut.deleteImage(alice, 'ffffffffffffffffffffffff')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'Image "ffffffffffffffffffffffff" was not found.',
    });
  });

  it("its owner's delete removes the record, the cloud copy and both local files at once, and finishes the job", async () => {
    const t = await newDeletionTestService();
    const [image, other] = await seedImages(t.store, [CLOUD, {}], { files: t.files });

    await expect(t.sut.deleteImage(alice, image!.id)).resolves.toEqual({
      deletedImageId: image!.id,
      localDeleted: true,
      cloudDeleted: true,
    });

    expect(await t.store.getImagesByIds([image!.id, other!.id])).toEqual([other]);
    expect(t.cloud.calls).toEqual([
      { service: 'POSTIMAGES', copy: { url: CLOUD.cloudUrl, deleteUrl: CLOUD.deleteUrl } },
    ]);
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey]);
    expect(t.files.has(other!.localKey!)).toBe(true);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it("a cloud URL another image still shows (a twin's) is kept; the local files go", async () => {
    const t = await newDeletionTestService();
    const [image, twin] = await seedImages(t.store, [CLOUD, CLOUD], { files: t.files });

    const result = await t.sut.deleteImage(alice, image!.id);

    expect(result).toEqual({ deletedImageId: image!.id, localDeleted: true, cloudDeleted: false });
    expect(t.cloud.calls).toEqual([]);
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey]);
    expect(await storedImage(t.store, twin!.id)).toEqual(twin);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it('a provider that offers no deletion (ImgBB) is not asked; the local files go', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [{ ...CLOUD, service: 'IMGBB' }], { files: t.files });

    const result = await t.sut.deleteImage(alice, image!.id);

    expect(result).toMatchObject({ localDeleted: true, cloudDeleted: false });
    expect(t.cloud.calls).toEqual([]);
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey]);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it("a provider that keeps thumbnails has the thumbnail's copy deleted too", async () => {
    const t = await newDeletionTestService();
    const thumbUrl = 'https://s3.test/bucket/alice/thumb.webp';
    const [image] = await seedImages(
      t.store,
      [{ ...CLOUD, service: 'S3', cloudUrl: 'https://s3.test/bucket/alice/a.png', thumbnailCloudUrl: thumbUrl }],
      { files: t.files },
    );

    const result = await t.sut.deleteImage(alice, image!.id);

    expect(result.cloudDeleted).toBe(true);
    expect(t.cloud.calls).toEqual([
      { service: 'S3', copy: { url: 'https://s3.test/bucket/alice/a.png', deleteUrl: CLOUD.deleteUrl } },
      { service: 'S3', copy: { url: thumbUrl, deleteUrl: thumbUrl } },
    ]);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it('a thumbnail copy whose deletion fails stays a job of its own, and the worker finishes it', async () => {
    const t = await newDeletionTestService({ random: scriptedRandom([0]) });
    const thumbUrl = 'https://s3.test/bucket/alice/thumb.webp';
    const [image] = await seedImages(
      t.store,
      [{ ...CLOUD, service: 'S3', cloudUrl: 'https://s3.test/bucket/alice/a.png', thumbnailCloudUrl: thumbUrl }],
      { files: t.files },
    );
    t.cloud.failNext(null, new ProviderError('HTTP 503', true));

    const result = await t.sut.deleteImage(alice, image!.id);

    expect(result).toEqual({ deletedImageId: image!.id, localDeleted: true, cloudDeleted: false });
    const [job, ...others] = peekDeletions(t.path);
    expect(others).toEqual([]);
    expect(job).toMatchObject({
      imageId: `${image!.id}:thumbnail`,
      localKeys: [],
      cloud: { service: 'S3', url: thumbUrl, deleteUrl: thumbUrl },
      attempts: 1,
      lastError: 'cloud: HTTP 503',
    });

    t.clock.set(job!.nextAttemptAt!);
    expect(await t.sut.runOnce()).toBe(1);
    expect(t.cloud.calls.map((c) => c.copy.url)).toEqual(['https://s3.test/bucket/alice/a.png', thumbUrl, thumbUrl]);
    expect(peekDeletions(t.path)).toEqual([]);
  });
});

describe('DeletionService worker', () => {
  it('finishes a job a crashed delete left: the cloud copy, then the local files, then the job', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    expect(await t.store.beginDeletion(jobFor(image!))).toBe(true);

    expect(await t.sut.runOnce()).toBe(1);

    expect(t.cloud.calls).toEqual([
      { service: 'POSTIMAGES', copy: { url: CLOUD.cloudUrl, deleteUrl: CLOUD.deleteUrl } },
    ]);
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey]);
    expect(t.files.has(image!.localKey!)).toBe(false);
    expect(t.files.has(image!.thumbnailKey!)).toBe(false);
    expect(peekDeletions(t.path)).toEqual([]);
    expect(await t.sut.runOnce()).toBe(0);
  });

  it('a job another worker holds is left alone until its lease runs out', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    await t.store.beginDeletion(jobFor(image!, { leaseOwner: 'instance-b', leaseUntil: at(30_000) }));

    t.clock.set(at(29_999));
    expect(await t.sut.runOnce()).toBe(0);
    expect(t.cloud.calls).toEqual([]);

    t.clock.set(at(30_000));
    expect(await t.sut.runOnce()).toBe(1);
    expect(t.cloud.calls).toHaveLength(1);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it.each([
    ['a retryable ProviderError', () => new ProviderError('HTTP 503', true, { status: 503 })],
    ['a retryable AttemptError', () => new AttemptError('HTTP 503', true)],
  ])('%s leaves the job due after the backoff; a pass once the clock gets there finishes it', async (_name, error) => {
    const t = await newDeletionTestService({ random: scriptedRandom([0.5]) });
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    t.cloud.failNext(error());

    const result = await t.sut.deleteImage(alice, image!.id);

    expect(result).toEqual({ deletedImageId: image!.id, localDeleted: true, cloudDeleted: false });
    // Attempt 1 of base 1000 waits 500..1000 ms; random 0.5: 750 ms.
    const dueAt = new Date(t.clock.ms() + 750);
    expect(peekDeletions(t.path)).toEqual([
      jobFor(image!, {
        localKeys: [],
        attempts: 1,
        nextAttemptAt: dueAt,
        lastError: 'cloud: HTTP 503',
        leaseOwner: null,
        leaseUntil: null,
      }),
    ]);

    t.clock.set(new Date(dueAt.getTime() - 1));
    expect(await t.sut.runOnce()).toBe(0);
    expect(t.cloud.calls).toHaveLength(1);

    t.clock.set(dueAt);
    expect(await t.sut.runOnce()).toBe(1);
    expect(t.cloud.calls).toHaveLength(2);
    expect(t.cloud.calls[1]).toEqual(t.cloud.calls[0]);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it.each([
    ['a non-retryable ProviderError', () => new ProviderError('HTTP 403', false, { status: 403 })],
    ['a non-retryable AttemptError', () => new AttemptError('refused', false)],
    ['an error that says nothing (plain Error)', () => new Error('unexpected answer')],
  ])('%s is not retried; the local files are still removed and the job finishes', async (_name, error) => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    t.cloud.failNext(error());

    const result = await t.sut.deleteImage(alice, image!.id);

    expect(result).toEqual({ deletedImageId: image!.id, localDeleted: true, cloudDeleted: false });
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey]);
    expect(peekDeletions(t.path)).toEqual([]);
    t.clock.advance(24 * 3_600_000);
    expect(await t.sut.runOnce()).toBe(0);
    expect(t.cloud.calls).toHaveLength(1);
  });

  it('after a non-retryable cloud failure, a job kept for a local file retries only the local file', async () => {
    const t = await newDeletionTestService({ random: scriptedRandom([0]) });
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    t.cloud.failNext(new ProviderError('HTTP 403', false));
    t.files.failing.set(image!.thumbnailKey!, new Error('EBUSY'));

    const result = await t.sut.deleteImage(alice, image!.id);

    expect(result).toMatchObject({ localDeleted: false, cloudDeleted: false });
    const [job] = peekDeletions(t.path);
    expect(job).toMatchObject({
      cloud: null,
      localKeys: [image!.thumbnailKey],
      attempts: 1,
      lastError: `cloud: HTTP 403; local ${image!.thumbnailKey}: EBUSY`,
    });

    t.files.failing.clear();
    t.clock.set(job!.nextAttemptAt!);
    expect(await t.sut.runOnce()).toBe(1);
    expect(t.cloud.calls).toHaveLength(1);
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey, image!.thumbnailKey]);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it('a cloud copy another image shows by the time the worker runs is kept', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    await t.store.beginDeletion(jobFor(image!));
    // The same bytes uploaded again since (s3: the same content-addressed object), by another image.
    await seedImages(t.store, [CLOUD]);

    expect(await t.sut.runOnce()).toBe(1);

    expect(t.cloud.calls).toEqual([]);
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey]);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it('an orphaned cloud copy (made for an image deleted meanwhile) becomes a job the worker deletes', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [{}], { files: t.files });
    const copy = { url: 'https://i.postimg.cc/orphan/a.png', deleteUrl: 'https://postimg.cc/delete/orphan' };

    await t.sut.deleteOrphanedCopy(image!, 'POSTIMAGES', copy);
    expect(peekDeletions(t.path)).toMatchObject([{ userId: 'alice', localKeys: [], cloud: { url: copy.url } }]);
    expect(await t.sut.runOnce()).toBe(1);

    expect(t.cloud.calls).toEqual([{ service: 'POSTIMAGES', copy }]);
    expect(t.files.deleted).toEqual([]);
    expect(peekDeletions(t.path)).toEqual([]);
  });
});

describe('DeletionService worker in the background (fake timers)', () => {
  it('a retried job is picked up by the poll after its nextAttemptAt', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const t = await newDeletionTestService({ random: scriptedRandom([0]), options: { pollMs: 1_000 } });
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    t.cloud.failNext(new ProviderError('HTTP 503', true));
    await t.sut.deleteImage(alice, image!.id);
    const passes = vi.spyOn(t.sut, 'runOnce');

    t.sut.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(passes).toHaveBeenCalledTimes(1);
    expect(t.cloud.calls).toHaveLength(1);

    // Due 500 ms after the failure: the next poll, 1 s later, finishes it.
    await elapse(t.clock, 1_000);
    await t.sut.stop();
    expect(passes).toHaveBeenCalledTimes(2);
    expect(t.cloud.calls).toHaveLength(2);
    expect(peekDeletions(t.path)).toEqual([]);
  });
});
