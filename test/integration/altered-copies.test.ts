/**
 * Cloud copies changed at their host (PostImages' terms let it re-encode what it stores), against
 * the emulators' 'altered' mode, which serves every stored image with one byte flipped: cleanup
 * compares a PostImages copy before it lets it be the only one, flags an altered one, counts it
 * and replicates the image again from its local original (ImgBB first); a restore that meets one
 * flags it, and the next restores report it as lost (not as a new failure) until the host serves
 * the original bytes again.
 */
import { readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CleanupLocalImagesDocument,
  CreateConversationDocument,
  ImageDocument,
  RestoreImagesDocument,
  UploadImageDocument,
} from '../generated/graphql.js';
import type { Emulator } from '../support/emulators.js';
import { startChainServer } from '../support/chain-server.js';
import { eventually } from '../support/eventually.js';
import { as, type TestServer } from '../support/server.js';

const coffee = await readFile('test/fixtures/coffee.png');
let n = 0;
const photo = () =>
  sharp(coffee)
    .extract({ left: 5 + (n++ % 40) * 3, top: 8, width: 110, height: 80 })
    .png()
    .toBuffer();
const admin = as('root', ['admin']);

describe('cloud copies changed at the host', () => {
  let postimages: Emulator;
  let stop: () => Promise<void>;
  let server: TestServer;

  beforeAll(async () => {
    ({ postimages, server, stop } = await startChainServer({
      REPLICATION_POLL_MS: '100',
    }));
  });
  afterAll(() => stop());
  afterEach(() => {
    postimages.setMode('ok');
  });

  async function upload(user: string) {
    const c = await server.gql(CreateConversationDocument, { input: {} }, as(user));
    const res = await server.gql(
      UploadImageDocument,
      {
        input: {
          conversationId: c.data!.createConversation.id,
          base64: (await photo()).toString('base64'),
          waitForCloud: true,
        },
      },
      as(user),
    );
    expect(res.errors).toBeUndefined();
    return res.data!.uploadImage.image;
  }
  const localKeyOf = (id: string) => {
    const db = new Database(server.sqlitePath, { readonly: true });
    try {
      return db.prepare('SELECT local_key FROM images WHERE id = ?').pluck().get(id) as string | null;
    } finally {
      db.close();
    }
  };

  it('cleanup compares a PostImages copy first: an altered one keeps its original, is flagged and counted, and is replicated again to ImgBB', async () => {
    const image = await upload('alice');
    expect(image.service).toBe('POSTIMAGES');
    const key = localKeyOf(image.id)!;
    postimages.setMode('altered');
    const cleaned = (await server.gql(CleanupLocalImagesDocument, { input: { olderThanDays: 0 } }, admin)).data!
      .cleanupLocalImages;
    expect(cleaned).toMatchObject({ deleted: 0, alteredCloudCopies: 1 });
    expect(existsSync(join(server.storageDir, key))).toBe(true);
    expect(
      server.logs.some(
        (l) =>
          l['msg'] ===
            'the cloud copy was changed at its host: the image is replicated again from its local original' &&
          l['imageId'] === image.id,
      ),
    ).toBe(true);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(
      /his_cloud_copies_altered_total\{provider="postimages"\} 1/,
    );

    // The worker makes a new copy, on ImgBB (PostImages, which altered it, is tried last), and the altered one is deleted.
    const after = await eventually(
      async () => (await server.gql(ImageDocument, { id: image.id }, as('alice'))).data!.image!,
      (i) => i.replicationStatus === 'REPLICATED' && i.service === 'IMGBB',
    );
    expect(after).toMatchObject({ service: 'IMGBB', replicationStatus: 'REPLICATED', cloudAlteredAt: null });
    expect(after.cloudUrl).not.toBe(image.cloudUrl);
    const oldId = new URL(image.cloudUrl!).pathname.split('/')[2]!;
    expect(
      await eventually(
        () => postimages.deletions,
        (d) => d.includes(oldId),
      ),
    ).toContain(oldId);

    // Now the copy is one this server made on a host that keeps bytes as sent: cleanup removes the original.
    postimages.setMode('ok');
    const again = (await server.gql(CleanupLocalImagesDocument, { input: { olderThanDays: 0 } }, admin)).data!
      .cleanupLocalImages;
    expect(again).toMatchObject({ alteredCloudCopies: 0 });
    expect(existsSync(join(server.storageDir, key))).toBe(false);
  });

  it('a restore that meets an altered copy flags it; later restores report it as lost until the host serves the original bytes again', async () => {
    const image = await upload('bob');
    expect(image.service).toBe('POSTIMAGES');
    await rm(join(server.storageDir, localKeyOf(image.id)!));
    postimages.setMode('altered');
    const first = (await server.gql(RestoreImagesDocument, { input: { imageIds: [image.id] } }, as('bob'))).data!
      .restoreImages;
    expect(first).toMatchObject({ restored: 0, failed: 1 });
    expect(first.failures[0]!.reason).toMatch(/does not match the recorded sha256/);
    const flagged = (await server.gql(ImageDocument, { id: image.id }, as('bob'))).data!.image!;
    expect(flagged.cloudAlteredAt).not.toBeNull();
    // No good local original: nothing to replicate from, so it is not requeued.
    expect(flagged).toMatchObject({ replicationStatus: 'REPLICATED', service: 'POSTIMAGES' });

    // Still altered: reported with the images nothing holds, not as a new failure.
    const second = (await server.gql(RestoreImagesDocument, { input: { imageIds: [image.id] } }, as('bob'))).data!
      .restoreImages;
    expect(second).toMatchObject({ restored: 0, failed: 0, noCloudCopy: 1, failures: [] });
    expect(second.lost[0]!.reason).toMatch(/its cloud copy was found changed at the host/);

    // The host serves the original bytes again: the next restore brings the file back and clears the flag.
    postimages.setMode('ok');
    const third = (await server.gql(RestoreImagesDocument, { input: { imageIds: [image.id] } }, as('bob'))).data!
      .restoreImages;
    expect(third).toMatchObject({ restored: 1, failed: 0, noCloudCopy: 0 });
    expect((await server.gql(ImageDocument, { id: image.id }, as('bob'))).data!.image!.cloudAlteredAt).toBeNull();
  });
});
