import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CleanupLocalImagesDocument,
  DeleteImageDocument,
  ImageDocument,
  RestoreImagesDocument,
} from '../generated/graphql.js';
import { eventually } from '../support/eventually.js';
import { codeOf, newConversation, photos, upload, usePostImagesCloud } from '../support/maintenance.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

/** Deletions that race a restore or each other, fail at the provider, or are cut short by a crash. */
const cloudWorld = usePostImagesCloud();
const env = cloudWorld.env;

describe('deletions that race, fail or are interrupted', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: env(), keepDir: true });
  });
  afterAll(async () => {
    await server.stop();
    await rm(server.dir, { recursive: true, force: true });
  });

  /** Alice restores a conversation; its download is held at the CDN until her delete of `imageId` has finished. */
  async function restoreWhileDeleting(conversationId: string, imageId: string) {
    let release = () => {};
    cloudWorld.emulator.cdnHold = new Promise<void>((r) => (release = r));
    try {
      const restoring = server.gql(RestoreImagesDocument, { input: { conversationId } }, as('alice'));
      expect(
        await eventually(
          () => cloudWorld.emulator.cdnHeld,
          (n) => n >= 1,
        ),
      ).toBe(1);
      const del = await server.gql(DeleteImageDocument, { id: imageId }, as('alice'));
      release();
      return { restore: await restoring, del };
    } finally {
      release();
      cloudWorld.emulator.cdnHold = null;
    }
  }

  it('of two concurrent deletes of one image exactly one succeeds; the cloud copy is deleted once', async () => {
    const conversationId = await newConversation(server, 'alice');
    const image = await upload(server, 'alice', conversationId, photos[15]!);
    const before = cloudWorld.emulator.deletions.length;
    const results = await Promise.all(
      [1, 2, 3].map(() => server.gql(DeleteImageDocument, { id: image.id }, as('alice'))),
    );
    expect(results.filter((r) => r.data?.deleteImage?.deletedImageId === image.id)).toHaveLength(1);
    expect(results.filter((r) => codeOf(r) === 'NOT_FOUND')).toHaveLength(2);
    expect(cloudWorld.emulator.deletions.length - before).toBe(1);
    expect(existsSync(join(server.storageDir, image.localKey))).toBe(false);
  });

  it('a delete racing a restore of the same image leaves it gone, with no file resurrected', async () => {
    const conversationId = await newConversation(server, 'alice');
    const image = await upload(server, 'alice', conversationId, photos[16]!);
    await rm(join(server.storageDir, image.localKey));
    await rm(join(server.storageDir, image.thumbnailKey));
    // The provider refuses the deletion for now, so the download still gets the bytes.
    cloudWorld.emulator.setMode('error500');
    try {
      // The restore's download is held in flight while the whole delete runs.
      const { restore, del } = await restoreWhileDeleting(conversationId, image.id);
      // The delete finished first and the restore wrote its download afterwards, then noticed.
      expect(del.data!.deleteImage).toMatchObject({ localDeleted: true, cloudDeleted: false });
      expect(restore.data!.restoreImages).toMatchObject({ scanned: 1, failed: 0 });
    } finally {
      cloudWorld.emulator.setMode('ok');
    }
    expect(existsSync(join(server.storageDir, image.localKey))).toBe(false);
    expect(existsSync(join(server.storageDir, image.thumbnailKey))).toBe(false);
    expect(codeOf(await server.gql(ImageDocument, { id: image.id }, as('alice')))).toBe('NOT_FOUND');
    // The refused cloud deletion is retried by the worker now that the provider accepts it.
    expect(
      await eventually(
        () => server.app.store.countPendingDeletions(),
        (n) => n === 0,
      ),
    ).toBe(0);
    expect(await fetch(image.cloudUrl!).then((r) => r.status)).toBe(404);
  });

  it("an admin may delete anyone's image: every copy goes", async () => {
    const conversationId = await newConversation(server, 'alice');
    const image = await upload(server, 'alice', conversationId, photos[14]!);
    const res = await server.gql(DeleteImageDocument, { id: image.id }, as('root', ['admin']));
    expect(res.data!.deleteImage).toMatchObject({ localDeleted: true, cloudDeleted: true });
    expect(existsSync(join(server.storageDir, image.localKey))).toBe(false);
    expect(existsSync(join(server.storageDir, image.thumbnailKey))).toBe(false);
    expect(await fetch(image.cloudUrl!).then((r) => r.status)).toBe(404);
    expect(codeOf(await server.gql(ImageDocument, { id: image.id }, as('alice')))).toBe('NOT_FOUND');
  });

  it('a delete racing a restore that remakes only a thumbnail (the original was cleaned up) leaves no thumbnail behind', async () => {
    const conversationId = await newConversation(server, 'alice');
    const image = await upload(server, 'alice', conversationId, photos[15]!);
    const cleaned = await server.gql(
      CleanupLocalImagesDocument,
      { input: { olderThanDays: 0 } },
      as('root', ['admin']),
    );
    expect(cleaned.data!.cleanupLocalImages.deleted).toBeGreaterThanOrEqual(1);
    await rm(join(server.storageDir, image.thumbnailKey));
    cloudWorld.emulator.setMode('error500');
    try {
      // The thumbnail's source is held downloading while the whole delete runs.
      const { restore, del } = await restoreWhileDeleting(conversationId, image.id);
      expect(del.data!.deleteImage).toMatchObject({ cloudDeleted: false });
      expect(restore.data!.restoreImages).toMatchObject({ scanned: 1, failed: 0, thumbnailsRegenerated: 1 });
    } finally {
      cloudWorld.emulator.setMode('ok');
    }
    expect(existsSync(join(server.storageDir, image.thumbnailKey))).toBe(false);
    expect(codeOf(await server.gql(ImageDocument, { id: image.id }, as('alice')))).toBe('NOT_FOUND');
    expect(
      await eventually(
        () => server.app.store.countPendingDeletions(),
        (n) => n === 0,
      ),
    ).toBe(0);
  });

  it('a cloud deletion that fails is reported, recorded and retried by the worker until it succeeds', async () => {
    const conversationId = await newConversation(server, 'alice');
    const image = await upload(server, 'alice', conversationId, photos[17]!);
    cloudWorld.emulator.setMode('error500');
    const res = await server.gql(DeleteImageDocument, { id: image.id }, as('alice'));
    expect(res.data!.deleteImage).toEqual({ deletedImageId: image.id, localDeleted: true, cloudDeleted: false });
    expect(existsSync(join(server.storageDir, image.localKey))).toBe(false);
    expect(await server.app.store.countPendingDeletions()).toBe(1);
    expect(await fetch(image.cloudUrl!).then((r) => r.status)).toBe(200);
    cloudWorld.emulator.setMode('ok');
    expect(
      await eventually(
        () => server.app.store.countPendingDeletions(),
        (n) => n === 0,
      ),
    ).toBe(0);
    expect(await fetch(image.cloudUrl!).then((r) => r.status)).toBe(404);
  });

  it('a restart finishes a delete that a crash interrupted after the record was removed', async () => {
    const conversationId = await newConversation(server, 'alice');
    const image = await upload(server, 'alice', conversationId, photos[18]!);
    const [record] = await server.app.store.getImagesByIds([image.id]);
    await server.stop();
    // What a crash right after step 1 leaves: the job and every copy, but no record.
    const { SqliteMetadataStore } = await import('../../src/metadata/sqlite/sqlite-store.js');
    const store = new SqliteMetadataStore({ path: server.sqlitePath });
    await store.init();
    await store.beginDeletion({
      imageId: image.id,
      userId: 'alice',
      localKeys: [record!.localKey!, record!.thumbnailKey!],
      cloud: { service: 'POSTIMAGES', url: record!.cloudUrl!, deleteUrl: record!.deleteUrl! },
      cloudDeleted: false,
      requestedAt: new Date(),
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      leaseOwner: 'crashed-instance',
      leaseUntil: new Date(Date.now() - 1),
    });
    await store.close();
    expect(existsSync(join(server.storageDir, image.localKey))).toBe(true);

    server = await startTestServer({ env: env(), dir: server.dir, keepDir: true });
    expect(
      await eventually(
        () => server.app.store.countPendingDeletions(),
        (n) => n === 0,
      ),
    ).toBe(0);
    expect(existsSync(join(server.storageDir, image.localKey))).toBe(false);
    expect(existsSync(join(server.storageDir, image.thumbnailKey))).toBe(false);
    expect(await fetch(image.cloudUrl!).then((r) => r.status)).toBe(404);
  });
});
