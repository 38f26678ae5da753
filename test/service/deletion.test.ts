import { describe, it, expect, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ProviderError } from '../../src/cloud/provider.js';
import { AttemptError, NotFoundError } from '../../src/domain/errors.js';
import type { DeletionJob, ImageRecord } from '../../src/domain/types.js';
import type { Viewer } from '../../src/domain/viewer.js';
import { DeletionService, deletionOptions } from '../../src/services/deletion.js';
import { overrideStore } from '../support/override-store.js';
import { at } from '../support/factories.js';
import {
  elapse,
  newDeletionTestService,
  INSTANCE_ID,
  peekDeletions,
  recordingLogger,
  scriptedRandom,
  silentLogger,
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
    // The thumbnail copy's job removes no local file of its own: the image's job removed both.
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey]);
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

type TestService = Awaited<ReturnType<typeof newDeletionTestService>>;

type DeletionStore = ConstructorParameters<typeof DeletionService>[0]['store'];

/** The dependencies of `t`'s service, as another instance's (instance-b), over `store`. */
function otherDeps(t: TestService, store: DeletionStore = t.store) {
  return {
    store,
    files: t.files,
    cloud: t.cloud,
    clock: t.clock,
    random: t.random,
    log: silentLogger,
    instanceId: 'instance-b',
    options: t.options,
  };
}

/** A second worker (another instance) over the same store, cloud and files as `t`'s. */
const otherInstance = (t: TestService) => new DeletionService(otherDeps(t));

describe('DeletionService: what is deleted, and what is not asked for', () => {
  it('an image whose original cleanup removed (localKey null) has only its thumbnail removed, and the job finishes', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [{ ...CLOUD, localKey: null, evictedKey: 'uploads/gone.png' }], {
      files: t.files,
    });

    await expect(t.sut.deleteImage(alice, image!.id)).resolves.toEqual({
      deletedImageId: image!.id,
      localDeleted: true,
      cloudDeleted: true,
    });
    expect(t.files.deleted).toEqual([image!.thumbnailKey]);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it('a cloud copy recorded without a delete URL is not asked for; the local files go', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [{ ...CLOUD, deleteUrl: null }], { files: t.files });

    await expect(t.sut.deleteImage(alice, image!.id)).resolves.toEqual({
      deletedImageId: image!.id,
      localDeleted: true,
      cloudDeleted: false,
    });
    expect(t.cloud.calls).toEqual([]);
    expect(t.files.deleted).toEqual([image!.localKey, image!.thumbnailKey]);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it('an image deleted by someone else between the read and the begin is NOT_FOUND, naming it, and nothing is deleted', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    // The other delete lands just after this one read the record.
    const racing = overrideStore(t.store, {
      getImagesByIds: (original) => async (ids) => {
        const found = await original(ids);
        await t.store.removeImage(image!.id);
        return found;
      },
    });

    await expect(
      new DeletionService({ ...otherDeps(t, racing), instanceId: INSTANCE_ID }).deleteImage(alice, image!.id),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `Image "${image!.id}" was not found.`,
    });
    expect(t.cloud.calls).toEqual([]);
    expect(t.files.deleted).toEqual([]);
    expect(peekDeletions(t.path)).toEqual([]);
  });
});

describe('DeletionService: leases while a deletion is worked', () => {
  it('while deleteImage works inline, its job is leased: another worker does not take it', async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    const hold = t.cloud.holdNext();

    const deleting = t.sut.deleteImage(alice, image!.id);
    await hold.started;
    expect(peekDeletions(t.path)).toMatchObject([
      { imageId: image!.id, leaseOwner: INSTANCE_ID, leaseUntil: new Date(t.clock.ms() + t.options.leaseMs) },
    ]);
    expect(await otherInstance(t).runOnce()).toBe(0);
    hold.release();

    await expect(deleting).resolves.toMatchObject({ cloudDeleted: true, localDeleted: true });
    expect(t.cloud.calls).toHaveLength(1);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it("a worker renews a job's lease before working it: another worker does not take it meanwhile", async () => {
    const t = await newDeletionTestService();
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    await t.store.beginDeletion(jobFor(image!));
    const hold = t.cloud.holdNext();

    const pass = t.sut.runOnce();
    await hold.started;
    expect(peekDeletions(t.path)).toMatchObject([
      { leaseOwner: INSTANCE_ID, leaseUntil: new Date(t.clock.ms() + t.options.leaseMs) },
    ]);
    expect(await otherInstance(t).runOnce()).toBe(0);
    hold.release();

    expect(await pass).toBe(1);
    expect(t.cloud.calls).toHaveLength(1);
    expect(peekDeletions(t.path)).toEqual([]);
  });

  it('a slow deletion keeps its lease (renewed as it runs), and a job of the batch whose lease ran out meanwhile is left to the worker that took it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const t = await newDeletionTestService();
    const [first, second] = await seedImages(
      t.store,
      [
        { ...CLOUD, cloudUrl: 'https://i.postimg.cc/a/first.png' },
        { ...CLOUD, cloudUrl: 'https://i.postimg.cc/b/second.png' },
      ],
      { files: t.files },
    );
    await t.store.beginDeletion(jobFor(first!));
    await t.store.beginDeletion(jobFor(second!));
    const hold = t.cloud.holdNext();

    // This worker leases both jobs at once and works the first, slowly.
    const pass = t.sut.runOnce();
    await hold.started;
    const firstId = t.cloud.calls[0]!.copy.url === first!.cloudUrl ? first!.id : second!.id;
    const secondId = firstId === first!.id ? second!.id : first!.id;
    // The batch's leases run out; the one being worked was renewed as it ran.
    await elapse(t.clock, t.options.leaseMs);
    const leases = new Map(peekDeletions(t.path).map((j) => [j.imageId, j.leaseUntil!.getTime()]));
    expect(leases.get(firstId)).toBeGreaterThan(t.clock.ms());
    expect(leases.get(secondId)).toBe(t.clock.ms());

    // Another worker takes the job whose lease ran out, not the one still worked, and finishes it.
    const b = otherInstance(t);
    expect(await b.runOnce()).toBe(1);
    hold.release();
    expect(await pass).toBe(2);

    // Each copy was deleted once: this worker skipped the job the other had taken over.
    expect(t.cloud.calls.map((c) => c.copy.url).sort()).toEqual([first!.cloudUrl, second!.cloudUrl].sort());
    expect(peekDeletions(t.path)).toEqual([]);
  });
});

describe('DeletionService.deleteOrphanedCopy', () => {
  const copy = { url: 'https://i.postimg.cc/orphan/a.png', deleteUrl: 'https://postimg.cc/delete/orphan' };

  it.each([
    ['no delete URL', 'POSTIMAGES' as const, { url: copy.url, deleteUrl: null }],
    ['a provider that offers no deletion (ImgBB)', 'IMGBB' as const, copy],
  ])('a copy with %s stores no job, and the operator is told to remove it by hand', async (_name, service, c) => {
    const { log, records } = recordingLogger();
    const t = await newDeletionTestService({ log });
    const [image] = await seedImages(t.store, [{}]);

    await t.sut.deleteOrphanedCopy(image!, service, c);

    expect(peekDeletions(t.path)).toEqual([]);
    expect(await t.sut.runOnce()).toBe(0);
    expect(t.cloud.calls).toEqual([]);
    expect(records).toEqual([
      {
        level: 'error',
        imageId: image!.id,
        cloudUrl: copy.url,
        service,
        msg: expect.stringContaining('remove it by hand'),
      },
    ]);
  });

  it('one job per copy: two copies of one image are two jobs, the same copy twice is one', async () => {
    const t = await newDeletionTestService();
    const [image, other] = await seedImages(t.store, [{}, {}]);
    const second = { url: 'https://i.postimg.cc/orphan/b.png', deleteUrl: 'https://postimg.cc/delete/orphan-b' };

    await t.sut.deleteOrphanedCopy(image!, 'POSTIMAGES', copy);
    await t.sut.deleteOrphanedCopy(image!, 'POSTIMAGES', copy);
    await t.sut.deleteOrphanedCopy(image!, 'POSTIMAGES', second);
    await t.sut.deleteOrphanedCopy(other!, 'POSTIMAGES', copy);

    const jobs = peekDeletions(t.path);
    expect(jobs).toHaveLength(3);
    expect(new Set(jobs.map((j) => j.imageId)).size).toBe(3);
    expect(
      jobs
        .filter((j) => j.imageId.startsWith(`${image!.id}:`))
        .map((j) => j.cloud!.url)
        .sort(),
    ).toEqual([copy.url, second.url].sort());
  });

  it('a copy whose deletion fails for now stays a job, not marked deleted, retried later', async () => {
    const t = await newDeletionTestService({ random: scriptedRandom([0]) });
    const [image] = await seedImages(t.store, [{}]);
    t.cloud.failNext(new ProviderError('HTTP 503', true));

    await t.sut.deleteOrphanedCopy(image!, 'POSTIMAGES', copy);
    expect(await t.sut.runOnce()).toBe(1);

    const [job] = peekDeletions(t.path);
    expect(job).toMatchObject({
      cloud: { url: copy.url },
      cloudDeleted: false,
      attempts: 1,
      lastError: 'cloud: HTTP 503',
    });
    t.clock.set(job!.nextAttemptAt!);
    expect(await t.sut.runOnce()).toBe(1);
    expect(t.cloud.calls).toHaveLength(2);
    expect(peekDeletions(t.path)).toEqual([]);
  });
});

describe('DeletionService: what the log tells an operator', () => {
  it('each deletion, each kept or refused copy and each retry is logged with its image, and no delete URL ever is', async () => {
    const { log, records } = recordingLogger();
    const t = await newDeletionTestService({ log, random: scriptedRandom([0]) });
    const [deleted, refused, retried, kept] = await seedImages(
      t.store,
      [
        CLOUD,
        { ...CLOUD, cloudUrl: 'https://i.postimg.cc/r/refused.png' },
        { ...CLOUD, cloudUrl: 'https://i.postimg.cc/t/retried.png' },
        { ...CLOUD, cloudUrl: 'https://i.postimg.cc/k/kept.png' },
      ],
      { files: t.files },
    );

    await t.sut.deleteImage(alice, deleted!.id);
    expect(records).toEqual([
      { level: 'info', imageId: deleted!.id, userId: 'alice', service: 'POSTIMAGES', msg: 'image deleted' },
    ]);

    records.length = 0;
    t.cloud.failNext(new ProviderError('HTTP 403', false));
    await t.sut.deleteImage(alice, refused!.id);
    expect(records[1]).toEqual({
      level: 'error',
      imageId: refused!.id,
      cloudUrl: refused!.cloudUrl,
      reason: 'cloud: HTTP 403',
      msg: expect.stringContaining('remove it by hand'),
    });

    records.length = 0;
    t.cloud.failNext(new ProviderError('HTTP 503', true));
    await t.sut.deleteImage(alice, retried!.id);
    const nextAttemptAt = peekDeletions(t.path)[0]!.nextAttemptAt!;
    expect(records[1]).toEqual({
      level: 'warn',
      imageId: retried!.id,
      attempts: 1,
      nextAttemptAt: nextAttemptAt.toISOString(),
      lastError: 'cloud: HTTP 503',
      msg: expect.stringContaining('retried later'),
    });

    // A crashed delete's job whose copy another image shows by the time the worker runs.
    records.length = 0;
    await t.store.beginDeletion(jobFor(kept!));
    await seedImages(t.store, [{ ...CLOUD, cloudUrl: kept!.cloudUrl }]);
    t.clock.set(nextAttemptAt);
    await t.sut.runOnce();
    expect(records).toContainEqual({
      level: 'info',
      imageId: kept!.id,
      msg: expect.stringContaining('shown by another image now'),
    });

    expect(JSON.stringify(records)).not.toContain('delete/');
  });

  it("a job whose work fails is logged with its image, and the pass goes on to the batch's next job", async () => {
    const { log, records } = recordingLogger();
    const t = await newDeletionTestService({ log });
    const [broken, fine] = await seedImages(
      t.store,
      [
        { ...CLOUD, cloudUrl: 'https://i.postimg.cc/x/broken.png' },
        { ...CLOUD, cloudUrl: 'https://i.postimg.cc/y/fine.png' },
      ],
      { files: t.files },
    );
    await t.store.beginDeletion(jobFor(broken!));
    await t.store.beginDeletion(jobFor(fine!));
    const failing = overrideStore(t.store, {
      cloudUrlInUse: (original) => async (url, except) => {
        if (url === broken!.cloudUrl) throw new Error('database is locked');
        return original(url, except);
      },
    });
    const worker = new DeletionService({ ...otherDeps(t, failing), log, instanceId: INSTANCE_ID });

    expect(await worker.runOnce()).toBe(2);

    expect(t.cloud.calls.map((c) => c.copy.url)).toEqual([fine!.cloudUrl]);
    expect(records).toContainEqual({
      level: 'error',
      imageId: broken!.id,
      err: expect.objectContaining({ message: 'database is locked' }),
      msg: expect.stringContaining('tried again'),
    });
    expect(peekDeletions(t.path).map((j) => j.imageId)).toEqual([broken!.id]);
  });

  it('a pass that fails as a whole is logged by the background worker, which keeps polling', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const { log, records } = recordingLogger();
    const t = await newDeletionTestService({ log, options: { pollMs: 1_000 } });
    let failures = 1;
    const flaky = overrideStore(t.store, {
      claimDueDeletions: (original) => async (args) => {
        if (failures-- > 0) throw new Error('disk I/O error');
        return original(args);
      },
    });
    const worker = new DeletionService({ ...otherDeps(t, flaky), log, instanceId: INSTANCE_ID });
    const passes = vi.spyOn(worker, 'runOnce');

    worker.start();
    await vi.advanceTimersByTimeAsync(0);
    await elapse(t.clock, 1_000);
    await worker.stop();

    expect(passes.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(records).toEqual([
      {
        level: 'error',
        err: expect.objectContaining({ message: 'disk I/O error' }),
        msg: 'deletion worker pass failed',
      },
    ]);
  });

  it('a lease renewal that fails is logged as a warning with its image, and the deletion still finishes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const { log, records } = recordingLogger();
    const t = await newDeletionTestService({ log });
    const [image] = await seedImages(t.store, [CLOUD], { files: t.files });
    await t.store.beginDeletion(jobFor(image!));
    let renewals = 0;
    const failing = overrideStore(t.store, {
      updateDeletion: (original) => async (job, guard) => {
        // The first call is the pass's own renewal; the heartbeat's fail.
        if (renewals++ === 1) throw new Error('database is locked');
        return original(job, guard);
      },
    });
    const worker = new DeletionService({ ...otherDeps(t, failing), log, instanceId: INSTANCE_ID });
    const hold = t.cloud.holdNext();

    const pass = worker.runOnce();
    await hold.started;
    await elapse(t.clock, Math.floor(t.options.leaseMs / 3));
    hold.release();
    expect(await pass).toBe(1);

    expect(records).toContainEqual({
      level: 'warn',
      imageId: image!.id,
      err: expect.objectContaining({ message: 'database is locked' }),
      msg: 'renewing a deletion lease failed',
    });
    expect(peekDeletions(t.path)).toEqual([]);
  });
});

describe('deletionOptions', () => {
  const config = (env: Record<string, string>) => loadConfig(env);

  it('leases for three cloud timeouts, at least a minute, unless REPLICATION_LEASE_MS says otherwise', () => {
    const base = config({});
    expect(deletionOptions({ ...base, cloud: { ...base.cloud, timeoutMs: 10_000 } }).leaseMs).toBe(60_000);
    expect(deletionOptions({ ...base, cloud: { ...base.cloud, timeoutMs: 30_000 } }).leaseMs).toBe(90_000);
    expect(
      deletionOptions({
        ...base,
        cloud: { ...base.cloud, timeoutMs: 30_000 },
        replication: { ...base.replication, leaseMs: 5_000 },
      }).leaseMs,
    ).toBe(5_000);
  });

  it("takes replication's backoff and poll, in batches of 8", () => {
    const base = config({});
    const replication = { ...base.replication, backoffBaseMs: 1_234, backoffCapMs: 56_789, pollMs: 4_321 };
    expect(deletionOptions({ ...base, replication })).toEqual({
      leaseMs: expect.any(Number),
      backoffBaseMs: 1_234,
      backoffCapMs: 56_789,
      pollMs: 4_321,
      batchSize: 8,
    });
  });
});
