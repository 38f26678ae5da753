import { describe, it, expect, vi } from 'vitest';
import { at } from '../support/factories.js';
import {
  INSTANCE_ID,
  chainFailure,
  chainSuccess,
  elapse,
  newReplicationTestService,
  scriptedRandom,
  seedImages,
  storedImage,
  useTestServices,
} from '../support/service.js';

useTestServices();

const BOTH_FAIL = chainFailure(
  { provider: 'POSTIMAGES', reason: 'HTTP 500' },
  { provider: 'IMGBB', reason: 'timed out' },
);

describe('ReplicationService: a pass over due images', () => {
  it('uploads a PENDING image and stores it REPLICATED with the copy it got', async () => {
    const t = await newReplicationTestService();
    const [image] = await seedImages(t.store, [{}], { files: t.files });
    const url = 'https://i.postimg.cc/abc/original.png';
    t.uploader.willAnswer(
      chainSuccess(url, {
        deleteUrl: 'https://postimg.cc/delete/abc/secret',
        thumbnail: { url: 'https://i.postimg.cc/abc/thumb.webp', deleteUrl: null, providerId: null },
      }),
    );
    t.clock.advance(5_000);

    expect(await t.sut.runOnce()).toBe(1);

    expect(t.uploader.calls).toHaveLength(1);
    const { file, thumbnail } = t.uploader.calls[0]!;
    expect(file).toEqual({
      data: Buffer.from(`original of ${image!.id}`),
      fileName: image!.localKey!.split('/').at(-1),
      mimeType: 'image/png',
      sha256: image!.sha256,
      ownerId: 'alice',
    });
    // The thumbnail is offered lazily, named after the original's bytes.
    await expect(thumbnail!()).resolves.toMatchObject({
      data: Buffer.from(`thumbnail of ${image!.id}`),
      mimeType: 'image/webp',
      thumbnailOf: image!.sha256,
    });
    expect(await storedImage(t.store, image!.id)).toMatchObject({
      cloudUrl: url,
      thumbnailCloudUrl: 'https://i.postimg.cc/abc/thumb.webp',
      deleteUrl: 'https://postimg.cc/delete/abc/secret',
      service: 'POSTIMAGES',
      cloudVerifiedAt: t.clock(),
      replication: {
        status: 'REPLICATED',
        attempts: 1,
        nextAttemptAt: null,
        lastError: null,
        leaseOwner: null,
        leaseUntil: null,
      },
    });
    expect(t.outcomes).toEqual([{ outcome: 'replicated', provider: 'POSTIMAGES' }]);
  });

  it.each([
    [0, 500],
    [0.5, 750],
    [0.9, 950],
  ])(
    'when every provider fails the image is RETRYING, due after the jittered backoff (random %s: %s ms of 500..1000)',
    async (draw, delayMs) => {
      const t = await newReplicationTestService({ random: scriptedRandom([draw]) });
      const [image] = await seedImages(t.store, [{}], { files: t.files });
      t.uploader.willAnswer(BOTH_FAIL);

      await t.sut.runOnce();

      const stored = await storedImage(t.store, image!.id);
      expect(stored.replication).toEqual({
        status: 'RETRYING',
        attempts: 1,
        nextAttemptAt: new Date(t.clock.ms() + delayMs),
        lastError: 'POSTIMAGES: HTTP 500; IMGBB: timed out',
        leaseOwner: null,
        leaseUntil: null,
      });
      const waited = stored.replication.nextAttemptAt!.getTime() - t.clock.ms();
      expect(waited).toBeGreaterThanOrEqual(t.options.backoffBaseMs / 2);
      expect(waited).toBeLessThanOrEqual(t.options.backoffBaseMs);
      expect(stored.cloudUrl).toBeNull();
      expect(t.outcomes).toEqual([{ outcome: 'retrying', provider: null }]);
    },
  );

  it('the backoff doubles with each attempt and stops growing at backoffCapMs', async () => {
    const t = await newReplicationTestService({
      options: { maxAttempts: 10, backoffBaseMs: 1_000, backoffCapMs: 3_000 },
      random: scriptedRandom([], 0.5),
    });
    const [image] = await seedImages(t.store, [{}], { files: t.files });
    t.uploader.fallback = () => BOTH_FAIL;

    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await t.sut.runOnce()).toBe(1);
      const { replication } = await storedImage(t.store, image!.id);
      expect(replication.attempts).toBe(attempt);
      delays.push(replication.nextAttemptAt!.getTime() - t.clock.ms());
      t.clock.set(replication.nextAttemptAt!);
    }
    // Ceilings 1000, 2000, then 3000 (not 4000, 8000, 16000); half jitter at 0.5 is 3/4 of each.
    expect(delays).toEqual([750, 1_500, 2_250, 2_250, 2_250]);
  });

  it('after options.maxAttempts failed attempts the image is LOCAL_ONLY and never claimed again', async () => {
    const t = await newReplicationTestService({ options: { maxAttempts: 3 } });
    const [image] = await seedImages(t.store, [{}], { files: t.files });
    t.uploader.fallback = () => BOTH_FAIL;

    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await t.sut.runOnce()).toBe(1);
      const { replication } = await storedImage(t.store, image!.id);
      if (replication.nextAttemptAt) t.clock.set(replication.nextAttemptAt);
    }

    expect((await storedImage(t.store, image!.id)).replication).toEqual({
      status: 'LOCAL_ONLY',
      attempts: 3,
      nextAttemptAt: null,
      lastError: 'POSTIMAGES: HTTP 500; IMGBB: timed out',
      leaseOwner: null,
      leaseUntil: null,
    });
    expect(t.outcomes.map((o) => o.outcome)).toEqual(['retrying', 'retrying', 'local_only']);
    t.clock.advance(24 * 3_600_000);
    expect(await t.sut.runOnce()).toBe(0);
    expect(t.uploader.calls).toHaveLength(3);
  });

  it('an image due later is not claimed until the clock reaches its nextAttemptAt', async () => {
    const t = await newReplicationTestService();
    const dueAt = at(10_000);
    const [image] = await seedImages(
      t.store,
      [{ replication: { status: 'RETRYING', attempts: 1, nextAttemptAt: dueAt, lastError: 'HTTP 500' } }],
      { files: t.files },
    );

    expect(await t.sut.runOnce()).toBe(0);
    t.clock.set(new Date(dueAt.getTime() - 1));
    expect(await t.sut.runOnce()).toBe(0);
    expect(t.uploader.calls).toHaveLength(0);
    expect((await storedImage(t.store, image!.id)).replication.leaseOwner).toBeNull();

    t.clock.set(dueAt);
    expect(await t.sut.runOnce()).toBe(1);
    expect(t.uploader.calls).toHaveLength(1);
    expect((await storedImage(t.store, image!.id)).replication).toMatchObject({ status: 'REPLICATED', attempts: 2 });
  });

  it('a local copy that cannot be read costs an attempt, blames no provider and keeps paths out of lastError', async () => {
    const t = await newReplicationTestService({ random: scriptedRandom([0]) });
    // No bytes are put in the fake files: reading the original fails.
    const [image] = await seedImages(t.store, [{}]);

    await t.sut.runOnce();

    expect(t.uploader.calls).toHaveLength(0);
    const { replication } = await storedImage(t.store, image!.id);
    expect(replication).toMatchObject({ status: 'RETRYING', attempts: 1, nextAttemptAt: new Date(t.clock.ms() + 500) });
    expect(replication.lastError).toMatch(/^local copy unreadable: ENOENT/);
    expect(replication.lastError).not.toContain('/srv/storage');
  });

  it('when every provider only had its budget spent, no attempt is used and the image waits for the reset', async () => {
    const t = await newReplicationTestService({ random: scriptedRandom([0.5]) });
    const [image] = await seedImages(t.store, [{}], { files: t.files });
    const resetsAt = at(3_600_000);
    t.uploader.willAnswer({
      ...chainFailure({ provider: 'POSTIMAGES', reason: 'budget spent' }),
      budgetsResetAt: resetsAt,
    });

    await t.sut.runOnce();

    expect((await storedImage(t.store, image!.id)).replication).toMatchObject({
      status: 'RETRYING',
      attempts: 0,
      // Spread over 30 s after the reset: 0.5 of it.
      nextAttemptAt: new Date(resetsAt.getTime() + 15_000),
      lastError: 'POSTIMAGES: budget spent',
    });
  });
});

describe('ReplicationService: leases', () => {
  it('a worker that lost its lease mid-upload writes nothing and hands its new copies to onOrphanedCopy', async () => {
    const t = await newReplicationTestService();
    const [image] = await seedImages(t.store, [{}], { files: t.files });
    const thumb = {
      url: 'https://i.postimg.cc/new/thumb.webp',
      deleteUrl: 'https://postimg.cc/delete/t',
      providerId: null,
    };
    t.uploader.willAnswer(async () => {
      // This process was paused past its lease; another worker claimed the image meanwhile.
      await t.store.updateImage(image!.id, {
        replication: { leaseOwner: 'instance-b', leaseUntil: at(120_000) },
      });
      return chainSuccess('https://i.postimg.cc/new/original.png', { thumbnail: thumb });
    });

    await t.sut.runOnce();

    const stored = await storedImage(t.store, image!.id);
    expect(stored.cloudUrl).toBeNull();
    expect(stored.thumbnailCloudUrl).toBeNull();
    expect(stored.replication).toMatchObject({ status: 'PENDING', attempts: 0, leaseOwner: 'instance-b' });
    expect(t.orphaned.map((o) => [o.image.id, o.provider, o.copy.url])).toEqual([
      [image!.id, 'POSTIMAGES', 'https://i.postimg.cc/new/original.png'],
      [image!.id, 'POSTIMAGES', 'https://i.postimg.cc/new/thumb.webp'],
    ]);
    expect(t.outcomes).toEqual([]);
  });

  it('a copy with the URL the other worker stored meanwhile is not orphaned', async () => {
    const t = await newReplicationTestService();
    const [image] = await seedImages(t.store, [{}], { files: t.files });
    const url = 'https://s3.test/bucket/alice/same-bytes.png';
    t.uploader.willAnswer(async () => {
      await t.store.updateImage(image!.id, {
        cloudUrl: url,
        service: 'S3',
        replication: { status: 'REPLICATED', attempts: 1, leaseOwner: null, leaseUntil: null },
      });
      return chainSuccess(url, { provider: 'S3' });
    });

    await t.sut.runOnce();

    expect(t.orphaned).toEqual([]);
    expect(await storedImage(t.store, image!.id)).toMatchObject({
      cloudUrl: url,
      replication: { status: 'REPLICATED' },
    });
  });

  it('a lost-lease copy that another image already shows (one content-addressed object) is not orphaned', async () => {
    const t = await newReplicationTestService();
    const url = 'https://s3.test/bucket/alice/shared.png';
    const [, image] = await seedImages(
      t.store,
      [{ cloudUrl: url, service: 'S3', replication: { status: 'REPLICATED', attempts: 1 } }, {}],
      { files: t.files },
    );
    t.uploader.willAnswer(async () => {
      await t.store.updateImage(image!.id, { replication: { leaseOwner: 'instance-b', leaseUntil: at(120_000) } });
      return chainSuccess(url, { provider: 'S3' });
    });

    await t.sut.runOnce();

    expect(t.uploader.calls).toHaveLength(1);
    expect(t.orphaned).toEqual([]);
    expect((await storedImage(t.store, image!.id)).cloudUrl).toBeNull();
  });

  it('an image of the claimed batch whose lease another worker took before its turn is left to that worker', async () => {
    const t = await newReplicationTestService();
    const [first, second] = await seedImages(t.store, [{}, {}], { files: t.files });
    t.uploader.willAnswer(async (file) => {
      await t.store.updateImage(second!.id, { replication: { leaseOwner: 'instance-b', leaseUntil: at(120_000) } });
      return chainSuccess(`https://i.postimg.cc/x/${file.fileName}`);
    });

    expect(await t.sut.runOnce()).toBe(2);

    expect(t.uploader.calls.map((c) => c.file.sha256)).toEqual([first!.sha256]);
    expect((await storedImage(t.store, first!.id)).replication.status).toBe('REPLICATED');
    expect((await storedImage(t.store, second!.id)).replication).toMatchObject({
      status: 'PENDING',
      leaseOwner: 'instance-b',
    });
  });

  it('claims with its own instance id and a lease of options.leaseMs', async () => {
    const t = await newReplicationTestService();
    const [image] = await seedImages(t.store, [{}], { files: t.files });
    let leaseSeen: unknown;
    t.uploader.willAnswer(async () => {
      leaseSeen = (await storedImage(t.store, image!.id)).replication;
      return chainFailure();
    });

    await t.sut.runOnce();

    expect(leaseSeen).toMatchObject({
      leaseOwner: INSTANCE_ID,
      leaseUntil: new Date(t.clock.ms() + t.options.leaseMs),
    });
  });
});

describe('ReplicationService: reusing a twin', () => {
  const sha256 = 'f'.repeat(64);
  const twinFields = {
    sha256,
    cloudUrl: 'https://i.postimg.cc/twin/original.png',
    thumbnailCloudUrl: 'https://i.postimg.cc/twin/thumb.webp',
    deleteUrl: 'https://postimg.cc/delete/twin/secret',
    cloudVerifiedAt: at(500),
    service: 'POSTIMAGES' as const,
    replication: { status: 'REPLICATED' as const, attempts: 1 },
  };

  it('a REPLICATED image of the same owner with the same sha256 lends its copy: nothing is uploaded', async () => {
    const t = await newReplicationTestService();
    const [twin, image] = await seedImages(t.store, [twinFields, { sha256 }], { files: t.files });

    expect(await t.sut.runOnce()).toBe(1);

    expect(t.uploader.calls).toEqual([]);
    expect(await storedImage(t.store, image!.id)).toMatchObject({
      cloudUrl: twin!.cloudUrl,
      thumbnailCloudUrl: twin!.thumbnailCloudUrl,
      deleteUrl: twin!.deleteUrl,
      service: 'POSTIMAGES',
      cloudVerifiedAt: at(500),
      replication: { status: 'REPLICATED', attempts: 1, lastError: null, leaseOwner: null, leaseUntil: null },
    });
    expect(t.outcomes).toEqual([{ outcome: 'reused', provider: 'POSTIMAGES' }]);
  });

  it("another owner's image with the same bytes is not reused: the image is uploaded", async () => {
    const t = await newReplicationTestService();
    await seedImages(t.store, [twinFields], { userId: 'bob', files: t.files });
    const [image] = await seedImages(t.store, [{ sha256 }], { files: t.files });

    await t.sut.runOnce();

    expect(t.uploader.calls).toHaveLength(1);
    const stored = await storedImage(t.store, image!.id);
    expect(stored.cloudUrl).not.toBe(twinFields.cloudUrl);
    expect(stored.cloudUrl).toBe(`https://i.postimg.cc/x/${image!.localKey!.split('/').at(-1)}`);
    expect(t.outcomes).toEqual([{ outcome: 'replicated', provider: 'POSTIMAGES' }]);
  });
});

describe('ReplicationService: the background worker (fake timers)', () => {
  const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });

  it('polls every pollMs and takes an image due later on the first pass after its nextAttemptAt', async () => {
    fakeTimers();
    const t = await newReplicationTestService({ options: { pollMs: 5_000 } });
    const [image] = await seedImages(
      t.store,
      [{ replication: { status: 'RETRYING', attempts: 1, nextAttemptAt: at(10_000) } }],
      { files: t.files },
    );
    const passes = vi.spyOn(t.sut, 'runOnce');

    t.sut.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(passes).toHaveBeenCalledTimes(1);

    // Each poll sees the fake clock moved on by the same interval.
    await elapse(t.clock, 4_999);
    expect(passes).toHaveBeenCalledTimes(1);
    await elapse(t.clock, 1);
    expect(passes).toHaveBeenCalledTimes(2);
    expect(t.uploader.calls).toHaveLength(0);

    await elapse(t.clock, 5_000);
    await t.sut.stop();
    expect(passes).toHaveBeenCalledTimes(3);
    expect(t.uploader.calls).toHaveLength(1);
    expect((await storedImage(t.store, image!.id)).replication.status).toBe('REPLICATED');
  });

  it('after a full batch the next pass runs at once, not after pollMs', async () => {
    fakeTimers();
    const t = await newReplicationTestService({ options: { batchSize: 2, pollMs: 60_000 } });
    const images = await seedImages(t.store, [{}, {}, {}], { files: t.files });

    t.sut.start();
    // A timer of 0 ms set while timers run is due 1 ms later (fake-timers' rule): allow a few.
    await vi.advanceTimersByTimeAsync(10);
    await t.sut.stop();

    for (const image of images) expect((await storedImage(t.store, image.id)).replication.status).toBe('REPLICATED');
  });

  it('kick() runs a pass now instead of waiting for the next poll', async () => {
    fakeTimers();
    const t = await newReplicationTestService({ options: { pollMs: 60_000 } });
    t.sut.start();
    await vi.advanceTimersByTimeAsync(0);
    const [image] = await seedImages(t.store, [{}], { files: t.files });

    t.sut.kick();
    await vi.advanceTimersByTimeAsync(0);
    await t.sut.stop();

    expect((await storedImage(t.store, image!.id)).replication.status).toBe('REPLICATED');
  });
});
