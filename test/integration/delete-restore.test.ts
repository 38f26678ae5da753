import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CleanupLocalImagesDocument,
  CreateConversationDocument,
  DeleteImageDocument,
  ImageDocument,
  RestoreImagesDocument,
  UploadImageDocument,
} from '../generated/graphql.js';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { snapshotSqlite } from '../support/snapshot.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

const coffee = await readFile('test/fixtures/coffee.png');
/** Distinct real-photo crops: equal bytes would share one cloud copy (see ReplicationService). */
const photos = await Promise.all(
  Array.from({ length: 24 }, (_, i) =>
    sharp(coffee)
      .extract({ left: i * 8, top: i * 4, width: 160, height: 120 })
      .jpeg({ quality: 80 })
      .toBuffer(),
  ),
);

let cloud: Emulator;
beforeAll(async () => {
  cloud = await startPostImagesEmulator();
});
afterAll(async () => {
  await cloud.stop();
});
afterEach(() => {
  cloud.setMode('ok');
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    CLOUD_PROVIDERS: 'postimages',
    POSTIMAGES_API_KEY: cloud.apiKey,
    POSTIMAGES_API_URL: cloud.apiUrl,
    CLOUD_TIMEOUT_MS: '1000',
    CLOUD_ATTEMPTS: '1',
    REPLICATION_BACKOFF_BASE_MS: '100',
    REPLICATION_BACKOFF_CAP_SECONDS: '1',
    REPLICATION_POLL_MS: '100',
    ...extra,
  };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Uploaded {
  id: string;
  conversationId: string;
  localUrl: string;
  cloudUrl: string | null;
  localKey: string;
  thumbnailKey: string;
}

/** Keys as the store holds them (the API only shows signed URLs). */
function keysOf(
  server: TestServer,
  id: string,
): { local_key: string | null; thumbnail_key: string | null; evicted_key: string | null } {
  const db = new Database(server.sqlitePath, { readonly: true });
  try {
    return db.prepare('SELECT local_key, thumbnail_key, evicted_key FROM images WHERE id = ?').get(id) as never;
  } finally {
    db.close();
  }
}

async function newConversation(server: TestServer, user: string): Promise<string> {
  const c = await server.gql(CreateConversationDocument, { input: {} }, as(user));
  return c.data!.createConversation.id;
}

async function upload(
  server: TestServer,
  user: string,
  conversationId: string,
  data: Buffer,
  waitForCloud = true,
): Promise<Uploaded> {
  const res = await server.gql(
    UploadImageDocument,
    { input: { conversationId, base64: data.toString('base64'), waitForCloud } },
    as(user),
  );
  expect(res.errors).toBeUndefined();
  const image = res.data!.uploadImage.image;
  const keys = keysOf(server, image.id);
  return {
    id: image.id,
    conversationId,
    localUrl: image.localUrl!,
    cloudUrl: image.cloudUrl ?? null,
    localKey: keys.local_key!,
    thumbnailKey: keys.thumbnail_key!,
  };
}

const codeOf = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

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
    expect(cloud.deletions).toEqual([]);
  });

  it('deleting removes the cloud copy, both local files and the record; twice is NOT_FOUND', async () => {
    const gone = images[19]!;
    const res = await server.gql(DeleteImageDocument, { id: gone.id }, as('alice'));
    expect(res.errors).toBeUndefined();
    expect(res.data!.deleteImage).toEqual({ deletedImageId: gone.id, localDeleted: true, cloudDeleted: true });
    expect(cloud.deletions).toHaveLength(1);
    expect(gone.cloudUrl).toContain(`/i/${cloud.deletions[0]}/`);
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
    cloud.setMode('altered');
    const res = await server.gql(RestoreImagesDocument, {}, as('alice'));
    expect(res.data!.restoreImages).toMatchObject({ scanned: 19, restored: 0, failed: 19 });
    for (const f of res.data!.restoreImages.failures) expect(f.reason).toMatch(/does not match the recorded sha256/);
    expect(await readFile(file(damaged.localKey), 'utf8')).toBe('not the photo any more');
    for (const image of images.slice(1)) expect(existsSync(file(image.localKey))).toBe(false);
    expect(await readdir(join(server.storageDir, '.tmp'))).toEqual([]);

    cloud.setMode('ok');
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
    const inside = `${cloud.origin.replace(/:\d+$/, ':1')}/admin/secret.jpg`;
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

describe('cleanup of local originals', () => {
  let server: TestServer;
  let replicated: Uploaded[];
  let localOnly: Uploaded;

  beforeAll(async () => {
    server = await startTestServer({ env: env({ REPLICATION_MAX_ATTEMPTS: '1' }) });
    const conversationId = await newConversation(server, 'alice');
    replicated = [];
    for (const p of photos.slice(0, 3)) replicated.push(await upload(server, 'alice', conversationId, p));
    cloud.setMode('error500');
    localOnly = await upload(server, 'alice', conversationId, photos[3]!);
    cloud.setMode('ok');
  });
  afterAll(async () => {
    await server.stop();
  });

  it('is for admins, and refuses a negative or absurd age with nothing changed', async () => {
    const before = snapshotSqlite(server.sqlitePath);
    expect(codeOf(await server.gql(CleanupLocalImagesDocument, { input: { olderThanDays: 0 } }, as('alice')))).toBe(
      'FORBIDDEN',
    );
    for (const olderThanDays of [-1, 36_501, 2_000_000_000]) {
      const res = await server.gql(CleanupLocalImagesDocument, { input: { olderThanDays } }, as('root', ['admin']));
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.message).toMatch(/from 0 to 36500/);
    }
    expect(snapshotSqlite(server.sqlitePath)).toEqual(before);
  });

  it('removes only replicated originals, keeps thumbnails, and the images then display from the cloud', async () => {
    const image = await server.gql(ImageDocument, { id: localOnly.id }, as('alice'));
    expect(image.data!.image!.replicationStatus).toBe('LOCAL_ONLY');

    const dry = await server.gql(
      CleanupLocalImagesDocument,
      { input: { olderThanDays: 0, dryRun: true } },
      as('root', ['admin']),
    );
    expect(dry.data!.cleanupLocalImages).toMatchObject({ deleted: 3, keptNoCloudCopy: 1 });
    for (const i of [...replicated, localOnly]) expect(existsSync(join(server.storageDir, i.localKey))).toBe(true);

    // Nothing is older than a day yet.
    const young = await server.gql(CleanupLocalImagesDocument, { input: { olderThanDays: 1 } }, as('root', ['admin']));
    expect(young.data!.cleanupLocalImages).toEqual({
      deleted: 0,
      thumbnailsDeleted: 0,
      keptNoCloudCopy: 0,
      verifiedCloudCopies: 0,
      keptUnverifiedCloudCopy: 0,
      alteredCloudCopies: 0,
      bytesFreed: 0,
      failed: 0,
    });

    const sizes = await Promise.all(
      replicated.map(async (i) => (await readFile(join(server.storageDir, i.localKey))).length),
    );
    const res = await server.gql(CleanupLocalImagesDocument, { input: { olderThanDays: 0 } }, as('root', ['admin']));
    expect(res.data!.cleanupLocalImages).toEqual({
      deleted: 3,
      thumbnailsDeleted: 0,
      keptNoCloudCopy: 1,
      verifiedCloudCopies: 0,
      keptUnverifiedCloudCopy: 0,
      alteredCloudCopies: 0,
      bytesFreed: sizes.reduce((a, b) => a + b, 0),
      failed: 0,
    });

    for (const i of replicated) {
      expect(existsSync(join(server.storageDir, i.localKey))).toBe(false);
      expect(existsSync(join(server.storageDir, i.thumbnailKey))).toBe(true);
      const shown = (await server.gql(ImageDocument, { id: i.id }, as('alice'))).data!.image!;
      expect(shown).toMatchObject({ localUrl: null, displayUrl: i.cloudUrl, cloudUrl: i.cloudUrl, fallbackUrl: null });
      // A local link handed out before the cleanup now redirects to the cloud copy, which serves the bytes.
      const old = await fetch(i.localUrl, { redirect: 'manual' });
      expect(old.status).toBe(302);
      expect(old.headers.get('location')).toBe(i.cloudUrl);
      expect(sha(Buffer.from(await (await fetch(i.localUrl)).arrayBuffer()))).toBe(shown.sha256);
    }
    expect(existsSync(join(server.storageDir, localOnly.localKey))).toBe(true);
    expect(await fetch(localOnly.localUrl).then((r) => r.status)).toBe(200);
  });

  it('restore leaves cleaned-up originals in the cloud, and brings back their lost thumbnails', async () => {
    await rm(join(server.storageDir, replicated[0]!.thumbnailKey));
    const res = await server.gql(RestoreImagesDocument, {}, as('alice'));
    expect(res.data!.restoreImages).toMatchObject({
      scanned: 4,
      restored: 0,
      alreadyPresent: 1,
      cloudOnly: 3,
      thumbnailsRegenerated: 1,
      failed: 0,
    });
    expect(existsSync(join(server.storageDir, replicated[0]!.thumbnailKey))).toBe(true);
    expect(existsSync(join(server.storageDir, replicated[0]!.localKey))).toBe(false);
  });
});

describe('reconcile', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: env() });
  });
  afterAll(async () => {
    await server.stop();
  });

  /** What an upload notes before writing its files (LocalFileStore.journal), backdated with them. */
  async function noted(key: string, mtime: Date) {
    const before = new Set(await readdir(join(server.storageDir, '.journal')));
    await server.app.core.files.journal([key]);
    for (const name of await readdir(join(server.storageDir, '.journal'))) {
      if (!before.has(name)) await utimes(join(server.storageDir, '.journal', name), mtime, mtime);
    }
  }

  it('removes an old orphan, keeps a file whose upload is in flight, restores a missing copy and reports a lost image', async () => {
    const conversationId = await newConversation(server, 'alice');
    const [a, b] = [
      await upload(server, 'alice', conversationId, photos[10]!),
      await upload(server, 'alice', conversationId, photos[11]!),
    ];
    cloud.setMode('error500');
    const orphanOfTheCloud = await upload(server, 'alice', conversationId, photos[12]!, true);
    cloud.setMode('ok');
    const hourAgo = new Date(Date.now() - 2 * 3_600_000);
    const orphan = join(server.storageDir, 'uploads/img_20200101_000000_deadbeef.jpg');
    const inFlight = join(server.storageDir, 'uploads/img_20200101_000000_cafef00d.jpg');
    // An upload noted and wrote this file, then its process died before the record.
    await noted('uploads/img_20200101_000000_deadbeef.jpg', hourAgo);
    await writeFile(orphan, photos[13]!);
    await utimes(orphan, hourAgo, hourAgo);
    await writeFile(inFlight, photos[14]!);
    // A file no upload of this server noted: another app's, kept and reported.
    const foreign = join(server.storageDir, 'uploads/notes.pdf');
    await writeFile(foreign, '%PDF-1.4');
    await utimes(foreign, hourAgo, hourAgo);
    await rm(join(server.storageDir, a!.localKey));
    await rm(join(server.storageDir, orphanOfTheCloud.localKey));

    const dry = await server.app.core.reconcile.run({ dryRun: true });
    expect(dry.files.orphans).toEqual(['uploads/img_20200101_000000_deadbeef.jpg']);
    expect(existsSync(orphan)).toBe(true);

    const result = await server.app.core.reconcile.run();
    expect(result.files).toMatchObject({
      orphans: ['uploads/img_20200101_000000_deadbeef.jpg'],
      unrecorded: ['uploads/notes.pdf'],
      keptRecent: 1,
    });
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(foreign)).toBe(true);
    await rm(foreign);
    expect(existsSync(inFlight)).toBe(true);
    expect(result.records).toMatchObject({ scanned: 3, restored: 1, alreadyPresent: 1, noCloudCopy: 1 });
    expect(result.records.lost).toEqual([
      { imageId: orphanOfTheCloud.id, conversationId, reason: expect.stringContaining('no cloud copy') },
    ]);
    expect(existsSync(join(server.storageDir, a!.localKey))).toBe(true);
    expect(existsSync(join(server.storageDir, b!.localKey))).toBe(true);
    // Lost is reported, never dropped: the record is still there.
    expect((await server.gql(ImageDocument, { id: orphanOfTheCloud.id }, as('alice'))).data!.image!.id).toBe(
      orphanOfTheCloud.id,
    );
  });

  it('with quarantine, moves an orphan aside instead of deleting it', async () => {
    const orphan = join(server.storageDir, 'Image_Gen/img_20200101_000000_0badf00d.png');
    await writeFile(orphan, 'orphan');
    const old = new Date(Date.now() - 2 * 3_600_000);
    await utimes(orphan, old, old);
    await noted('Image_Gen/img_20200101_000000_0badf00d.png', old);
    const result = await server.app.core.reconcile.run({ quarantine: true });
    expect(result.files.orphans).toEqual(['Image_Gen/img_20200101_000000_0badf00d.png']);
    expect(existsSync(orphan)).toBe(false);
    const day = new Date().toISOString().slice(0, 10);
    expect(
      await readFile(join(server.storageDir, '.quarantine', day, 'Image_Gen/img_20200101_000000_0badf00d.png'), 'utf8'),
    ).toBe('orphan');
  });
});

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
    cloud.cdnHold = new Promise<void>((r) => (release = r));
    try {
      const restoring = server.gql(RestoreImagesDocument, { input: { conversationId } }, as('alice'));
      expect(
        await eventually(
          () => cloud.cdnHeld,
          (n) => n >= 1,
        ),
      ).toBe(1);
      const del = await server.gql(DeleteImageDocument, { id: imageId }, as('alice'));
      release();
      return { restore: await restoring, del };
    } finally {
      release();
      cloud.cdnHold = null;
    }
  }

  it('of two concurrent deletes of one image exactly one succeeds; the cloud copy is deleted once', async () => {
    const conversationId = await newConversation(server, 'alice');
    const image = await upload(server, 'alice', conversationId, photos[15]!);
    const before = cloud.deletions.length;
    const results = await Promise.all(
      [1, 2, 3].map(() => server.gql(DeleteImageDocument, { id: image.id }, as('alice'))),
    );
    expect(results.filter((r) => r.data?.deleteImage?.deletedImageId === image.id)).toHaveLength(1);
    expect(results.filter((r) => codeOf(r) === 'NOT_FOUND')).toHaveLength(2);
    expect(cloud.deletions.length - before).toBe(1);
    expect(existsSync(join(server.storageDir, image.localKey))).toBe(false);
  });

  it('a delete racing a restore of the same image leaves it gone, with no file resurrected', async () => {
    const conversationId = await newConversation(server, 'alice');
    const image = await upload(server, 'alice', conversationId, photos[16]!);
    await rm(join(server.storageDir, image.localKey));
    await rm(join(server.storageDir, image.thumbnailKey));
    // The provider refuses the deletion for now, so the download still gets the bytes.
    cloud.setMode('error500');
    try {
      // The restore's download is held in flight while the whole delete runs.
      const { restore, del } = await restoreWhileDeleting(conversationId, image.id);
      // The delete finished first and the restore wrote its download afterwards, then noticed.
      expect(del.data!.deleteImage).toMatchObject({ localDeleted: true, cloudDeleted: false });
      expect(restore.data!.restoreImages).toMatchObject({ scanned: 1, failed: 0 });
    } finally {
      cloud.setMode('ok');
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
    cloud.setMode('error500');
    try {
      // The thumbnail's source is held downloading while the whole delete runs.
      const { restore, del } = await restoreWhileDeleting(conversationId, image.id);
      expect(del.data!.deleteImage).toMatchObject({ cloudDeleted: false });
      expect(restore.data!.restoreImages).toMatchObject({ scanned: 1, failed: 0, thumbnailsRegenerated: 1 });
    } finally {
      cloud.setMode('ok');
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
    cloud.setMode('error500');
    const res = await server.gql(DeleteImageDocument, { id: image.id }, as('alice'));
    expect(res.data!.deleteImage).toEqual({ deletedImageId: image.id, localDeleted: true, cloudDeleted: false });
    expect(existsSync(join(server.storageDir, image.localKey))).toBe(false);
    expect(await server.app.store.countPendingDeletions()).toBe(1);
    expect(await fetch(image.cloudUrl!).then((r) => r.status)).toBe(200);
    cloud.setMode('ok');
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

describe('the timers: LOCAL_RETENTION_DAYS and RECONCILE_INTERVAL_MINUTES', () => {
  it('with LOCAL_RETENTION_DAYS, replicated originals older than that are removed without anyone asking', async () => {
    const first = await startTestServer({ env: env(), keepDir: true });
    const conversationId = await newConversation(first, 'alice');
    const [oldOne, newOne] = [
      await upload(first, 'alice', conversationId, photos[20]!),
      await upload(first, 'alice', conversationId, photos[21]!),
    ];
    await first.stop();
    const db = new Database(first.sqlitePath);
    db.prepare('UPDATE images SET uploaded_at = ? WHERE id = ?').run(Date.now() - 3 * 86_400_000, oldOne.id);
    db.close();

    const server = await startTestServer({
      env: env({ LOCAL_RETENTION_DAYS: '2' }),
      dir: first.dir,
      timersFirstDelayMs: 50,
    });
    try {
      const gone = await eventually(
        () => existsSync(join(server.storageDir, oldOne.localKey)),
        (exists) => !exists,
      );
      expect(gone).toBe(false);
      expect(keysOf(server, oldOne.id)).toMatchObject({ local_key: null, evicted_key: oldOne.localKey });
      expect(existsSync(join(server.storageDir, newOne.localKey))).toBe(true);
      expect(existsSync(join(server.storageDir, oldOne.thumbnailKey))).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('with RECONCILE_INTERVAL_MINUTES, a missing local copy is restored without anyone asking', async () => {
    const first = await startTestServer({ env: env(), keepDir: true });
    const conversationId = await newConversation(first, 'alice');
    const image = await upload(first, 'alice', conversationId, photos[22]!);
    const bytes = await readFile(join(first.storageDir, image.localKey));
    await first.stop();
    await rm(join(first.storageDir, image.localKey));

    const server = await startTestServer({
      env: env({ RECONCILE_INTERVAL_MINUTES: '60' }),
      dir: first.dir,
      timersFirstDelayMs: 50,
    });
    try {
      const back = await eventually(() => existsSync(join(server.storageDir, image.localKey)), Boolean);
      expect(back).toBe(true);
      expect((await readFile(join(server.storageDir, image.localKey))).equals(bytes)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
