import { existsSync } from 'node:fs';
import { readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanupLocalImagesDocument, ImageDocument, RestoreImagesDocument } from '../generated/graphql.js';
import { eventually } from '../support/eventually.js';
import {
  codeOf,
  keysOf,
  newConversation,
  photos,
  upload,
  usePostImagesCloud,
  type Uploaded,
} from '../support/maintenance.js';
import { snapshotSqlite } from '../support/snapshot.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { NOTHING_CLEANED, sha256Hex } from '../support/factories.js';

/** cleanupLocalImages, reconcile, and the timers that run them without anyone asking. */
const cloudWorld = usePostImagesCloud();
const env = cloudWorld.env;

describe('cleanup of local originals', () => {
  let server: TestServer;
  let replicated: Uploaded[];
  let localOnly: Uploaded;

  beforeAll(async () => {
    server = await startTestServer({ env: env({ REPLICATION_MAX_ATTEMPTS: '1' }) });
    const conversationId = await newConversation(server, 'alice');
    replicated = [];
    for (const p of photos.slice(0, 3)) replicated.push(await upload(server, 'alice', conversationId, p));
    cloudWorld.emulator.setMode('error500');
    localOnly = await upload(server, 'alice', conversationId, photos[3]!);
    cloudWorld.emulator.setMode('ok');
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
    expect(young.data!.cleanupLocalImages).toEqual(NOTHING_CLEANED);

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
      expect(sha256Hex(Buffer.from(await (await fetch(i.localUrl)).arrayBuffer()))).toBe(shown.sha256);
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
    cloudWorld.emulator.setMode('error500');
    const orphanOfTheCloud = await upload(server, 'alice', conversationId, photos[12]!, true);
    cloudWorld.emulator.setMode('ok');
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
