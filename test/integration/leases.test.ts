/**
 * Leases that hold. A worker leases a batch of images (or deletion jobs) at once and works them
 * one after another: without renewal, the later ones expire while the first upload, and a second
 * instance uploads them again. Each item's lease is now renewed before its turn and while it is
 * worked; and a worker that still loses one (a process paused past its lease) deletes the extra
 * cloud copy it made, instead of leaving it unrecorded.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../src/domain/types.js';
import { ReplicationService } from '../../src/workers/replication.js';
import type { CloudCopy, ProviderName } from '../../src/cloud/provider.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { CreateConversationDocument, DeleteImageDocument, UploadImageDocument } from '../generated/graphql.js';
import { startImgbbEmulator, startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { until } from '../support/eventually.js';
import { makeConversation, makeImage, makeMessage } from '../support/factories.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function newDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'his-lease-'));
  dirs.push(d);
  return d;
}

describe('a replication worker that loses its lease', () => {
  let store: SqliteMetadataStore;
  let image: ImageRecord;

  async function setup(): Promise<void> {
    store = new SqliteMetadataStore({ path: join(await newDir(), 'm.sqlite') });
    await store.init();
    const conversation = makeConversation();
    await store.createConversation(conversation);
    const message = makeMessage(conversation, { createdAt: conversation.createdAt });
    image = makeImage(message, { replication: { status: 'PENDING' } });
    await store.addMessage({ ...message, images: [image] });
  }

  /** A worker whose upload, while it runs, is overtaken by another worker that replicates the image first. */
  function overtaken(
    ourUrl: string,
    winnerUrl: string,
    orphaned: CloudCopy[],
    thumbnails: { ours: string; winner: string | null } | null = null,
  ): ReplicationService {
    return new ReplicationService({
      store,
      readLocal: async () => Buffer.from('bytes'),
      chain: {
        upload: async () => {
          // Meanwhile (this worker paused past its lease), another took the image and replicated it.
          await store.updateImage(image.id, {
            replication: { leaseOwner: 'other', leaseUntil: new Date(Date.now() + 60_000) },
          });
          await store.updateImage(
            image.id,
            {
              cloudUrl: winnerUrl,
              thumbnailCloudUrl: thumbnails?.winner ?? null,
              service: 'IMGBB',
              replication: { status: 'REPLICATED', leaseOwner: null, leaseUntil: null },
            },
            { leaseOwner: 'other' },
          );
          const thumbnail = thumbnails ? { url: thumbnails.ours, deleteUrl: thumbnails.ours, providerId: null } : null;
          return {
            ok: true,
            provider: 'postimages' as ProviderName,
            copy: { url: ourUrl, deleteUrl: 'https://postimg.cc/delete/ours', providerId: 'ours' },
            thumbnail,
            failures: [],
          };
        },
      },
      clock: () => new Date(),
      random: () => 0.5,
      log: pino({ level: 'silent' }),
      instanceId: 'me',
      options: { leaseMs: 60_000, maxAttempts: 3, backoffBaseMs: 10, backoffCapMs: 100, pollMs: 60_000, batchSize: 8 },
      onOrphanedCopy: async (_image, _provider, copy) => {
        orphaned.push(copy);
      },
    });
  }

  it("deletes its own extra cloud copy and keeps the winner's", async () => {
    await setup();
    const orphaned: CloudCopy[] = [];
    const service = overtaken('https://i.postimg.cc/ours/a.png', 'https://i.ibb.co/winner/a.png', orphaned);
    const claimed = await store.claimDueImages({ now: new Date(), leaseOwner: 'me', leaseMs: 60_000, limit: 8 });
    expect(claimed.map((i) => i.id)).toEqual([image.id]);
    const after = await service.replicate(claimed[0]!, 'me');
    expect(after).toMatchObject({
      cloudUrl: 'https://i.ibb.co/winner/a.png',
      service: 'IMGBB',
      replication: { status: 'REPLICATED' },
    });
    expect(orphaned.map((c) => c.url)).toEqual(['https://i.postimg.cc/ours/a.png']);
  });

  it('keeps the copy when the winner shows that very URL (a provider storing the same bytes under one URL)', async () => {
    await setup();
    const orphaned: CloudCopy[] = [];
    const same = 'https://bucket.example/alice/sha.png';
    const service = overtaken(same, same, orphaned);
    const [claimed] = await store.claimDueImages({ now: new Date(), leaseOwner: 'me', leaseMs: 60_000, limit: 8 });
    expect((await service.replicate(claimed!, 'me')).cloudUrl).toBe(same);
    expect(orphaned).toEqual([]);
  });

  it('deletes its extra thumbnail copy too, unless it is the one the winner recorded', async () => {
    await setup();
    const orphaned: CloudCopy[] = [];
    const service = overtaken('s3://b/ours.png', 's3://b/winner.png', orphaned, {
      ours: 's3://b/ours.thumb.webp',
      winner: 's3://b/winner.thumb.webp',
    });
    const [claimed] = await store.claimDueImages({ now: new Date(), leaseOwner: 'me', leaseMs: 60_000, limit: 8 });
    expect(await service.replicate(claimed!, 'me')).toMatchObject({
      cloudUrl: 's3://b/winner.png',
      thumbnailCloudUrl: 's3://b/winner.thumb.webp',
    });
    expect(orphaned.map((c) => c.url)).toEqual(['s3://b/ours.png', 's3://b/ours.thumb.webp']);

    await setup();
    const kept: CloudCopy[] = [];
    const sameThumb = overtaken('s3://b/ours.png', 's3://b/winner.png', kept, {
      ours: 's3://b/same.thumb.webp',
      winner: 's3://b/same.thumb.webp',
    });
    const [again] = await store.claimDueImages({ now: new Date(), leaseOwner: 'me', leaseMs: 60_000, limit: 8 });
    await sameThumb.replicate(again!, 'me');
    expect(kept.map((c) => c.url)).toEqual(['s3://b/ours.png']);
  });
});

describe('two instances, leases shorter than an upload', () => {
  let postimages: Emulator;
  let imgbb: Emulator;
  beforeAll(async () => {
    postimages = await startPostImagesEmulator();
    imgbb = await startImgbbEmulator({ slowMs: 900 });
  });
  afterAll(async () => {
    await postimages.stop();
    await imgbb.stop();
  });

  const env = (lease: string) => ({
    CLOUD_PROVIDERS: 'imgbb',
    IMGBB_API_KEY: imgbb.apiKey,
    IMGBB_API_URL: imgbb.apiUrl,
    POSTIMAGES_API_KEY: postimages.apiKey,
    POSTIMAGES_API_URL: postimages.apiUrl,
    CLOUD_TIMEOUT_MS: '5000',
    CLOUD_ATTEMPTS: '1',
    CIRCUIT_BREAK_AFTER: '100',
    REPLICATION_POLL_MS: '100',
    REPLICATION_BACKOFF_BASE_MS: '100',
    REPLICATION_LEASE_MS: lease,
  });

  const distinct = (i: number) =>
    sharp({ create: { width: 40 + i, height: 30, channels: 3, background: { r: (i * 53) % 256, g: 20, b: 200 } } })
      .png()
      .toBuffer();

  async function upload(server: TestServer, n: number): Promise<string[]> {
    const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await server.gql(
        UploadImageDocument,
        {
          input: {
            conversationId: c.data!.createConversation.id,
            base64: (await distinct(i)).toString('base64'),
            waitForCloud: false,
          },
        },
        as('alice'),
      );
      ids.push(res.data!.uploadImage.image.id);
    }
    return ids;
  }

  it('upload every image exactly once even though each upload outlasts the lease', async () => {
    const dir = await newDir();
    imgbb.setMode('slow');
    // A lease of 300 ms against uploads of 900 ms, in a batch of up to 8: every image's lease would
    // run out before its upload ended, and most before their turn came.
    const a = await startTestServer({ dir, keepDir: true, env: env('300') });
    const b = await startTestServer({ dir, keepDir: true, env: env('300') });
    const before = imgbb.uploads.length;
    try {
      const ids = await upload(a, 6);
      await until(
        async () => (await a.app.core.store.getImagesByIds(ids)).every((i) => i.replication.status === 'REPLICATED'),
        30_000,
      );
      const names = imgbb.uploads.slice(before).map((u) => u.name);
      expect(names).toHaveLength(6);
      expect(new Set(names).size).toBe(6);
    } finally {
      imgbb.setMode('ok');
      await a.stop();
      await b.stop();
    }
  });

  it('a deletion job whose provider is slow is not worked twice', async () => {
    const dir = await newDir();
    // PostImages offers deletion; its delete page answers slowly here.
    const env2 = { ...env('300'), CLOUD_PROVIDERS: 'postimages' };
    const a = await startTestServer({ dir, keepDir: true, env: env2 });
    const b = await startTestServer({ dir, keepDir: true, env: env2 });
    try {
      const c = await a.gql(CreateConversationDocument, { input: {} }, as('alice'));
      const res = await a.gql(
        UploadImageDocument,
        {
          input: {
            conversationId: c.data!.createConversation.id,
            base64: (await distinct(20)).toString('base64'),
            waitForCloud: true,
          },
        },
        as('alice'),
      );
      expect(res.data!.uploadImage.image.replicationStatus).toBe('REPLICATED');
      postimages.latencyMs = 900;
      const deleted = await a.gql(DeleteImageDocument, { id: res.data!.uploadImage.image.id }, as('alice'));
      expect(deleted.data!.deleteImage).toMatchObject({ cloudDeleted: true });
      // Give b's worker time to find the job had it been left with an expired lease.
      await new Promise((r) => setTimeout(r, 600));
      expect(postimages.deletions).toHaveLength(1);
      expect(await a.app.core.store.countPendingDeletions()).toBe(0);
    } finally {
      postimages.latencyMs = 0;
      await a.stop();
      await b.stop();
    }
  });
});
