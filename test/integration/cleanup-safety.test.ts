/**
 * cleanupLocalImages removes a local original only where a cloud copy is known to hold the same
 * bytes and to keep holding them. Each case here is a way the only copy of an image could be lost:
 * a cloud URL left on an image that is not REPLICATED (a requeue leaves one), a copy on a host
 * that expires it (IMGBB_EXPIRATION), and a copy this server did not make (the seed chatbot's,
 * an import's), which is downloaded and compared before it is trusted.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CleanupLocalImagesDocument, CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { startImgbbEmulator, startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

const coffee = await readFile('test/fixtures/coffee.png');
const photos = await Promise.all(
  Array.from({ length: 8 }, (_, i) =>
    sharp(coffee)
      .extract({ left: 20 + i * 9, top: i * 5, width: 150, height: 110 })
      .jpeg({ quality: 82 })
      .toBuffer(),
  ),
);

interface Row {
  id: string;
  local_key: string | null;
  cloud_url: string | null;
  sha256: string;
  repl_status: string;
  cloud_verified_at: number | null;
}

function rows(server: TestServer): Map<string, Row> {
  const db = new Database(server.sqlitePath, { readonly: true });
  try {
    const all = db
      .prepare('SELECT id, local_key, cloud_url, sha256, repl_status, cloud_verified_at FROM images')
      .all() as Row[];
    return new Map(all.map((r) => [r.id, r]));
  } finally {
    db.close();
  }
}

function edit(server: TestServer, id: string, sql: string, ...params: unknown[]): void {
  const db = new Database(server.sqlitePath);
  try {
    expect(db.prepare(`UPDATE images SET ${sql} WHERE id = ?`).run(...params, id).changes).toBe(1);
  } finally {
    db.close();
  }
}

async function uploadAll(server: TestServer, images: Buffer[]): Promise<string[]> {
  const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
  const ids: string[] = [];
  for (const data of images) {
    const res = await server.gql(
      UploadImageDocument,
      { input: { conversationId: c.data!.createConversation.id, base64: data.toString('base64'), waitForCloud: true } },
      as('alice'),
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.uploadImage.image.replicationStatus).toBe('REPLICATED');
    ids.push(res.data!.uploadImage.image.id);
  }
  return ids;
}

const cleanup = (server: TestServer, dryRun = false) =>
  server.gql(CleanupLocalImagesDocument, { input: { olderThanDays: 0, dryRun } }, as('root', ['admin']));

describe('cleanup trusts only cloud copies known to hold the bytes', () => {
  let cloud: Emulator;
  let server: TestServer;

  beforeAll(async () => {
    cloud = await startPostImagesEmulator();
    server = await startTestServer({
      env: {
        CLOUD_PROVIDERS: 'postimages',
        POSTIMAGES_API_KEY: cloud.apiKey,
        POSTIMAGES_API_URL: cloud.apiUrl,
        CLOUD_TIMEOUT_MS: '2000',
        REPLICATION_POLL_MS: '60000',
      },
    });
  });
  afterAll(async () => {
    await server.stop();
    await cloud.stop();
  });

  it('keeps an original whose recorded copy is not REPLICATED, or not the same bytes, and removes one whose copy is checked', async () => {
    const [ours, retrying, localOnly, legacySame, legacyAltered, legacyGone, legacyNoDigest] = await uploadAll(
      server,
      photos.slice(0, 7),
    );
    const before = rows(server);
    const keyOf = (id: string) => before.get(id)!.local_key!;
    const cdnKey = (id: string) => before.get(id)!.cloud_url!.slice(`${cloud.origin}/i/`.length);

    // A requeue leaves the old cloud URL on an image that is RETRYING or LOCAL_ONLY again.
    edit(server, retrying!, "repl_status = 'RETRYING'");
    edit(server, localOnly!, "repl_status = 'LOCAL_ONLY'");
    // Copies recorded by someone else: this server never saw the provider answer for them.
    for (const id of [legacySame!, legacyAltered!, legacyGone!, legacyNoDigest!])
      edit(server, id, 'cloud_verified_at = NULL');
    // The seed chatbot kept no digest.
    edit(server, legacyNoDigest!, "sha256 = ''");
    // The host now serves other bytes under one URL, and nothing under another.
    const original = cloud.stored.get(cdnKey(legacyAltered!))!;
    const altered = Buffer.from(original);
    altered[altered.length >> 1]! ^= 0xff;
    cloud.stored.set(cdnKey(legacyAltered!), altered);
    cloud.stored.delete(cdnKey(legacyGone!));

    const edited = rows(server);
    const noDigestBytes = await readFile(join(server.storageDir, keyOf(legacyNoDigest!)));
    const dry = await cleanup(server, true);
    expect(dry.errors).toBeUndefined();
    expect(dry.data!.cleanupLocalImages).toMatchObject({
      deleted: 3,
      keptNoCloudCopy: 2,
      verifiedCloudCopies: 2,
      keptUnverifiedCloudCopy: 1,
      alteredCloudCopies: 1,
    });
    // A dry run downloads to check, but changes nothing.
    expect(rows(server)).toEqual(edited);
    for (const id of [ours!, legacySame!, legacyNoDigest!])
      expect(existsSync(join(server.storageDir, keyOf(id)))).toBe(true);

    const res = await cleanup(server);
    expect(res.errors).toBeUndefined();
    expect(res.data!.cleanupLocalImages).toMatchObject({
      deleted: 3,
      keptNoCloudCopy: 2,
      verifiedCloudCopies: 2,
      keptUnverifiedCloudCopy: 1,
      alteredCloudCopies: 1,
      failed: 0,
    });
    const after = rows(server);
    for (const id of [ours!, legacySame!, legacyNoDigest!]) {
      expect(existsSync(join(server.storageDir, keyOf(id)))).toBe(false);
      expect(after.get(id)!.local_key).toBeNull();
    }
    for (const id of [retrying!, localOnly!, legacyAltered!, legacyGone!]) {
      expect(existsSync(join(server.storageDir, keyOf(id)))).toBe(true);
      expect(after.get(id)!.local_key).toBe(keyOf(id));
    }
    // The checks are recorded: a checked copy is now known, and the legacy image has its digest.
    expect(after.get(legacySame!)!.cloud_verified_at).not.toBeNull();
    expect(after.get(legacyNoDigest!)!.sha256).toBe(createHash('sha256').update(noDigestBytes).digest('hex'));
    expect(server.logs.some((l) => l.imageId === legacyAltered && /other bytes/.test(String(l.msg)))).toBe(true);
    // The altered copy is replaced by a new one, made from the original that was kept.
    const replaced = await eventually(
      () => rows(server).get(legacyAltered!)!,
      (row) => row.repl_status === 'REPLICATED' && row.cloud_url !== before.get(legacyAltered!)!.cloud_url,
    );
    expect(replaced).toMatchObject({ repl_status: 'REPLICATED', local_key: keyOf(legacyAltered!) });
    expect(replaced.cloud_url).not.toBe(before.get(legacyAltered!)!.cloud_url);
    expect(
      server.logs.some(
        (l) => l.imageId === legacyGone && /could not be checked/.test(String(l.msg)) && /404/.test(String(l.reason)),
      ),
    ).toBe(true);
  });
});

describe('cleanup and a host that expires its copies', () => {
  let cloud: Emulator;

  beforeAll(async () => {
    cloud = await startImgbbEmulator();
  });
  afterAll(async () => {
    await cloud.stop();
  });

  const start = (extra: Record<string, string>) =>
    startTestServer({
      env: {
        CLOUD_PROVIDERS: 'imgbb',
        IMGBB_API_KEY: cloud.apiKey,
        IMGBB_API_URL: cloud.apiUrl,
        CLOUD_TIMEOUT_MS: '2000',
        ...extra,
      },
    });

  it('never lets an ImgBB copy with IMGBB_EXPIRATION be the only one', async () => {
    const server = await start({ IMGBB_EXPIRATION: '600' });
    try {
      const [id] = await uploadAll(server, [photos[7]!]);
      expect(cloud.uploads.at(-1)!.fields.expiration).toBe('600');
      const res = await cleanup(server);
      expect(res.data!.cleanupLocalImages).toMatchObject({ deleted: 0, keptNoCloudCopy: 1 });
      expect(existsSync(join(server.storageDir, rows(server).get(id!)!.local_key!))).toBe(true);
    } finally {
      await server.stop();
    }
  });

  it('removes the same original when the copy does not expire', async () => {
    const server = await start({});
    try {
      const [id] = await uploadAll(server, [photos[7]!]);
      const key = rows(server).get(id!)!.local_key!;
      const res = await cleanup(server);
      expect(res.data!.cleanupLocalImages).toMatchObject({ deleted: 1, keptNoCloudCopy: 0 });
      expect(existsSync(join(server.storageDir, key))).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
