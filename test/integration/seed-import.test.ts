/**
 * import-seed's service over a real SQLite file, a real STORAGE_DIR and real sharp, fed the
 * fixture written as the seed chatbot's Python writes it (test/fixtures/seed-app). The CLI
 * around it, and a server over what it imported, are tested in test/e2e/seed-adoption.test.ts.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { thumbnailOf } from '../../src/images/thumbnail.js';
import { probeImage } from '../../src/images/validate.js';
import { SeedImportService, type SeedImportInput } from '../../src/maintenance/seed-import.js';
import { sha256File } from '../../src/cloud/download.js';
import { LocalFileStore } from '../../src/files/local-file-store.js';
import { readExportFile, type ExportEntry } from '../../src/metadata/mongo/export-file.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { startImgbbEmulator, startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { copySeedApp, SEED, snapshotDir, type SeedCopy } from '../support/seed-app.js';
import { snapshotSqlite } from '../support/snapshot.js';
import { sha256Hex } from '../support/factories.js';

let postimages: Emulator;
let imgbb: Emulator;
beforeAll(async () => {
  [postimages, imgbb] = await Promise.all([startPostImagesEmulator(), startImgbbEmulator()]);
});
afterAll(async () => {
  await Promise.all([postimages.stop(), imgbb.stop()]);
});

let dir: string;
let seed: SeedCopy;
let store: SqliteMetadataStore;
let files: LocalFileStore;
let journaled: string[][];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-seed-'));
  seed = await copySeedApp(dir, { postimages, imgbb });
  store = new SqliteMetadataStore({ path: join(dir, 'metadata.sqlite') });
  await store.init();
  files = new LocalFileStore({ root: join(dir, 'storage') });
  await files.init();
  journaled = [];
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function service(target: LocalFileStore = files): SeedImportService {
  return new SeedImportService({
    store,
    files: {
      stat: (k) => target.stat(k),
      absolutePath: (k) => target.absolutePath(k),
      tempPath: () => target.tempPath(),
      put: (k, d) => target.put(k, d),
      putFromFile: (k, t) => target.putFromFile(k, t),
      delete: (k) => target.delete(k),
      journal: (keys) => {
        journaled.push([...keys]);
        return target.journal(keys);
      },
    },
    probe: (path) => probeImage(path, { maxInputPixels: 100_000_000 }),
    thumbnail: (path) => thumbnailOf(path, { maxInputPixels: 100_000_000, size: 256 }),
    sha256File,
    clock: () => new Date(),
    log: pino({ level: 'silent' }),
  });
}

const input = (o: Partial<SeedImportInput> = {}): SeedImportInput => ({
  messages: readExportFile(seed.messages),
  conversations: readExportFile(seed.conversations),
  sourceDir: seed.storage,
  owner: null,
  dryRun: false,
  ...o,
});

async function collect(entries: AsyncIterable<ExportEntry>): Promise<ExportEntry[]> {
  const out: ExportEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

describe('mongoexport files', () => {
  it('reads JSON lines and --jsonArray, canonical and relaxed Extended JSON, into the same BSON values', async () => {
    const lines = await collect(readExportFile(seed.messages));
    expect(lines).toHaveLength(5);
    const docs = lines.map((l) => (l.ok ? l.doc : null));
    const array = join(dir, 'array.json');
    // The relaxed form of the same documents, as `mongoexport --jsonArray --jsonFormat relaxed` writes them.
    const relaxed = (await readFile(seed.messages, 'utf8'))
      .trim()
      .split('\n')
      .map((l) =>
        l.replace(
          /\{"\$date":\{"\$numberLong":"(\d+)"\}\}/g,
          (_, ms: string) => `{"$date":"${new Date(Number(ms)).toISOString()}"}`,
        ),
      );
    expect(relaxed.join('\n')).not.toMatch(/numberLong/);
    await writeFile(array, `\uFEFF[\n${relaxed.join(',\n')}\n]`);
    const fromArray = (await collect(readExportFile(array))).map((l) => (l.ok ? l.doc : null));
    expect(fromArray).toEqual(docs);
    expect(docs[0]!['created_at']).toEqual(new Date('2024-11-02T10:15:00.000Z'));
    expect(docs[0]!['_id']!.toHexString()).toBe('6725f3a0c2b1a4e5f6a7c001');
  });

  it('reports a line that is no document with its number, and reads on', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(
      path,
      '{"_id": {"$oid": "6725f3a0c2b1a4e5f6a7c009"}}\n\n{"truncated": \n[1, 2]\n{"ok": {"$numberLong": "5"}}\n',
    );
    const entries = await collect(readExportFile(path));
    expect(entries.map((e) => (e.ok ? e.line : `${e.line}: ${e.reason.split(':')[0]}`))).toEqual([
      1,
      '3: not Extended JSON',
      '4: not a JSON object',
      5,
    ]);
    expect(entries[3]).toMatchObject({ ok: true, doc: { ok: 5 } });
  });
});

describe('import-seed', () => {
  it('imports every image for its owner, with digests and sizes from the bytes, and leaves the seed folder as it was', async () => {
    const before = await snapshotDir(seed.storage);
    const result = await service().run(input());
    expect(result).toMatchObject({
      conversations: 2,
      messages: 5,
      images: 4,
      missingWithCloudCopy: 1,
      missingNoCloudCopy: 0,
      unreadable: 0,
      ownerless: 0,
      conflicts: 0,
      failed: 0,
      thumbnailsMade: 0,
      queuedForReplication: 1,
      problems: [],
    });
    expect(await snapshotDir(seed.storage)).toEqual(before);

    const alice = await store.listImages('alice', {}, { first: 10, after: null });
    const bob = await store.listImages('bob', {}, { first: 10, after: null });
    expect(alice.items.map((i) => i.localKey).sort()).toEqual([SEED.generated, SEED.localOnly, SEED.upload].sort());
    expect(bob.items.map((i) => i.localKey)).toEqual([SEED.missing]);
    const byKey = new Map([...alice.items, ...bob.items].map((i) => [i.localKey, i]));
    for (const key of [SEED.generated, SEED.upload, SEED.localOnly]) {
      const image = byKey.get(key)!;
      const bytes = seed.files.get(key)!;
      expect(image).toMatchObject({
        sha256: sha256Hex(bytes),
        size: bytes.length,
        width: 96,
        height: 72,
        cloudVerifiedAt: null,
        placeholder: null,
      });
      // Copied byte for byte, with the seed's thumbnail.
      expect(await readFile(files.absolutePath(key))).toEqual(bytes);
      expect(await readFile(files.absolutePath(image.thumbnailKey!))).toEqual(seed.files.get(image.thumbnailKey!));
    }
    expect(byKey.get(SEED.generated)).toMatchObject({
      service: 'POSTIMAGES',
      generated: true,
      caption: 'A lighthouse at dusk',
      replication: { status: 'REPLICATED' },
    });
    expect(byKey.get(SEED.generated)!.cloudUrl).toBe(
      `${postimages.origin}/i/Xy12AbCd/img_20241102_101500_a1b2c3d4.png`,
    );
    expect(byKey.get(SEED.generated)!.deleteUrl).toBe('https://postimg.cc/delete/Xy12AbCd/9f8e7d6c');
    expect(byKey.get(SEED.upload)).toMatchObject({
      service: 'IMGBB',
      mimeType: 'image/jpeg',
      replication: { status: 'REPLICATED' },
    });
    // The seed's "cloud_url = url": no cloud copy, queued for one. Its message had no user_id: alice's, from the conversation.
    expect(byKey.get(SEED.localOnly)).toMatchObject({
      userId: 'alice',
      messageId: SEED.localOnlyMessage,
      cloudUrl: null,
      service: 'LOCAL',
      replication: { status: 'PENDING', attempts: 0 },
    });
    const [message] = await store.getMessagesByIds([SEED.localOnlyMessage]);
    expect(message).toMatchObject({ userId: 'alice', conversationId: SEED.aliceConversation, role: 'USER' });
    // The lost file: recorded with its cloud copy, to be restored (digest unknown, a WebP thumbnail to make).
    expect(byKey.get(SEED.missing)).toMatchObject({
      sha256: '',
      thumbnailKey: 'thumbnails/thumb_img_20241104_120000_10571057.webp',
      replication: { status: 'REPLICATED' },
    });
    expect(existsSync(files.absolutePath(SEED.missing))).toBe(false);
    // Seed dates: the naive ISO uploaded_at is UTC.
    expect(byKey.get(SEED.generated)!.uploadedAt).toEqual(new Date('2024-11-02T10:15:00.412Z'));
    // Conversations keep their titles and owners; nothing else lands in STORAGE_DIR.
    const conversations = await store.getConversationsByIds([SEED.aliceConversation, SEED.bobConversation]);
    expect(conversations.map((c) => [c.userId, c.title]).sort()).toEqual([
      ['alice', 'Lighthouse ideas'],
      ['bob', 'Cats'],
    ]);
    expect(existsSync(files.absolutePath(SEED.pdf))).toBe(false);
    expect(await readdir(join(dir, 'storage', '.journal'))).toEqual([]);
    expect(await readdir(join(dir, 'storage', '.tmp'))).toEqual([]);
  });

  it('a second run imports nothing twice and changes nothing', async () => {
    await service().run(input());
    const stored = snapshotSqlite(join(dir, 'metadata.sqlite'));
    const storage = await snapshotDir(join(dir, 'storage'));
    const again = await service().run(input());
    expect(again).toMatchObject({
      conversations: 0,
      messages: 0,
      images: 0,
      conversationsAlreadyImported: 2,
      messagesAlreadyImported: 5,
      imagesAlreadyImported: 4,
      failed: 0,
    });
    expect(snapshotSqlite(join(dir, 'metadata.sqlite'))).toEqual(stored);
    expect(await snapshotDir(join(dir, 'storage'))).toEqual(storage);
  });

  it('a dry run counts the same and writes nothing', async () => {
    const dry = await service().run(input({ dryRun: true }));
    expect(dry).toMatchObject({
      conversations: 2,
      messages: 5,
      images: 4,
      missingWithCloudCopy: 1,
      queuedForReplication: 1,
    });
    expect(await store.listConversations(null, { first: 10, after: null })).toMatchObject({ items: [] });
    expect((await snapshotDir(join(dir, 'storage'))).size).toBe(0);
    expect(journaled).toEqual([]);
  });

  it('in place (the seed folder is STORAGE_DIR) copies nothing and puts no seed file in the journal', async () => {
    const inPlace = new LocalFileStore({ root: seed.storage });
    await inPlace.init();
    const before = await snapshotDir(seed.storage);
    const result = await service(inPlace).run(input());
    expect(result).toMatchObject({ images: 4, conflicts: 0, failed: 0 });
    expect(journaled).toEqual([]);
    const after = await snapshotDir(seed.storage);
    // Only the store's own folders appear (empty); every seed file is as it was.
    for (const [path, file] of before) expect(after.get(path)).toEqual(file);
    expect([...after.keys()].filter((p) => !before.has(p))).toEqual([]);
  });

  it('makes a thumbnail the seed lacks, and journals only the files it writes', async () => {
    await rm(join(seed.storage, 'thumbnails', 'thumb_img_20241102_101620_0badc0de.jpg'));
    const result = await service().run(input());
    expect(result.thumbnailsMade).toBe(1);
    const [image] = (await store.listImages('alice', {}, { first: 10, after: null })).items.filter(
      (i) => i.localKey === SEED.upload,
    );
    expect(image!.thumbnailKey).toBe('thumbnails/thumb_img_20241102_101620_0badc0de.webp');
    expect((await probeImage(files.absolutePath(image!.thumbnailKey!), { maxInputPixels: 1e6 })).format).toBe('webp');
    const all = journaled.flat();
    expect(all).toContain(SEED.upload);
    expect(all).toContain('thumbnails/thumb_img_20241102_101620_0badc0de.webp');
  });

  it('gives two images of one stem (a.jpg, a.png) thumbnails of their own, and a dry run renders none', async () => {
    const lines = (await readFile(seed.messages, 'utf8')).trim().split('\n');
    const doc = JSON.parse(lines[1]!) as { images: Record<string, unknown>[] };
    await writeFile(
      join(seed.storage, 'uploads', 'img_20241102_101620_0badc0de.png'),
      await readFile('test/fixtures/coffee.png'),
    );
    doc.images.push({
      url: '/static/Storage/uploads/img_20241102_101620_0badc0de.png',
      cloud_url: '/static/Storage/uploads/img_20241102_101620_0badc0de.png',
      service: 'local',
    });
    for (const image of doc.images) delete image['thumbnail_url'];
    lines[1] = JSON.stringify(doc);
    await writeFile(seed.messages, `${lines.join('\n')}\n`);
    let renders = 0;
    const counting = service();
    const deps = (counting as unknown as { deps: { thumbnail: (p: string) => Promise<Buffer> } }).deps;
    const real = deps.thumbnail;
    deps.thumbnail = (p) => (renders++, real(p));

    const dry = await counting.run(input({ dryRun: true }));
    expect(dry).toMatchObject({ thumbnailsMade: 2, conflicts: 0 });
    expect(renders).toBe(0);

    const result = await counting.run(input());
    expect(result).toMatchObject({ thumbnailsMade: 2, conflicts: 0, failed: 0 });
    expect(renders).toBe(2);
    const [message] = await store.getMessagesByIds(['6725f3a0c2b1a4e5f6a7c002']);
    const thumbs = message!.images.map((i) => i.thumbnailKey);
    expect(thumbs).toEqual([
      'thumbnails/thumb_img_20241102_101620_0badc0de.webp',
      'thumbnails/thumb_img_20241102_101620_0badc0de_png.webp',
    ]);
    for (const t of thumbs) expect(existsSync(files.absolutePath(t!))).toBe(true);
  });

  it('reports documents without an owner, and imports them for --owner', async () => {
    // A conversation without user_id, and a message without one in it.
    const lonely = '6725f3a0c2b1a4e5f6a7b8ff';
    await writeFile(join(dir, 'conversations.json'), JSON.stringify([{ _id: { $oid: lonely }, title: 'Nobody' }]));
    await writeFile(
      join(dir, 'messages.json'),
      `${JSON.stringify({ _id: { $oid: '6725f3a0c2b1a4e5f6a7c0ff' }, conversation_id: { $oid: lonely }, role: 'user', content: 'hi', created_at: { $date: '2024-11-05T00:00:00Z' }, images: [] })}\n`,
    );
    const refused = await service().run(input());
    expect(refused).toMatchObject({ messages: 0, conversations: 0, ownerless: 2 });
    expect(refused.problems.map((p) => p.kind)).toEqual(['ownerless', 'ownerless']);
    expect(refused.problems[0]!.reason).toMatch(/--owner/);
    expect(await store.getConversationsByIds([lonely])).toEqual([]);

    const claimed = await service().run(input({ owner: 'carol' }));
    expect(claimed).toMatchObject({ messages: 1, conversations: 1, ownerless: 0 });
    expect((await store.getConversationsByIds([lonely]))[0]).toMatchObject({ userId: 'carol', title: 'Nobody' });
    expect((await store.getMessagesByIds(['6725f3a0c2b1a4e5f6a7c0ff']))[0]).toMatchObject({ userId: 'carol' });
  });

  it('reports a file that is no image, a lost one, and a name STORAGE_DIR already uses for other bytes; overwrites nothing', async () => {
    const lines = (await readFile(seed.messages, 'utf8')).trim().split('\n');
    const doc = JSON.parse(lines[2]!) as { images: Record<string, unknown>[] };
    // The PDF, referenced as an image; an image whose file is gone with no cloud copy.
    doc.images.push({ url: `/static/Storage/${SEED.pdf}`, cloud_url: `/static/Storage/${SEED.pdf}`, service: 'local' });
    doc.images.push({
      url: '/static/Storage/uploads/img_20241103_090001_0000dead.jpg',
      cloud_url: '/static/Storage/uploads/img_20241103_090001_0000dead.jpg',
      service: 'local',
    });
    lines[2] = JSON.stringify(doc);
    lines.push('{"_id": ');
    await writeFile(seed.messages, `${lines.join('\n')}\n`);
    // Another file already at the generated image's key.
    await mkdir(join(dir, 'storage', 'Image_Gen'), { recursive: true });
    await writeFile(files.absolutePath(SEED.generated), 'not the seed image');

    const result = await service().run(input());
    expect(result).toMatchObject({ images: 3, unreadable: 2, missingNoCloudCopy: 1, conflicts: 1, failed: 0 });
    expect(result.problems.map((p) => p.kind).sort()).toEqual([
      'conflicts',
      'missingNoCloudCopy',
      'unreadable',
      'unreadable',
    ]);
    expect(result.problems.find((p) => p.kind === 'unreadable' && p.where.startsWith('messages:'))!.where).toBe(
      'messages:6',
    );
    expect(await readFile(files.absolutePath(SEED.generated), 'utf8')).toBe('not the seed image');
    // The message itself is imported, with the images that could be.
    const [message] = await store.getMessagesByIds([SEED.localOnlyMessage]);
    expect(message!.images.map((i) => i.localKey)).toEqual([SEED.localOnly]);
    expect(existsSync(files.absolutePath(SEED.pdf))).toBe(false);
  });
});
