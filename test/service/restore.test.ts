import { readdir, readFile, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sha256File } from '../../src/cloud/download.js';
import type { ImageRecord } from '../../src/domain/types.js';
import { MAX_LISTED, RestoreService } from '../../src/maintenance/restore.js';
import { at, type ImageOverrides, sha256Hex } from '../support/factories.js';
import { overrideStore } from '../support/override-store.js';
import {
  admin,
  newRestoreTestService,
  recordingLogger,
  seedImages,
  seedWithFiles,
  storedImage,
  tempLeftovers,
  useTestServices,
} from '../support/service.js';

useTestServices();

const alice = { userId: 'alice', isAdmin: false };
const bob = { userId: 'bob', isAdmin: false };

/** Replicated, with a cloud copy holding the original's bytes. */
const REPLICATED = (n: number): ImageOverrides => ({
  service: 'POSTIMAGES',
  cloudUrl: `https://i.postimg.cc/r/${n}.png`,
  replication: { status: 'REPLICATED', attempts: 1 },
});

const empty = {
  scanned: 0,
  restored: 0,
  alreadyPresent: 0,
  noCloudCopy: 0,
  failed: 0,
  failures: [],
  thumbnailsRegenerated: 0,
  cloudOnly: 0,
  lost: [],
};

type T = Awaited<ReturnType<typeof newRestoreTestService>>;

async function seed(t: T, overrides: ImageOverrides[]) {
  return seedWithFiles(t.store, t.files, t.downloads, overrides);
}

/** The thumbnail the fake thumbnailer makes of `data` for `key`. */
const thumbnailOf = (key: string, data: Buffer) => Buffer.from(`thumbnail (${key}) of ${sha256Hex(data)}`);

const read = (t: T, key: string) => readFile(t.files.absolutePath(key));

describe('RestoreService: what it restores', () => {
  it('downloads a missing original, checks it, moves it into place, and remakes a missing thumbnail from it', async () => {
    const t = await newRestoreTestService();
    const { images, bytes } = await seed(t, [REPLICATED(1)]);
    const [image] = images;
    await t.files.delete(image!.localKey!);
    await t.files.delete(image!.thumbnailKey!);
    const progress: [number, number][] = [];

    const result = await t.sut.restore(alice, {}, (done, total) => progress.push([done, total]));

    expect(result).toEqual({ ...empty, scanned: 1, restored: 1, thumbnailsRegenerated: 1 });
    expect(await read(t, image!.localKey!)).toEqual(bytes.get(image!.id));
    expect(await read(t, image!.thumbnailKey!)).toEqual(thumbnailOf(image!.thumbnailKey!, bytes.get(image!.id)!));
    expect(t.downloads.calls).toEqual([image!.cloudUrl]);
    expect(progress).toEqual([[1, 1]]);
    expect(await tempLeftovers(t.files)).toEqual([]);
  });

  it('replaces a local original whose bytes are not the recorded ones; the thumbnail present stays', async () => {
    const t = await newRestoreTestService();
    const { images, bytes } = await seed(t, [REPLICATED(1)]);
    const [image] = images;
    await t.files.put(image!.localKey!, Buffer.from('bit rot'));

    expect(await t.sut.restore(alice)).toEqual({ ...empty, scanned: 1, restored: 1 });
    expect(await read(t, image!.localKey!)).toEqual(bytes.get(image!.id));
    expect(await read(t, image!.thumbnailKey!)).toEqual(Buffer.from(`thumbnail of ${image!.id}`));
    expect(t.thumbnails).toEqual([]);
  });

  it('leaves a good original alone and counts it present; a missing thumbnail is made from the local original', async () => {
    const t = await newRestoreTestService();
    const { images, bytes } = await seed(t, [REPLICATED(1), REPLICATED(2)]);
    await t.files.delete(images[1]!.thumbnailKey!);

    expect(await t.sut.restore(alice)).toEqual({ ...empty, scanned: 2, alreadyPresent: 2, thumbnailsRegenerated: 1 });
    expect(t.downloads.calls).toEqual([]);
    expect(t.thumbnails).toEqual([{ input: t.files.absolutePath(images[1]!.localKey!), key: images[1]!.thumbnailKey }]);
    expect(await read(t, images[1]!.thumbnailKey!)).toEqual(
      thumbnailOf(images[1]!.thumbnailKey!, bytes.get(images[1]!.id)!),
    );
  });

  it('a record of the older app without a digest: a present file is good, whatever it holds', async () => {
    const t = await newRestoreTestService();
    // SQLite requires a digest; the older app's records on MongoDB have none, which reads as falsy too.
    const { images } = await seed(t, [{ ...REPLICATED(1), sha256: '' }]);
    await t.files.put(images[0]!.localKey!, Buffer.from('whatever'));

    expect(await t.sut.restore(alice)).toEqual({ ...empty, scanned: 1, alreadyPresent: 1 });
    expect(t.downloads.calls).toEqual([]);
  });

  it('a missing original without a cloud copy is lost: listed with its conversation, nothing downloaded', async () => {
    const t = await newRestoreTestService();
    const { images } = await seed(t, [{}]);
    await t.files.delete(images[0]!.localKey!);

    expect(await t.sut.restore(alice)).toEqual({
      ...empty,
      scanned: 1,
      noCloudCopy: 1,
      lost: [
        {
          imageId: images[0]!.id,
          conversationId: images[0]!.conversationId,
          reason: 'no local copy matching its sha256 and no cloud copy',
        },
      ],
    });
  });

  it('a dry run counts what it would do and writes nothing, not even the folders', async () => {
    const t = await newRestoreTestService();
    const { images } = await seed(t, [REPLICATED(1), REPLICATED(2), {}, { ...REPLICATED(4), cloudAlteredAt: at(5) }]);
    for (const image of images) await t.files.delete(image.localKey!);
    await t.files.delete(images[1]!.thumbnailKey!);
    await rm(t.files.absolutePath(images[0]!.localKey!).replace(/\/[^/]+$/, ''), { recursive: true });

    const result = await t.sut.restore(alice, { dryRun: true });

    expect(result).toMatchObject({ scanned: 4, restored: 2, noCloudCopy: 2, thumbnailsRegenerated: 0, failed: 0 });
    expect(result.lost.map((l) => l.imageId)).toEqual([images[2]!.id, images[3]!.id]);
    expect(t.downloads.calls).toEqual([]);
    expect(await readdir(t.files.root)).not.toContain('uploads');
  });

  it('a dry run makes no missing thumbnail of a good original either', async () => {
    const t = await newRestoreTestService();
    const { images } = await seed(t, [REPLICATED(1)]);
    await t.files.delete(images[0]!.thumbnailKey!);

    expect(await t.sut.restore(alice, { dryRun: true })).toEqual({ ...empty, scanned: 1, alreadyPresent: 1 });
    expect(t.thumbnails).toEqual([]);
    expect(await t.files.stat(images[0]!.thumbnailKey!)).toBeNull();
  });

  it.each([0, 1, 3])('works on at most RESTORE_CONCURRENCY images at once (at least one): %i', async (concurrency) => {
    const t = await newRestoreTestService();
    const { images } = await seed(
      t,
      Array.from({ length: 6 }, (_, i) => REPLICATED(i)),
    );
    for (const image of images) await t.files.delete(image.localKey!);
    let inFlight = 0;
    let most = 0;
    const sut = new RestoreService({
      ...depsOf(t),
      concurrency,
      download: async (url, path) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight--;
        return t.downloads.download(url, path);
      },
    });

    expect(await sut.restore(alice)).toMatchObject({ scanned: 6, restored: 6 });
    expect(most).toBe(Math.max(1, concurrency));
  });

  it('recreates the folders after a disk loss before writing into them', async () => {
    const t = await newRestoreTestService();
    const { images, bytes } = await seed(t, [REPLICATED(1)]);
    for (const entry of await readdir(t.files.root)) await rm(`${t.files.root}/${entry}`, { recursive: true });

    expect(await t.sut.restore(alice, { dryRun: null })).toMatchObject({ restored: 1, thumbnailsRegenerated: 1 });
    expect(await read(t, images[0]!.localKey!)).toEqual(bytes.get(images[0]!.id));
  });
});

describe('RestoreService: cloud copies that do not hold the original', () => {
  it('a download that is not the recorded bytes writes nothing, is flagged altered and fails, without its digest in the reason', async () => {
    const t = await newRestoreTestService();
    const { images } = await seed(t, [REPLICATED(1)]);
    const [image] = images;
    await t.files.delete(image!.localKey!);
    await t.files.delete(image!.thumbnailKey!);
    const other = Buffer.from('re-encoded at the host');
    t.downloads.copies.set(image!.cloudUrl!, other);

    const result = await t.sut.restore(alice);

    expect(result).toEqual({
      ...empty,
      scanned: 1,
      failed: 1,
      failures: [
        {
          imageId: image!.id,
          reason: 'the cloud copy does not match the recorded sha256 (changed at the host?); nothing was written',
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain(sha256Hex(other));
    expect(t.altered.map((i) => i.id)).toEqual([image!.id]);
    expect(await t.files.stat(image!.localKey!)).toBeNull();
    expect(await t.files.stat(image!.thumbnailKey!)).toBeNull();
    expect(await tempLeftovers(t.files)).toEqual([]);
  });

  it('without an onAltered hook, a download that is not the recorded bytes is the same failure', async () => {
    const t = await newRestoreTestService();
    const { images } = await seed(t, [REPLICATED(1)]);
    await t.files.delete(images[0]!.localKey!);
    t.downloads.copies.set(images[0]!.cloudUrl!, Buffer.from('re-encoded at the host'));
    const sut = new RestoreService(depsOf(t));

    expect(await sut.restore(alice)).toMatchObject({
      failed: 1,
      failures: [{ imageId: images[0]!.id, reason: expect.stringContaining('does not match the recorded sha256') }],
    });
  });

  it('a copy flagged altered before that still differs is listed lost (with when it was found), not failed again', async () => {
    const t = await newRestoreTestService();
    const { images } = await seed(t, [{ ...REPLICATED(1), cloudAlteredAt: at(5_000) }]);
    await t.files.delete(images[0]!.localKey!);
    t.downloads.copies.set(images[0]!.cloudUrl!, Buffer.from('still re-encoded'));

    expect(await t.sut.restore(alice)).toEqual({
      ...empty,
      scanned: 1,
      noCloudCopy: 1,
      lost: [
        {
          imageId: images[0]!.id,
          conversationId: images[0]!.conversationId,
          reason: `no local copy matching its sha256, and its cloud copy was found changed at the host (${at(5_000).toISOString()}): nothing holds the original bytes`,
        },
      ],
    });
    expect(t.altered).toEqual([]);
    expect(await tempLeftovers(t.files)).toEqual([]);
  });

  it('a copy flagged altered before that the host put back is restored, and the flag cleared', async () => {
    const t = await newRestoreTestService();
    const { images, bytes } = await seed(t, [{ ...REPLICATED(1), cloudAlteredAt: at(5_000) }]);
    await t.files.delete(images[0]!.localKey!);

    expect(await t.sut.restore(alice)).toMatchObject({ restored: 1, noCloudCopy: 0, lost: [] });
    expect(await read(t, images[0]!.localKey!)).toEqual(bytes.get(images[0]!.id));
    expect((await storedImage(t.store, images[0]!.id)).cloudAlteredAt).toBeNull();
  });

  it('a failed download is a failure with its reason, paths redacted; the others go on', async () => {
    const { log, records } = recordingLogger();
    const t = await newRestoreTestService({ log });
    const { images } = await seed(t, [REPLICATED(1), REPLICATED(2)]);
    for (const image of images) await t.files.delete(image.localKey!);
    t.downloads.failing.set(
      images[0]!.cloudUrl!,
      new Error("ENOSPC: no space left on device, open '/srv/storage/.tmp/x.part'"),
    );

    const result = await t.sut.restore(alice);

    expect(result).toMatchObject({
      scanned: 2,
      restored: 1,
      failed: 1,
      failures: [{ imageId: images[0]!.id, reason: "ENOSPC: no space left on device, open '<path>'" }],
    });
    expect(records).toContainEqual({
      level: 'warn',
      imageId: images[0]!.id,
      reason: "ENOSPC: no space left on device, open '/srv/storage/.tmp/x.part'",
      msg: 'restore of an image failed',
    });
  });

  it(`lists at most ${MAX_LISTED} failures and lost images, and counts them all`, async () => {
    const t = await newRestoreTestService({ concurrency: 8 });
    const n = MAX_LISTED + 1;
    const { images } = await seed(t, [
      ...Array.from({ length: n }, (_, i) => REPLICATED(i)),
      ...Array.from({ length: n }, () => ({})),
    ]);
    for (const image of images) await t.files.delete(image.localKey!);
    t.downloads.copies.clear();

    const result = await t.sut.restore(alice);

    expect(result).toMatchObject({ scanned: 2 * n, failed: n, noCloudCopy: n });
    expect(result.failures).toHaveLength(MAX_LISTED);
    expect(result.lost).toHaveLength(MAX_LISTED);
  });
});

describe('RestoreService: images whose original cleanup removed on purpose', () => {
  const cleaned = (n: number): ImageOverrides => ({
    ...REPLICATED(n),
    localKey: null,
    evictedKey: `uploads/evicted_${n}.png`,
  });

  it('restores no original; a missing thumbnail is made again from the cloud copy', async () => {
    const t = await newRestoreTestService();
    const { images, bytes } = await seed(t, [cleaned(1), cleaned(2)]);
    await t.files.delete(images[0]!.thumbnailKey!);

    expect(await t.sut.restore(alice)).toEqual({ ...empty, scanned: 2, cloudOnly: 2, thumbnailsRegenerated: 1 });
    expect(t.downloads.calls).toEqual([images[0]!.cloudUrl]);
    expect(await read(t, images[0]!.thumbnailKey!)).toEqual(
      thumbnailOf(images[0]!.thumbnailKey!, bytes.get(images[0]!.id)!),
    );
    expect(await t.files.stat(images[0]!.evictedKey!)).toBeNull();
    expect(await tempLeftovers(t.files)).toEqual([]);
  });

  it('remakes nothing when the provider holds the thumbnail too (s3), nor in a dry run, nor without a cloud copy', async () => {
    const t = await newRestoreTestService();
    const { images } = await seed(t, [
      { ...cleaned(1), service: 'S3', thumbnailCloudUrl: 'https://s3.test/b/t1.webp' },
      { ...cleaned(2), cloudUrl: null },
    ]);
    for (const image of images) await t.files.delete(image.thumbnailKey!);

    expect(await t.sut.restore(alice)).toEqual({ ...empty, scanned: 2, cloudOnly: 2 });
    const [, , third] = (await seed(t, [{}, {}, cleaned(3)])).images;
    await t.files.delete(third!.thumbnailKey!);
    expect(await t.sut.restore(alice, { imageIds: [third!.id], dryRun: true })).toEqual({
      ...empty,
      scanned: 1,
      cloudOnly: 1,
    });
    expect(t.downloads.calls).toEqual([]);
    expect(t.thumbnails).toEqual([]);
  });
});

describe('RestoreService: a delete that runs meanwhile', () => {
  it.each([
    ['a missing original and thumbnail', (i: ImageRecord) => [i.localKey!, i.thumbnailKey!], false],
    ['a missing thumbnail only', (i: ImageRecord) => [i.thumbnailKey!], false],
    ['the thumbnail of a cleaned-up image', (i: ImageRecord) => [i.thumbnailKey!], true],
  ] as const)('%s restored for a record deleted meanwhile are removed again', async (_name, missing, cleanedUp) => {
    const { log, records } = recordingLogger();
    const t = await newRestoreTestService({ log });
    const { images } = await seed(t, [
      cleanedUp ? { ...REPLICATED(1), localKey: null, evictedKey: 'uploads/evicted.png' } : REPLICATED(1),
    ]);
    const [image] = images;
    const keys = missing(image!);
    for (const key of keys) await t.files.delete(key);
    // The delete lands while the files are written: the record is gone when restore looks again.
    const store = overrideStore(t.store, {
      getImagesByIds: (original) => async (ids) => {
        await t.store.removeImage(image!.id);
        return original(ids);
      },
    });
    const sut = new RestoreService({ ...depsOf(t, log), store });

    const result = await sut.restore(admin);

    // Neither restored, present, cloud-only, lost nor failed (thumbnailsRegenerated counts work done).
    const { thumbnailsRegenerated: _made, ...counts } = result;
    const { thumbnailsRegenerated: _none, ...nothing } = empty;
    expect(counts).toEqual({ ...nothing, scanned: 1 });
    for (const key of keys) expect(await t.files.stat(key)).toBeNull();
    expect(records).toContainEqual({
      level: 'info',
      imageId: image!.id,
      msg: 'image deleted while it was restored; the restored files were removed',
    });
  });
});

describe('RestoreService: its scope', () => {
  it("without a scope: a user's own images, an admin's all", async () => {
    const t = await newRestoreTestService();
    await seed(t, [{}]);
    await seedImages(t.store, [{}], { userId: 'bob' });

    expect((await t.sut.restore(alice)).scanned).toBe(1);
    expect((await t.sut.restore(bob)).scanned).toBe(1);
    expect((await t.sut.restore(admin)).scanned).toBe(2);
  });

  it('by imageIds: each once, in pages of 100, only visible ones, and only of the conversation given', async () => {
    const t = await newRestoreTestService({ concurrency: 4 });
    const { images } = await seed(
      t,
      Array.from({ length: 101 }, () => ({})),
    );
    const ids = images.map((i) => i.id);
    const progress: number[] = [];

    const result = await t.sut.restore(alice, { imageIds: [...ids, ids[0]!] }, (_done, total) => progress.push(total));
    expect(result).toMatchObject({ scanned: 101, alreadyPresent: 101 });
    expect(new Set(progress)).toEqual(new Set([101]));

    await expect(t.sut.restore(bob, { imageIds: [ids[0]!] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `Image "${ids[0]}" was not found.`,
    });
    const other = await seedImages(t.store, [{}]);
    await expect(
      t.sut.restore(alice, { imageIds: [ids[0]!, other[0]!.id], conversationId: images[0]!.conversationId }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND', message: `Image "${other[0]!.id}" was not found.` });
    await expect(
      t.sut.restore(alice, { imageIds: [ids[0]!], conversationId: images[0]!.conversationId }),
    ).resolves.toMatchObject({ scanned: 1 });
  });

  it('refuses more than 1000 distinct imageIds before any work, and counts duplicates once', async () => {
    const t = await newRestoreTestService();
    const many = Array.from({ length: 1001 }, (_, i) => `id${i}`);
    await expect(t.sut.restore(admin, { imageIds: many })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      message: expect.stringContaining('imageIds lists 1001 images; at most 1000 are accepted'),
    });
    // 1000 distinct ids (and repeats) pass the check; they then do not exist.
    await expect(t.sut.restore(admin, { imageIds: [...many.slice(0, 1000), 'id0'] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it("by conversationId: that conversation's images, if the viewer may see it", async () => {
    const t = await newRestoreTestService();
    const first = (await seed(t, [{}, {}])).images;
    await seed(t, [{}]);
    const conversationId = first[0]!.conversationId;

    expect(await t.sut.restore(alice, { conversationId })).toMatchObject({ scanned: 2, alreadyPresent: 2 });
    await expect(t.sut.restore(bob, { conversationId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `Conversation "${conversationId}" was not found.`,
    });
    await expect(t.sut.restore(admin, { conversationId })).resolves.toMatchObject({ scanned: 2 });
  });
});

/** The dependencies of `t`'s service, for one over another store. */
function depsOf(t: T, log = recordingLogger().log) {
  return {
    store: t.store,
    files: t.files,
    download: t.downloads.download,
    sha256File,
    thumbnail: async (input: string | Buffer, key: string) => {
      const data = typeof input === 'string' ? await readFile(input) : input;
      return thumbnailOf(key, data);
    },
    concurrency: 2,
    log,
  };
}
