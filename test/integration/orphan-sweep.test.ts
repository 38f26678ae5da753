import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepOrphanFiles } from '../../src/services/orphan-sweep.js';
import { LocalFileStore } from '../../src/storage/local-file-store.js';
import { SqliteMetadataStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeConversation, makeImage, makeMessage } from '../support/factories.js';
import { listFiles } from '../support/multipart.js';

let dir: string;
let files: LocalFileStore;
let store: SqliteMetadataStore;
const now = new Date('2026-06-01T12:00:00Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-sweep-'));
  files = new LocalFileStore({ root: join(dir, 'storage') });
  await files.init();
  store = new SqliteMetadataStore({ path: join(dir, 'm.sqlite') });
  await store.init();
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function plant(key: string, mtime: Date) {
  await writeFile(join(dir, 'storage', key), 'bytes');
  await utimes(join(dir, 'storage', key), mtime, mtime);
}

describe('the orphan sweep after an interrupted upload', () => {
  it('removes old files no record points to, keeps recorded ones and young ones (an upload in flight)', async () => {
    const conversation = makeConversation({ userId: 'u' });
    await store.createConversation(conversation);
    const message = makeMessage(conversation);
    const image = makeImage(message, { localKey: 'uploads/img_20260601_090000_aaaaaaaa.jpg', thumbnailKey: 'thumbnails/thumb_img_20260601_090000_aaaaaaaa.webp' });
    await store.addMessage({ ...message, images: [image] });

    await plant('uploads/img_20260601_090000_aaaaaaaa.jpg', hoursAgo(3)); // recorded
    await plant('thumbnails/thumb_img_20260601_090000_aaaaaaaa.webp', hoursAgo(3)); // recorded thumbnail
    await plant('Image_Gen/img_20260601_080000_bbbbbbbb.png', hoursAgo(2)); // the process died before the record
    await plant('thumbnails/thumb_img_20260601_080000_bbbbbbbb.webp', hoursAgo(2));
    await plant('uploads/img_20260601_115900_cccccccc.jpg', hoursAgo(0.01)); // another instance is mid-upload

    const result = await sweepOrphanFiles({ files, store, now, olderThanMs: 3_600_000 });
    expect(result.removed.sort()).toEqual(['Image_Gen/img_20260601_080000_bbbbbbbb.png', 'thumbnails/thumb_img_20260601_080000_bbbbbbbb.webp']);
    expect(result).toMatchObject({ scanned: 5, keptRecent: 1 });
    expect(Object.keys(await listFiles(join(dir, 'storage'))).sort()).toEqual([
      'thumbnails/thumb_img_20260601_090000_aaaaaaaa.webp',
      'uploads/img_20260601_090000_aaaaaaaa.jpg',
      'uploads/img_20260601_115900_cccccccc.jpg',
    ]);
  });

  it('a file that cannot be removed is counted and logged, and the pass goes on to the others', async () => {
    await plant('uploads/img_20260601_070000_dddddddd.jpg', hoursAgo(5));
    await plant('uploads/img_20260601_070000_eeeeeeee.jpg', hoursAgo(5));
    const stuck = 'uploads/img_20260601_070000_dddddddd.jpg';
    const errors: unknown[] = [];
    const result = await sweepOrphanFiles({
      // The real store, with one unlink refused as a permission problem would refuse it.
      files: { listKeys: () => files.listKeys(), delete: (key) => (key === stuck ? Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })) : files.delete(key)) },
      store,
      now,
      olderThanMs: 3_600_000,
      log: { warn: () => undefined, error: (o: unknown) => errors.push(o) } as never,
    });
    expect(result).toMatchObject({ scanned: 2, failed: 1, removed: ['uploads/img_20260601_070000_eeeeeeee.jpg'] });
    expect(errors).toHaveLength(1);
    expect(Object.keys(await listFiles(join(dir, 'storage')))).toEqual([stuck]);
  });
});
