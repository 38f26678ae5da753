import { describe, expect, it } from 'vitest';
import { MAX_RETENTION_DAYS } from '../../src/maintenance/cleanup.js';
import { NOTHING_CLEANED, at, sha256Hex } from '../support/factories.js';
import { overrideStore } from '../support/override-store.js';
import {
  admin,
  newCleanupTestService,
  recordingLogger,
  seedWithFiles,
  storedImage,
  tempLeftovers,
  useTestServices,
} from '../support/service.js';
import { CleanupService } from '../../src/maintenance/cleanup.js';
import { sha256File } from '../../src/cloud/download.js';
import type { ImageOverrides } from '../support/factories.js';

useTestServices();

const DAY = 86_400_000;
/** The clock of these tests: day 30. Images are uploaded at day 0 (old) unless said otherwise. */
const NOW = at(30 * DAY);

/** Replicated by this server to PostImages' fake, trusted (cloudVerifiedAt set). */
const OWN = (n: number): ImageOverrides => ({
  service: 'S3',
  cloudUrl: `https://s3.test/bucket/alice/${n}.png`,
  cloudVerifiedAt: at(1),
  uploadedAt: at(0),
  replication: { status: 'REPLICATED', attempts: 1 },
});
/** A cloud copy this server did not make (cloudVerifiedAt null): checked before trusted. */
const IMPORTED = (n: number): ImageOverrides => ({ ...OWN(n), service: 'S3', cloudVerifiedAt: null });

const zero = NOTHING_CLEANED;

async function service(o: Parameters<typeof newCleanupTestService>[0] = {}) {
  const t = await newCleanupTestService(o);
  t.clock.set(NOW);
  return t;
}

describe('CleanupService: who and what it accepts', () => {
  it('is for admins only: anyone else is FORBIDDEN and nothing is touched', async () => {
    const t = await service();
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [OWN(1)]);

    await expect(t.sut.cleanup({ userId: 'alice', isAdmin: false }, { olderThanDays: 1 })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('admins only'),
    });
    expect(await storedImage(t.store, images[0]!.id)).toEqual(images[0]);
    expect(await t.files.stat(images[0]!.localKey!)).not.toBeNull();
  });

  it.each([-1, 1.5, MAX_RETENTION_DAYS + 1, Number.NaN])('olderThanDays %s is BAD_USER_INPUT', async (days) => {
    const t = await service();
    await expect(t.sut.cleanup(admin, { olderThanDays: days })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: `olderThanDays must be a whole number of days from 0 to ${MAX_RETENTION_DAYS}; got ${days}.`,
    });
  });

  it.each([0, MAX_RETENTION_DAYS])('olderThanDays %s is accepted', async (days) => {
    const t = await service();
    await expect(t.sut.cleanup(admin, { olderThanDays: days })).resolves.toEqual(zero);
  });

  it('takes only images uploaded before now minus the days: one uploaded at the cutoff stays', async () => {
    const t = await service();
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [
      { ...OWN(1), uploadedAt: new Date(NOW.getTime() - 7 * DAY - 1) },
      { ...OWN(2), uploadedAt: new Date(NOW.getTime() - 7 * DAY) },
    ]);

    const result = await t.sut.cleanup(admin, { olderThanDays: 7 });

    expect(result).toMatchObject({ deleted: 1 });
    expect((await storedImage(t.store, images[0]!.id)).localKey).toBeNull();
    expect((await storedImage(t.store, images[1]!.id)).localKey).toBe(images[1]!.localKey);
  });
});

describe('CleanupService: which originals go', () => {
  it('removes the original of a replicated image whose copy it trusts: the record first, then the file; the thumbnail stays', async () => {
    const { log, records } = recordingLogger();
    const t = await service({ log });
    const { images, bytes } = await seedWithFiles(t.store, t.files, t.downloads, [OWN(1), OWN(2)]);
    const progress: [number, number][] = [];

    const result = await t.sut.cleanup(admin, { olderThanDays: 1 }, (done, total) => progress.push([done, total]));

    const freed = bytes.get(images[0]!.id)!.length + bytes.get(images[1]!.id)!.length;
    expect(result).toEqual({ ...zero, deleted: 2, bytesFreed: freed });
    for (const image of images) {
      expect(await storedImage(t.store, image.id)).toEqual({ ...image, localKey: null, evictedKey: image.localKey });
      expect(await t.files.stat(image.localKey!)).toBeNull();
      expect(await t.files.stat(image.thumbnailKey!)).not.toBeNull();
    }
    expect(t.downloads.calls).toEqual([]);
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(records).toEqual([
      { level: 'info', ...result, olderThanDays: 1, dryRun: false, msg: 'local cleanup finished' },
    ]);
  });

  it('keeps originals without a copy that lasts: not replicated, no URL, or on a host whose copies expire', async () => {
    const t = await service();
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [
      { ...OWN(1), replication: { status: 'PENDING', attempts: 0 } },
      { ...OWN(2), replication: { status: 'LOCAL_ONLY', attempts: 3 } },
      { ...OWN(3), cloudUrl: null },
      { ...OWN(4), service: 'IMGBB', cloudUrl: 'https://i.ibb.co/x/4.png' },
    ]);

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toEqual({ ...zero, keptNoCloudCopy: 4 });
    for (const image of images) expect(await storedImage(t.store, image.id)).toEqual(image);
    expect(t.downloads.calls).toEqual([]);
  });

  it('skips an image cleaned before (no local original) without counting it', async () => {
    const t = await service();
    await seedWithFiles(t.store, t.files, t.downloads, [{ ...OWN(1), localKey: null, evictedKey: 'uploads/x.png' }]);
    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toEqual(zero);
  });

  it('a dry run counts what would go and changes nothing', async () => {
    const t = await service();
    const { images, bytes } = await seedWithFiles(t.store, t.files, t.downloads, [
      OWN(1),
      { ...OWN(2), thumbnailCloudUrl: 'https://s3.test/bucket/alice/t2.webp' },
      IMPORTED(3),
      { ...OWN(4), replication: { status: 'PENDING', attempts: 0 } },
    ]);

    const result = await t.sut.cleanup(admin, { olderThanDays: 1, dryRun: true });

    const size = (i: number) => bytes.get(images[i]!.id)!.length;
    const thumb = (await t.files.stat(images[1]!.thumbnailKey!))!.size;
    expect(result).toEqual({
      ...zero,
      deleted: 3,
      thumbnailsDeleted: 1,
      verifiedCloudCopies: 1,
      keptNoCloudCopy: 1,
      bytesFreed: size(0) + size(1) + size(2) + thumb,
    });
    for (const image of images) {
      expect(await storedImage(t.store, image.id)).toEqual(image);
      expect(await t.files.stat(image.localKey!)).not.toBeNull();
      expect(await t.files.stat(image.thumbnailKey!)).not.toBeNull();
    }
  });

  it('dryRun null is a real run', async () => {
    const t = await service();
    await seedWithFiles(t.store, t.files, t.downloads, [OWN(1)]);
    expect(await t.sut.cleanup(admin, { olderThanDays: 1, dryRun: null })).toMatchObject({ deleted: 1 });
  });

  it("removes the thumbnail too when the provider holds this server's copy of it (s3), and counts its bytes", async () => {
    const t = await service();
    const { images, bytes } = await seedWithFiles(t.store, t.files, t.downloads, [
      { ...OWN(1), thumbnailCloudUrl: 'https://s3.test/bucket/alice/t1.webp' },
      // A thumbnail URL on a copy this server did not make: the thumbnail stays.
      { ...IMPORTED(2), thumbnailCloudUrl: 'https://s3.test/bucket/alice/t2.webp' },
    ]);
    const thumb = (await t.files.stat(images[0]!.thumbnailKey!))!.size;

    const result = await t.sut.cleanup(admin, { olderThanDays: 1 });

    expect(result).toEqual({
      ...zero,
      deleted: 2,
      thumbnailsDeleted: 1,
      verifiedCloudCopies: 1,
      bytesFreed: bytes.get(images[0]!.id)!.length + thumb + bytes.get(images[1]!.id)!.length,
    });
    expect(await t.files.stat(images[0]!.thumbnailKey!)).toBeNull();
    expect(await t.files.stat(images[1]!.thumbnailKey!)).not.toBeNull();
    // The record keeps the thumbnail's key: its /files links now redirect to the cloud copy.
    expect((await storedImage(t.store, images[0]!.id)).thumbnailKey).toBe(images[0]!.thumbnailKey);
  });

  it('a thumbnail whose file is already gone is not counted, and the original still goes', async () => {
    const t = await service();
    const { images, bytes } = await seedWithFiles(t.store, t.files, t.downloads, [
      { ...OWN(1), thumbnailCloudUrl: 'https://s3.test/bucket/alice/t1.webp' },
    ]);
    await t.files.delete(images[0]!.thumbnailKey!);

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toEqual({
      ...zero,
      deleted: 1,
      bytesFreed: bytes.get(images[0]!.id)!.length,
    });
    expect(await t.files.stat(images[0]!.localKey!)).toBeNull();
  });

  it('an original whose file is already gone is still evicted, freeing nothing', async () => {
    const t = await service();
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [OWN(1)]);
    await t.files.delete(images[0]!.localKey!);

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toEqual({ ...zero, deleted: 1 });
    expect((await storedImage(t.store, images[0]!.id)).localKey).toBeNull();
  });

  it('an image deleted meanwhile (the record update finds nothing) is left to its deletion: its file is not touched, nothing counted', async () => {
    const t = await service();
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [OWN(1)]);
    const racing = overrideStore(t.store, {
      updateImage: (original) => async (id, patch, guard) => {
        await t.store.removeImage(id);
        return original(id, patch, guard);
      },
    });
    const sut = new CleanupService({ ...deps(t), store: racing });

    expect(await sut.cleanup(admin, { olderThanDays: 1 })).toEqual(zero);
    expect(await t.files.stat(images[0]!.localKey!)).not.toBeNull();
  });

  it.each([
    ['the original', (image: { localKey: string | null }) => image.localKey!, 'original'],
    ['the thumbnail', (image: { thumbnailKey: string | null }) => image.thumbnailKey!, 'thumbnail'],
  ] as const)(
    'a file that cannot be removed (%s) is counted failed and logged; the record already no longer keeps it',
    async (_name, keyOf, word) => {
      const { log, records } = recordingLogger();
      const t = await service({ log });
      const { images } = await seedWithFiles(t.store, t.files, t.downloads, [
        { ...OWN(1), thumbnailCloudUrl: 'https://s3.test/bucket/alice/t1.webp' },
      ]);
      const key = keyOf(images[0]!);
      const sut = new CleanupService({
        ...deps(t, log),
        files: {
          ...pick(t.files),
          delete: async (k: string) => {
            if (k === key) throw new Error('EACCES: permission denied');
            return t.files.delete(k);
          },
        },
      });

      const result = await sut.cleanup(admin, { olderThanDays: 1 });

      expect(result).toEqual({ ...zero, failed: 1 });
      expect((await storedImage(t.store, images[0]!.id)).localKey).toBeNull();
      expect(records).toContainEqual({
        level: 'error',
        key,
        err: expect.objectContaining({ message: 'EACCES: permission denied' }),
        msg: `could not remove a cleaned-up ${word}; reconcile will`,
      });
    },
  );
});

describe('CleanupService: cloud copies it did not make, or that a host may change', () => {
  it('downloads a copy this server did not make; when it holds the bytes, the original goes and the copy is trusted from then on', async () => {
    const t = await service();
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [IMPORTED(1)]);

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toMatchObject({ deleted: 1, verifiedCloudCopies: 1 });
    expect(t.downloads.calls).toEqual([images[0]!.cloudUrl]);
    expect(await storedImage(t.store, images[0]!.id)).toEqual({
      ...images[0],
      localKey: null,
      evictedKey: images[0]!.localKey,
      cloudVerifiedAt: NOW,
    });
    expect(await tempLeftovers(t.files)).toEqual([]);
  });

  it('a copy checked for a record without a digest also records the digest', async () => {
    const t = await service();
    // SQLite requires a digest; records of the older app on MongoDB have none, which reads as falsy too.
    const { images, bytes } = await seedWithFiles(t.store, t.files, t.downloads, [{ ...IMPORTED(1), sha256: '' }]);

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toMatchObject({ deleted: 1, verifiedCloudCopies: 1 });
    expect(await storedImage(t.store, images[0]!.id)).toMatchObject({
      sha256: sha256Hex(bytes.get(images[0]!.id)!),
      cloudVerifiedAt: NOW,
    });
  });

  it('keeps the original when the copy cannot be downloaded, logging why; no temp file stays', async () => {
    const { log, records } = recordingLogger();
    const t = await service({ log });
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [IMPORTED(1)]);
    t.downloads.failing.set(images[0]!.cloudUrl!, new Error('HTTP 404'));

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toEqual({ ...zero, keptUnverifiedCloudCopy: 1 });
    expect(await storedImage(t.store, images[0]!.id)).toEqual(images[0]);
    expect(records).toContainEqual({
      level: 'warn',
      imageId: images[0]!.id,
      reason: 'HTTP 404',
      msg: 'the recorded cloud copy could not be checked: the original is kept',
    });
    expect(await tempLeftovers(t.files)).toEqual([]);
  });

  it('keeps the original when the local file is not the recorded bytes: nothing to compare the copy with', async () => {
    const { log, records } = recordingLogger();
    const t = await service({ log });
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [IMPORTED(1)]);
    // Local file and cloud copy agree, but neither is what the record says the image is.
    await t.files.put(images[0]!.localKey!, Buffer.from('something else'));
    t.downloads.copies.set(images[0]!.cloudUrl!, Buffer.from('something else'));

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toEqual({ ...zero, keptUnverifiedCloudCopy: 1 });
    expect(await storedImage(t.store, images[0]!.id)).toEqual(images[0]);
    expect(t.altered).toEqual([]);
    expect(records).toContainEqual({
      level: 'warn',
      imageId: images[0]!.id,
      msg: 'the recorded cloud copy holds other bytes than the local original: the original is kept',
    });
  });

  it('a copy that differs from a good local original is altered: flagged (onAltered), the original kept', async () => {
    const { log, records } = recordingLogger();
    const t = await service({ log });
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [IMPORTED(1)]);
    t.downloads.copies.set(images[0]!.cloudUrl!, Buffer.from('re-encoded at the host'));

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toEqual({ ...zero, alteredCloudCopies: 1 });
    expect(t.altered.map((i) => i.id)).toEqual([images[0]!.id]);
    expect(await storedImage(t.store, images[0]!.id)).toEqual(images[0]);
    expect(records).toContainEqual({
      level: 'warn',
      imageId: images[0]!.id,
      service: 'S3',
      msg: expect.stringContaining('changed at the host'),
    });

    // A dry run counts it, and flags nothing.
    t.altered.length = 0;
    expect(await t.sut.cleanup(admin, { olderThanDays: 1, dryRun: true })).toEqual({ ...zero, alteredCloudCopies: 1 });
    expect(t.altered).toEqual([]);
  });

  it('a copy on a host that may change it (PostImages) is checked even when this server made it, and not counted as newly verified', async () => {
    const t = await service();
    const { images } = await seedWithFiles(t.store, t.files, t.downloads, [
      { ...OWN(1), service: 'POSTIMAGES', cloudUrl: 'https://i.postimg.cc/a/1.png' },
      { ...OWN(2), service: 'POSTIMAGES', cloudUrl: 'https://i.postimg.cc/a/2.png' },
    ]);
    t.downloads.copies.set(images[1]!.cloudUrl!, Buffer.from('re-encoded'));
    const size = (await t.files.stat(images[0]!.localKey!))!.size;

    expect(await t.sut.cleanup(admin, { olderThanDays: 1 })).toEqual({
      ...zero,
      deleted: 1,
      alteredCloudCopies: 1,
      bytesFreed: size,
    });
    expect(t.downloads.calls.sort()).toEqual([images[0]!.cloudUrl, images[1]!.cloudUrl].sort());
    expect((await storedImage(t.store, images[0]!.id)).cloudVerifiedAt).toEqual(NOW);
  });
});

/** The dependencies of `t`'s service. */
function deps(t: Awaited<ReturnType<typeof service>>, log = recordingLogger().log) {
  return {
    store: t.store,
    files: pick(t.files),
    download: t.downloads.download,
    sha256File,
    clock: t.clock,
    log,
    expiringServices: ['IMGBB'],
    alteringServices: ['POSTIMAGES'],
    onAltered: async () => undefined,
  };
}

function pick(files: Awaited<ReturnType<typeof service>>['files']) {
  return {
    stat: (k: string) => files.stat(k),
    delete: (k: string) => files.delete(k),
    absolutePath: (k: string) => files.absolutePath(k),
    tempPath: () => files.tempPath(),
  };
}
