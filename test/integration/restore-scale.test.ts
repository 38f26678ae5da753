import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createCore } from '../../src/core.js';
import type { ImageRecord } from '../../src/domain/types.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { runCli, spawnCli } from '../support/cli.js';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { overrideStore } from '../support/override-store.js';
import { emulatedEnv, seedReplicatedImages } from '../support/seed-replicated.js';
import { sha256Hex } from '../support/factories.js';

/**
 * A restore bigger than one page of the store: it must stream page by page (never all records at
 * once), restore every image exactly once across page boundaries (ties in uploadedAt included),
 * and resume where a killed run stopped when it is simply run again.
 */
const COUNT = 250;
const PAGE = 100;

describe('a restore of more images than one page', () => {
  let cloud: Emulator;
  let dir: string;
  let env: Record<string, string>;
  let images: ImageRecord[];

  beforeAll(async () => {
    cloud = await startPostImagesEmulator();
    dir = await mkdtemp(join(tmpdir(), 'his-restore-scale-'));
    env = emulatedEnv(dir, cloud);
    const store = new SqliteMetadataStore({ path: env['SQLITE_PATH']! });
    await store.init();
    // Five images share each uploadedAt, so page boundaries fall inside ties.
    const photo = await readFile('test/fixtures/coffee.png');
    ({ images } = await seedReplicatedImages(store, cloud, {
      photo,
      count: COUNT,
      width: 64,
      height: 48,
      sameInstantEvery: 5,
    }));
    await store.close();
  });
  afterAll(async () => {
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const allRestoredByteForByte = async () => {
    for (const image of images) {
      expect(sha256Hex(await readFile(join(env['STORAGE_DIR']!, image.localKey!)))).toBe(image.sha256);
      expect(existsSync(join(env['STORAGE_DIR']!, image.thumbnailKey!))).toBe(true);
    }
  };

  it('walks the store a page at a time, never more than two pages ahead of the finished work, and downloads each image once', async () => {
    const real = new SqliteMetadataStore({ path: env['SQLITE_PATH']! });
    const pageSizes: number[] = [];
    let finished = 0;
    const finishedWhenPageRead: number[] = [];
    // The store as the restore sees it, recording each page it asks for and how far the work was.
    const store = overrideStore(real, {
      scanImages: (original) => (owner, filter, after, limit) => {
        pageSizes.push(limit);
        finishedWhenPageRead.push(finished);
        return original(owner, filter, after, limit);
      },
    });
    const core = await createCore(loadConfig(env), { log: pino({ level: 'silent' }), store });
    try {
      const result = await core.restore.restore({ userId: 'operator', isAdmin: true }, {}, (done) => (finished = done));
      expect(result).toMatchObject({
        scanned: COUNT,
        restored: COUNT,
        failed: 0,
        alreadyPresent: 0,
        thumbnailsRegenerated: COUNT,
      });
    } finally {
      await core.store.close();
    }
    // Three slices of at most 100 records; slice k is read only once slice k-2 is done.
    expect(pageSizes.every((n) => n <= PAGE)).toBe(true);
    expect(pageSizes.length).toBe(Math.ceil(COUNT / PAGE));
    finishedWhenPageRead.forEach((done, k) => expect(done).toBeGreaterThanOrEqual(Math.max(0, k - 1) * PAGE));
    expect(cloud.downloads.size).toBe(COUNT);
    expect([...cloud.downloads.values()].every((n) => n === 1)).toBe(true);
    await allRestoredByteForByte();
  });

  it('a restore killed part way is resumed by running it again, and reconcile clears what it left in .tmp', async () => {
    await rm(env['STORAGE_DIR']!, { recursive: true, force: true });
    cloud.downloads.clear();
    cloud.cdnLatencyMs = 20;
    const uploads = join(env['STORAGE_DIR']!, 'uploads');
    const restored = () => (existsSync(uploads) ? readdirSync(uploads).length : 0);
    const first = spawnCli(['restore', '--concurrency', '2'], env);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      first.on('exit', (_code, signal) => resolve(signal)),
    );
    while (restored() < 40 && first.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const done = restored();
    expect(done).toBeGreaterThanOrEqual(40);
    expect(done).toBeLessThan(COUNT);
    cloud.cdnLatencyMs = 0;

    const cli = (...args: string[]) => runCli(args, env);
    const second = await cli('restore', '--json');
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as {
      scanned: number;
      restored: number;
      alreadyPresent: number;
      failed: number;
    };
    // Every original the killed run had moved into place is whole (moves are atomic) and kept.
    expect(result).toMatchObject({ scanned: COUNT, failed: 0, alreadyPresent: done, restored: COUNT - done });
    // At most the two downloads in flight when it was killed are fetched a second time.
    const downloads = [...cloud.downloads.values()].reduce((a, b) => a + b, 0);
    expect(downloads).toBeGreaterThanOrEqual(COUNT);
    expect(downloads).toBeLessThanOrEqual(COUNT + 2);
    await allRestoredByteForByte();

    // What the killed run was writing stays in .tmp (never at a final key); reconcile removes such
    // temp files once they are an hour old, and keeps a young one (an upload still writing).
    const tmp = join(env['STORAGE_DIR']!, '.tmp');
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, 'planted-by-a-crash.part'), 'half an image');
    const stale = readdirSync(tmp);
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    for (const name of stale) await utimes(join(tmp, name), twoHoursAgo, twoHoursAgo);
    await writeFile(join(tmp, 'upload-in-flight.part'), 'still arriving');
    const dry = await cli('reconcile', '--dry-run', '--json');
    expect(JSON.parse(dry.stdout).files.tempFilesRemoved).toBe(stale.length);
    expect(readdirSync(tmp).length).toBe(stale.length + 1);
    const reconcile = await cli('reconcile', '--json');
    expect(reconcile.code).toBe(0);
    expect(JSON.parse(reconcile.stdout).files.tempFilesRemoved).toBe(stale.length);
    expect(readdirSync(tmp)).toEqual(['upload-in-flight.part']);
    await allRestoredByteForByte();
  });
});
