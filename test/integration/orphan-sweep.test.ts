import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepOrphanFiles } from '../../src/maintenance/orphan-sweep.js';
import { LocalFileStore } from '../../src/files/local-file-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
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

/** What an upload notes before it writes its files; backdated like the files it names. */
async function journal(keys: string[], mtime: Date) {
  await files.journal(keys);
  const dirPath = join(dir, 'storage', '.journal');
  for (const name of await readdir(dirPath)) await utimes(join(dirPath, name), mtime, mtime);
}

describe('the orphan sweep after an interrupted upload', () => {
  it('removes old files an upload noted but never recorded, keeps recorded ones, young ones, and files it did not write', async () => {
    const conversation = makeConversation({ userId: 'u' });
    await store.createConversation(conversation);
    const message = makeMessage(conversation);
    const image = makeImage(message, {
      localKey: 'uploads/img_20260601_090000_aaaaaaaa.jpg',
      thumbnailKey: 'thumbnails/thumb_img_20260601_090000_aaaaaaaa.webp',
    });
    await store.addMessage({ ...message, images: [image] });

    await plant('uploads/img_20260601_090000_aaaaaaaa.jpg', hoursAgo(3)); // recorded
    await plant('thumbnails/thumb_img_20260601_090000_aaaaaaaa.webp', hoursAgo(3)); // recorded thumbnail
    // The process died after noting and writing these, before the record.
    await journal(
      ['Image_Gen/img_20260601_080000_bbbbbbbb.png', 'thumbnails/thumb_img_20260601_080000_bbbbbbbb.webp'],
      hoursAgo(2),
    );
    await plant('Image_Gen/img_20260601_080000_bbbbbbbb.png', hoursAgo(2));
    await plant('thumbnails/thumb_img_20260601_080000_bbbbbbbb.webp', hoursAgo(2));
    await plant('uploads/img_20260601_115900_cccccccc.jpg', hoursAgo(0.01)); // another instance is mid-upload
    // Same name shape, no note: not ours to delete (the seed chatbot's, or a restored backup's).
    await plant('uploads/img_20240101_120000_dddddddd.jpg', hoursAgo(24 * 40));

    const result = await sweepOrphanFiles({ files, store, now, olderThanMs: 3_600_000 });
    expect(result.removed.sort()).toEqual([
      'Image_Gen/img_20260601_080000_bbbbbbbb.png',
      'thumbnails/thumb_img_20260601_080000_bbbbbbbb.webp',
    ]);
    expect(result.unrecorded).toEqual(['uploads/img_20240101_120000_dddddddd.jpg']);
    expect(result).toMatchObject({ scanned: 6, keptRecent: 1 });
    expect(Object.keys(await listFiles(join(dir, 'storage'))).sort()).toEqual([
      'thumbnails/thumb_img_20260601_090000_aaaaaaaa.webp',
      'uploads/img_20240101_120000_dddddddd.jpg',
      'uploads/img_20260601_090000_aaaaaaaa.jpg',
      'uploads/img_20260601_115900_cccccccc.jpg',
    ]);
    // The note is done with: its files are gone.
    expect(await readdir(join(dir, 'storage', '.journal'))).toEqual([]);
  });

  it('deletes nothing of a seed chatbot Storage folder under an empty store: PNGs, uploads, a PDF, thumbnails', async () => {
    const seed = [
      'Image_Gen/img_20240101_120000_0a0a0a0a.png',
      'Image_Gen/generated_image_1.png',
      'uploads/img_20240102_090000_1b1b1b1b.jpg',
      'uploads/report_q3.pdf',
      'thumbnails/thumb_img_20240101_120000_0a0a0a0a.webp',
      'thumbnails/thumb_orphan.png',
    ];
    for (const key of seed) await plant(key, hoursAgo(24 * 40));
    const before = await listFiles(join(dir, 'storage'));

    const result = await sweepOrphanFiles({ files, store, now, olderThanMs: 3_600_000 });
    expect(result.removed).toEqual([]);
    expect(result.unrecorded.sort()).toEqual([...seed].sort());
    expect(await listFiles(join(dir, 'storage'))).toEqual(before);

    // Only when the operator asks are they moved aside, and then kept, not deleted.
    const moved = await sweepOrphanFiles({ files, store, now, olderThanMs: 3_600_000, quarantine: true });
    expect(moved.unrecorded.sort()).toEqual([...seed].sort());
    const after = await listFiles(join(dir, 'storage'));
    expect(Object.keys(after).filter((k) => !k.startsWith('.quarantine/'))).toEqual([]);
    expect(Object.values(after).reduce((a, b) => a + b, 0)).toBe(Object.values(before).reduce((a, b) => a + b, 0));
  });

  it('a file that cannot be removed is counted and logged, the pass goes on, and its note stays for the next pass', async () => {
    await journal(
      ['uploads/img_20260601_070000_dddddddd.jpg', 'uploads/img_20260601_070000_eeeeeeee.jpg'],
      hoursAgo(5),
    );
    await plant('uploads/img_20260601_070000_dddddddd.jpg', hoursAgo(5));
    await plant('uploads/img_20260601_070000_eeeeeeee.jpg', hoursAgo(5));
    const stuck = 'uploads/img_20260601_070000_dddddddd.jpg';
    const errors: unknown[] = [];
    const result = await sweepOrphanFiles({
      // The real store, with one unlink refused as a permission problem would refuse it.
      files: {
        listKeys: () => files.listKeys(),
        listJournal: () => files.listJournal(),
        delete: (key) =>
          key === stuck
            ? Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }))
            : files.delete(key),
      },
      store,
      now,
      olderThanMs: 3_600_000,
      log: { warn: () => undefined, error: (o: unknown) => errors.push(o) } as never,
    });
    expect(result).toMatchObject({ scanned: 2, failed: 1, removed: ['uploads/img_20260601_070000_eeeeeeee.jpg'] });
    expect(errors).toHaveLength(1);
    expect(Object.keys(await listFiles(join(dir, 'storage'))).filter((k) => !k.startsWith('.journal/'))).toEqual([
      stuck,
    ]);
    expect(await readdir(join(dir, 'storage', '.journal'))).toHaveLength(1);
    // Next pass, with the permission fixed: removed, and the note with it.
    const again = await sweepOrphanFiles({ files, store, now, olderThanMs: 3_600_000 });
    expect(again.removed).toEqual([stuck]);
    expect(await readdir(join(dir, 'storage', '.journal'))).toEqual([]);
  });

  it('a young note protects nothing yet and is kept: its upload may still be running', async () => {
    await journal(['uploads/img_20260601_115000_ffffffff.jpg'], hoursAgo(0.1));
    await plant('uploads/img_20260601_115000_ffffffff.jpg', hoursAgo(2));
    const result = await sweepOrphanFiles({ files, store, now, olderThanMs: 3_600_000 });
    expect(result.removed).toEqual([]);
    expect(result.unrecorded).toEqual(['uploads/img_20260601_115000_ffffffff.jpg']);
    expect(await readdir(join(dir, 'storage', '.journal'))).toHaveLength(1);
  });
});
