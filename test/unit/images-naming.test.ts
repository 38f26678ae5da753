import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createCore } from '../../src/core.js';
import { imageFileName, imageKey, thumbnailFileName, thumbnailKey } from '../../src/images/naming.js';
import { configureSharp } from '../../src/images/process.js';
import { ImageProcessor } from '../../src/images/processor.js';
import { TEST_FILE_URL_SECRET } from '../support/factories.js';

describe('naming', () => {
  it('names files img_YYYYMMDD_HHMMSS_<8 hex>.<ext> in UTC, in the seed layout', () => {
    const name = imageFileName(new Date('2026-03-04T05:06:07Z'), Buffer.from([0xab, 0x12, 0xcd, 0x34]), 'jpg');
    expect(name).toBe('img_20260304_050607_ab12cd34.jpg');
    expect(thumbnailFileName(name)).toBe('thumb_img_20260304_050607_ab12cd34.webp');
    expect(imageKey(true, name)).toBe('Image_Gen/img_20260304_050607_ab12cd34.jpg');
    expect(imageKey(false, name)).toBe('uploads/img_20260304_050607_ab12cd34.jpg');
    expect(thumbnailKey('thumb_x.webp')).toBe('thumbnails/thumb_x.webp');
  });

  it('uses UTC whatever the local time zone, and pads every field', () => {
    // 23:59:59 on 31 December in UTC is already 1 January in UTC+1.
    const name = imageFileName(new Date(Date.UTC(2025, 11, 31, 23, 59, 59)), Buffer.from([0, 1, 2, 3]), 'png');
    expect(name).toBe('img_20251231_235959_00010203.png');
    expect(name).toMatch(/^img_\d{8}_\d{6}_[0-9a-f]{8}\.png$/);
  });

  it('uses only the first 4 random bytes and refuses fewer', () => {
    expect(imageFileName(new Date(0), Buffer.from([1, 2, 3, 4, 5, 6]), 'webp')).toBe(
      'img_19700101_000000_01020304.webp',
    );
    expect(() => imageFileName(new Date(0), Buffer.from([1, 2]), 'webp')).toThrow(/4 random bytes/);
  });
});

describe('configureSharp', () => {
  it('turns the cache off, gives libvips one thread per image and sizes the queue to the cores and the thread pool', () => {
    expect(configureSharp(8, 4)).toBe(3);
    expect(configureSharp(2, 4)).toBe(2);
    expect(configureSharp(16, 1)).toBe(1);
    expect(sharp.concurrency()).toBe(1);
    const cache = sharp.cache();
    expect([cache.memory.max, cache.files.max, cache.items.max]).toEqual([0, 0, 0]);
  });

  it("is what sizes the server's image queue", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'his-core-'));
    const saved = process.env['UV_THREADPOOL_SIZE'];
    const core = async () => {
      const c = await createCore(
        loadConfig({
          SQLITE_PATH: join(dir, 'm.sqlite'),
          STORAGE_DIR: join(dir, 's'),
          FILE_URL_SECRET: TEST_FILE_URL_SECRET,
        }),
        { log: pino({ level: 'silent' }) },
      );
      await c.store.close();
      return c.imageConcurrency;
    };
    try {
      delete process.env['UV_THREADPOOL_SIZE'];
      expect(await core()).toBe(Math.min(availableParallelism(), 3));
      process.env['UV_THREADPOOL_SIZE'] = '2';
      expect(await core()).toBe(1);
    } finally {
      if (saved === undefined) delete process.env['UV_THREADPOOL_SIZE'];
      else process.env['UV_THREADPOOL_SIZE'] = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ImageProcessor', () => {
  it('runs at most `concurrency` jobs at once and queues the rest in order', async () => {
    const processor = new ImageProcessor({ concurrency: 2 });
    const release: Array<() => void> = [];
    const started: number[] = [];
    const jobs = [0, 1, 2, 3].map((i) =>
      processor.run(
        () =>
          new Promise<number>((resolve) => {
            started.push(i);
            release.push(() => resolve(i));
          }),
      ),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect([processor.active, processor.pending]).toEqual([2, 2]);

    release.shift()!();
    await jobs[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    expect([processor.active, processor.pending]).toEqual([2, 1]);

    while (release.length > 0 || started.length < 4) {
      release.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3]);
    expect([processor.active, processor.pending]).toEqual([0, 0]);
  });

  it('passes a failure to its caller and goes on with the queue', async () => {
    const processor = new ImageProcessor({ concurrency: 1 });
    const failing = processor.run(() => Promise.reject(new Error('decode failed')));
    const next = processor.run(() => Promise.resolve('ok'));
    await expect(failing).rejects.toThrow('decode failed');
    await expect(next).resolves.toBe('ok');
  });

  it('treats a concurrency below 1 as 1', async () => {
    const processor = new ImageProcessor({ concurrency: 0 });
    await expect(processor.run(() => Promise.resolve(1))).resolves.toBe(1);
  });
});

describe('ImageProcessor fairness', () => {
  /** A job that starts, records its name, and ends when released. */
  function gate(
    processor: ImageProcessor,
    started: string[],
    name: string,
    options: { owner: string; heavy?: boolean },
  ) {
    let release!: () => void;
    const done = processor.run(
      () =>
        new Promise<string>((resolve) => {
          started.push(name);
          release = () => resolve(name);
        }),
      options,
    );
    return { done, release: () => release() };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it('never gives the last slot to a heavy job: a light one starts at once behind any number of heavy ones', async () => {
    const processor = new ImageProcessor({ concurrency: 2 });
    const started: string[] = [];
    const heavy = [0, 1, 2].map((i) => gate(processor, started, `h${i}`, { owner: `mallory${i}`, heavy: true }));
    await tick();
    expect(started).toEqual(['h0']);
    const light = gate(processor, started, 'light', { owner: 'alice' });
    await tick();
    expect(started).toEqual(['h0', 'light']);
    light.release();
    await light.done;
    heavy[0]!.release();
    await heavy[0]!.done;
    await tick();
    expect(started).toEqual(['h0', 'light', 'h1']);
    heavy[1]!.release();
    await tick();
    heavy[2]!.release();
    await Promise.all(heavy.map((h) => h.done));
  });

  it('starts the oldest job of the owner with the fewest running, so one burst does not go ahead of everyone', async () => {
    const processor = new ImageProcessor({ concurrency: 1 });
    const started: string[] = [];
    const jobs = [
      gate(processor, started, 'm1', { owner: 'mallory' }),
      gate(processor, started, 'm2', { owner: 'mallory' }),
      gate(processor, started, 'm3', { owner: 'mallory' }),
      gate(processor, started, 'a1', { owner: 'alice' }),
    ];
    await tick();
    expect(started).toEqual(['m1']);
    // m1 runs: alice has none running, so her job goes before mallory's second.
    jobs[0]!.release();
    await tick();
    await tick();
    expect(started).toEqual(['m1', 'a1']);
    jobs[3]!.release();
    await tick();
    await tick();
    expect(started).toEqual(['m1', 'a1', 'm2']);
    jobs[1]!.release();
    await tick();
    await tick();
    jobs[2]!.release();
    expect(await Promise.all(jobs.map((j) => j.done))).toEqual(['m1', 'm2', 'm3', 'a1']);
  });

  it('with one slot, a heavy job still runs (it cannot be starved forever)', async () => {
    const processor = new ImageProcessor({ concurrency: 1 });
    await expect(processor.run(() => Promise.resolve('big'), { owner: 'x', heavy: true })).resolves.toBe('big');
  });
});
