import { existsSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteImageDocument, ImageDocument, RestoreImagesDocument } from '../generated/graphql.js';
import { codeOf, newConversation, photos, upload, usePostImagesCloud, type Uploaded } from '../support/maintenance.js';
import { snapshotSqlite } from '../support/snapshot.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

/** The whole story over HTTP: upload, delete, wipe the disk, restore; and what restore refuses. */
const cloudWorld = usePostImagesCloud();
const env = cloudWorld.env;

describe('delete, wipe, restore: the whole story over HTTP', () => {
  let server: TestServer;
  let images: Uploaded[];
  let stored: Map<string, Buffer>;
  const file = (key: string) => join(server.storageDir, key);

  beforeAll(async () => {
    server = await startTestServer({ env: env() });
    const conversationId = await newConversation(server, 'alice');
    images = [];
    for (const p of photos.slice(0, 20)) images.push(await upload(server, 'alice', conversationId, p));
    stored = new Map(await Promise.all(images.map(async (i) => [i.id, await readFile(file(i.localKey))] as const)));
  });
  afterAll(async () => {
    await server.stop();
  });

  it('uploaded 20 images, each replicated to its own cloud copy', () => {
    expect(images.every((i) => i.cloudUrl?.startsWith(`http://127.0.0.1:`))).toBe(true);
    expect(new Set(images.map((i) => i.cloudUrl)).size).toBe(20);
  });

  it("another user's delete, restore and image queries are NOT_FOUND and change nothing", async () => {
    const victim = images[0]!;
    const before = snapshotSqlite(server.sqlitePath);
    expect(codeOf(await server.gql(DeleteImageDocument, { id: victim.id }, as('bob')))).toBe('NOT_FOUND');
    expect(codeOf(await server.gql(ImageDocument, { id: victim.id }, as('bob')))).toBe('NOT_FOUND');
    expect(
      codeOf(await server.gql(RestoreImagesDocument, { input: { conversationId: victim.conversationId } }, as('bob'))),
    ).toBe('NOT_FOUND');
    expect(codeOf(await server.gql(RestoreImagesDocument, { input: { imageIds: [victim.id] } }, as('bob')))).toBe(
      'NOT_FOUND',
    );
    // Ids that do not exist answer the same; a malformed one is BAD_USER_INPUT.
    expect(
      codeOf(
        await server.gql(RestoreImagesDocument, { input: { imageIds: ['0123456789abcdef01234567'] } }, as('alice')),
      ),
    ).toBe('NOT_FOUND');
    expect(
      codeOf(await server.gql(RestoreImagesDocument, { input: { conversationId: '../../etc' } }, as('alice'))),
    ).toBe('BAD_USER_INPUT');
    // Bob's own scope is empty: he sees nothing of Alice's.
    const bobs = await server.gql(RestoreImagesDocument, {}, as('bob'));
    expect(bobs.data!.restoreImages.scanned).toBe(0);
    expect(snapshotSqlite(server.sqlitePath)).toEqual(before);
    expect(existsSync(file(victim.localKey))).toBe(true);
    expect(cloudWorld.emulator.deletions).toEqual([]);
  });

  it('deleting removes the cloud copy, both local files and the record; twice is NOT_FOUND', async () => {
    const gone = images[19]!;
    const res = await server.gql(DeleteImageDocument, { id: gone.id }, as('alice'));
    expect(res.errors).toBeUndefined();
    expect(res.data!.deleteImage).toEqual({ deletedImageId: gone.id, localDeleted: true, cloudDeleted: true });
    expect(cloudWorld.emulator.deletions).toHaveLength(1);
    expect(gone.cloudUrl).toContain(`/i/${cloudWorld.emulator.deletions[0]}/`);
    expect(await fetch(gone.cloudUrl!).then((r) => r.status)).toBe(404);
    expect(existsSync(file(gone.localKey))).toBe(false);
    expect(existsSync(file(gone.thumbnailKey))).toBe(false);
    expect(codeOf(await server.gql(ImageDocument, { id: gone.id }, as('alice')))).toBe('NOT_FOUND');
    expect(await fetch(gone.localUrl).then((r) => r.status)).toBe(404);
    expect(codeOf(await server.gql(DeleteImageDocument, { id: gone.id }, as('alice')))).toBe('NOT_FOUND');
    expect(await server.app.store.countPendingDeletions()).toBe(0);
    // The delete URL is a capability: it never appears in a response or a log line.
    expect(JSON.stringify(res)).not.toContain('/delete/');
    expect(JSON.stringify(server.logs)).not.toContain('/delete/');
    images = images.slice(0, 19);
  });

  it('after STORAGE_DIR is wiped, one restore brings back all 19 originals byte for byte, and their thumbnails', async () => {
    await rm(server.storageDir, { recursive: true, force: true });
    const dry = await server.gql(RestoreImagesDocument, { input: { dryRun: true } }, as('alice'));
    expect(dry.data!.restoreImages).toMatchObject({ scanned: 19, restored: 19, failed: 0 });
    expect(existsSync(server.storageDir)).toBe(false);

    const res = await server.gql(RestoreImagesDocument, {}, as('alice'));
    expect(res.errors).toBeUndefined();
    expect(res.data!.restoreImages).toEqual({
      scanned: 19,
      restored: 19,
      alreadyPresent: 0,
      noCloudCopy: 0,
      failed: 0,
      failures: [],
      thumbnailsRegenerated: 19,
      cloudOnly: 0,
      lost: [],
    });
    for (const image of images) {
      const bytes = await readFile(file(image.localKey));
      expect(bytes.equals(stored.get(image.id)!)).toBe(true);
      const thumb = await sharp(await readFile(file(image.thumbnailKey))).metadata();
      expect(thumb.format).toBe('webp');
      expect(Math.max(thumb.width, thumb.height)).toBe(160);
    }
    // The signed local URL serves the restored bytes.
    expect(Buffer.from(await (await fetch(images[3]!.localUrl)).arrayBuffer()).equals(stored.get(images[3]!.id)!)).toBe(
      true,
    );
  });

  it('a second restore finds every copy present', async () => {
    const res = await server.gql(RestoreImagesDocument, {}, as('alice'));
    expect(res.data!.restoreImages).toMatchObject({
      scanned: 19,
      restored: 0,
      alreadyPresent: 19,
      failed: 0,
      thumbnailsRegenerated: 0,
    });
  });

  it('cloud copies with altered bytes are refused one by one, and nothing local is overwritten', async () => {
    const damaged = images[0]!;
    await writeFile(file(damaged.localKey), Buffer.from('not the photo any more'));
    for (const image of images.slice(1)) await rm(file(image.localKey));
    cloudWorld.emulator.setMode('altered');
    const res = await server.gql(RestoreImagesDocument, {}, as('alice'));
    expect(res.data!.restoreImages).toMatchObject({ scanned: 19, restored: 0, failed: 19 });
    for (const f of res.data!.restoreImages.failures) expect(f.reason).toMatch(/does not match the recorded sha256/);
    expect(await readFile(file(damaged.localKey), 'utf8')).toBe('not the photo any more');
    for (const image of images.slice(1)) expect(existsSync(file(image.localKey))).toBe(false);
    expect(await readdir(join(server.storageDir, '.tmp'))).toEqual([]);

    cloudWorld.emulator.setMode('ok');
    const healed = await server.gql(
      RestoreImagesDocument,
      { input: { conversationId: damaged.conversationId } },
      as('alice'),
    );
    expect(healed.data!.restoreImages).toMatchObject({ restored: 19, failed: 0 });
    expect((await readFile(file(damaged.localKey))).equals(stored.get(damaged.id)!)).toBe(true);
  });

  it('a cloud URL outside the allow list (a record edited to the metadata endpoint) is refused', async () => {
    const edited = images[5]!;
    const db = new Database(server.sqlitePath);
    db.prepare('UPDATE images SET cloud_url = ? WHERE id = ?').run(
      'http://169.254.169.254/latest/meta-data/iam.jpg',
      edited.id,
    );
    db.close();
    await rm(file(edited.localKey));
    const res = await server.gql(RestoreImagesDocument, { input: { imageIds: [edited.id] } }, as('alice'));
    expect(res.data!.restoreImages).toMatchObject({ scanned: 1, restored: 0, failed: 1 });
    expect(res.data!.restoreImages.failures[0]).toEqual({
      imageId: edited.id,
      reason: expect.stringMatching(/RESTORE_ALLOWED_HOSTS.*169\.254\.169\.254:80 is not one of/),
    });
    expect(existsSync(file(edited.localKey))).toBe(false);
  });

  it('a cloud URL on the provider host but another port is refused by restore and never a redirect target', async () => {
    const edited = images[6]!;
    // The emulator's own host, another port: a service beside the provider, or beside us.
    const inside = `${cloudWorld.emulator.origin.replace(/:\d+$/, ':1')}/admin/secret.jpg`;
    const db = new Database(server.sqlitePath);
    db.prepare('UPDATE images SET cloud_url = ? WHERE id = ?').run(inside, edited.id);
    db.close();
    await rm(file(edited.localKey));
    const res = await server.gql(RestoreImagesDocument, { input: { imageIds: [edited.id] } }, as('alice'));
    expect(res.data!.restoreImages).toMatchObject({ scanned: 1, restored: 0, failed: 1 });
    expect(res.data!.restoreImages.failures[0]!.reason).toMatch(/127\.0\.0\.1:1 is not one of/);
    // Its old local link finds no file: it answers 404 rather than sending the browser inside.
    const link = await fetch(edited.localUrl, { redirect: 'manual' });
    expect(link.status).toBe(404);
    expect(link.headers.get('location')).toBeNull();
  });
});
