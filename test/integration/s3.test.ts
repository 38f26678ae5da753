/**
 * The s3 provider through the real AWS SDK against s3rver (test/support/s3.ts): what a server
 * configured with CLOUD_PROVIDERS=s3,postimages writes to the bucket, what it shows, what it
 * deletes, and how it falls back when the bucket throttles, refuses or is gone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CleanupLocalImagesDocument,
  CreateConversationDocument,
  DeleteImageDocument,
  ImageDocument,
  ProvidersDocument,
  RestoreImagesDocument,
  UploadImageDocument,
} from '../generated/graphql.js';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { MULTIPART_ABOVE_BYTES, S3Provider } from '../../src/cloud/s3.js';
import { startS3, type S3Endpoint } from '../support/s3.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { sha256Hex } from '../support/factories.js';

const coffee = await readFile('test/fixtures/coffee.png');
const photo = (i: number) =>
  sharp(coffee)
    .extract({ left: 10 + i * 7, top: 5, width: 200, height: 150 })
    .jpeg({ quality: 85 })
    .toBuffer();

let s3: S3Endpoint;
let postimages: Emulator;
let server: TestServer;

beforeAll(async () => {
  [s3, postimages] = await Promise.all([startS3(), startPostImagesEmulator()]);
  server = await startTestServer({
    env: s3.env({
      CLOUD_PROVIDERS: 's3,postimages',
      POSTIMAGES_API_KEY: postimages.apiKey,
      POSTIMAGES_API_URL: postimages.apiUrl,
      CLOUD_TIMEOUT_MS: '3000',
      CLOUD_ATTEMPTS: '2',
      CIRCUIT_BREAK_AFTER: '100',
      REPLICATION_POLL_MS: '60000',
    }),
  });
});
afterAll(async () => {
  await server.stop();
  await Promise.all([s3.stop(), postimages.stop()]);
});
afterEach(() => {
  s3.mode = 'ok';
});

async function upload(user: string, data: Buffer) {
  const c = await server.gql(CreateConversationDocument, { input: {} }, as(user));
  const res = await server.gql(
    UploadImageDocument,
    { input: { conversationId: c.data!.createConversation.id, base64: data.toString('base64'), waitForCloud: true } },
    as(user),
  );
  expect(res.errors).toBeUndefined();
  return res.data!.uploadImage.image;
}

/** The stored key of an image's local original (the API only shows signed URLs). */
function keyOf(server: TestServer, id: string): string {
  const db = new Database(server.sqlitePath, { readonly: true });
  try {
    return db.prepare('SELECT local_key FROM images WHERE id = ?').pluck().get(id) as string;
  } finally {
    db.close();
  }
}

const puts = () => s3.requests.filter((r) => r.method === 'PUT');

describe('the s3 provider', () => {
  it('writes each image once under its owner, with its SHA-256, type and immutable caching, and shows it from the public base', async () => {
    const data = await photo(0);
    const before = puts().length;
    const image = await upload('alice', data);
    expect(image).toMatchObject({ service: 'S3', replicationStatus: 'REPLICATED' });
    const key = `alice/${image.sha256}.jpg`;
    expect(image.cloudUrl).toBe(`${s3.publicBaseUrl}/${key}`);
    expect(image.displayUrl).toBe(image.cloudUrl);
    const [put] = puts().slice(before);
    expect(put!.path).toBe(`/${s3.bucket}/${key}`);
    // The stored original's digest (the upload was processed), base64 as S3 wants it.
    expect(put!.headers['x-amz-checksum-sha256']).toBe(Buffer.from(image.sha256, 'hex').toString('base64'));
    expect(put!.headers['content-type']).toBe('image/jpeg');
    expect(put!.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    // The bytes the bucket serves are the stored original's.
    const served = await fetch(image.cloudUrl!);
    expect(served.status).toBe(200);
    expect(sha256Hex(Buffer.from(await served.arrayBuffer()))).toBe(image.sha256);
    // No upload went to PostImages.
    expect(postimages.uploads).toHaveLength(0);
  });

  it('names objects by content within the owner: the same bytes of another owner are another object', async () => {
    const data = await photo(1);
    const a = await upload('alice', data);
    const b = await upload('bob', data);
    expect(a.cloudUrl).toBe(`${s3.publicBaseUrl}/alice/${a.sha256}.jpg`);
    expect(b.cloudUrl).toBe(`${s3.publicBaseUrl}/bob/${b.sha256}.jpg`);
  });

  it('deleteImage deletes the object, and says so only when S3 confirmed it', async () => {
    const image = await upload('alice', await photo(2));
    const deleted = await server.gql(DeleteImageDocument, { id: image.id }, as('alice'));
    expect(deleted.data!.deleteImage).toMatchObject({
      deletedImageId: image.id,
      cloudDeleted: true,
      localDeleted: true,
    });
    expect(s3.requests.some((r) => r.method === 'DELETE' && r.path === `/${s3.bucket}/alice/${image.sha256}.jpg`)).toBe(
      true,
    );
    expect((await fetch(image.cloudUrl!)).status).toBe(404);

    // A refused deletion is not reported as done (and the job is kept for the worker).
    const other = await upload('alice', await photo(3));
    s3.mode = 'slowdown';
    const refused = await server.gql(DeleteImageDocument, { id: other.id }, as('alice'));
    expect(refused.data!.deleteImage).toMatchObject({ cloudDeleted: false });
    s3.mode = 'ok';
    expect((await fetch(other.cloudUrl!)).status).toBe(200);
  });

  it('retries throttling (SlowDown), then the chain moves on to PostImages', async () => {
    s3.mode = 'slowdown';
    const before = puts().length;
    const image = await upload('alice', await photo(4));
    // CLOUD_ATTEMPTS=2: two tries at S3, then PostImages.
    expect(puts().length - before).toBe(2);
    expect(image).toMatchObject({ service: 'POSTIMAGES', replicationStatus: 'REPLICATED' });
  });

  it('does not retry AccessDenied or a missing bucket: one request, then PostImages; the provider reports itself misconfigured', async () => {
    for (const mode of ['denied', 'nobucket'] as const) {
      s3.mode = mode;
      const before = puts().length;
      const image = await upload('alice', await photo(mode === 'denied' ? 5 : 6));
      expect(puts().length - before, mode).toBe(1);
      expect(image.service).toBe('POSTIMAGES');
      const providers = (await server.gql(ProvidersDocument, {}, as('alice'))).data!.providers;
      expect(
        providers.find((p) => p.name === 'S3'),
        mode,
      ).toMatchObject({
        misconfigured: true,
        lastError: expect.stringMatching(mode === 'denied' ? /AccessDenied/ : /NoSuchBucket/),
      });
      expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(
        /his_provider_misconfigured\{provider="s3"\} 1/,
      );
    }
    expect(
      server.logs.some(
        (l) =>
          l['msg'] === 'a cloud provider is misconfigured: not retried, the chain moves on; fix its settings' &&
          l['provider'] === 'S3',
      ),
    ).toBe(true);
    // Fixed: the next success clears it.
    s3.mode = 'ok';
    expect((await upload('alice', await photo(8))).service).toBe('S3');
    const after = (await server.gql(ProvidersDocument, {}, as('alice'))).data!.providers;
    expect(after.find((p) => p.name === 'S3')).toMatchObject({ misconfigured: false });
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(
      /his_provider_misconfigured\{provider="s3"\} 0/,
    );
  });

  it('restore reads a lost original back through the SDK (a signed GetObject, no public fetch), byte for byte', async () => {
    const image = await upload('carol', await photo(9));
    const key = keyOf(server, image.id);
    await rm(join(server.storageDir, key));
    const before = s3.requests.length;
    const restored = await server.gql(RestoreImagesDocument, {}, as('carol'));
    expect(restored.data!.restoreImages).toMatchObject({ restored: 1, failed: 0 });
    expect(sha256Hex(await readFile(join(server.storageDir, key)))).toBe(image.sha256);
    const gets = s3.requests.slice(before).filter((r) => r.method === 'GET');
    expect(gets.map((r) => r.path)).toEqual([`/${s3.bucket}/carol/${image.sha256}.jpg`]);
    expect(String(gets[0]!.headers['authorization'])).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\//);

    // The bucket refusing: reported, nothing written.
    await rm(join(server.storageDir, key));
    s3.mode = 'denied';
    const refused = await server.gql(RestoreImagesDocument, {}, as('carol'));
    expect(refused.data!.restoreImages).toMatchObject({ restored: 0, failed: 1 });
    expect(refused.data!.restoreImages.failures[0]!.reason).toMatch(/AccessDenied/);
    expect(existsSync(join(server.storageDir, key))).toBe(false);
  });

  it('falls from a dead endpoint to PostImages', async () => {
    s3.mode = 'dead';
    const image = await upload('alice', await photo(7));
    expect(image).toMatchObject({ service: 'POSTIMAGES', replicationStatus: 'REPLICATED' });
  });
});

describe('the s3 provider with a private bucket (no S3_PUBLIC_BASE_URL)', () => {
  let privateServer: TestServer;

  beforeAll(async () => {
    const { S3_PUBLIC_BASE_URL: _public, ...env } = s3.env({
      CLOUD_PROVIDERS: 's3',
      CLOUD_TIMEOUT_MS: '3000',
      CLOUD_ATTEMPTS: '1',
      S3_KEY_PREFIX: 'private/',
    });
    privateServer = await startTestServer({ env });
  });
  afterAll(async () => {
    await privateServer.stop();
  });

  it('records the object, never a URL that expires, and shows a presigned URL made at read time that loads', async () => {
    const c = await privateServer.gql(CreateConversationDocument, { input: {} }, as('dana'));
    const res = await privateServer.gql(
      UploadImageDocument,
      {
        input: {
          conversationId: c.data!.createConversation.id,
          base64: (await photo(10)).toString('base64'),
          waitForCloud: true,
        },
      },
      as('dana'),
    );
    const image = res.data!.uploadImage.image;
    expect(image).toMatchObject({ service: 'S3', replicationStatus: 'REPLICATED' });
    const db = new Database(privateServer.sqlitePath, { readonly: true });
    const stored = db.prepare('SELECT cloud_url, delete_url, local_key FROM images WHERE id = ?').get(image.id) as {
      cloud_url: string;
      delete_url: string;
      local_key: string;
    };
    db.close();
    expect(stored.cloud_url).toBe(`s3://${s3.bucket}/private/dana/${image.sha256}.jpg`);

    const shown = new URL(image.cloudUrl!);
    expect(`${shown.origin}${shown.pathname}`).toBe(`${s3.endpoint}/${s3.bucket}/private/dana/${image.sha256}.jpg`);
    expect(shown.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(Number(shown.searchParams.get('X-Amz-Expires'))).toBeGreaterThanOrEqual(3600);
    expect(shown.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(image.displayUrl).toBe(image.cloudUrl);
    const served = await fetch(image.cloudUrl!);
    expect(served.status).toBe(200);
    expect(sha256Hex(Buffer.from(await served.arrayBuffer()))).toBe(image.sha256);
    // Within the signing window the same URL comes back, so caches keep working.
    const again = await privateServer.gql(ImageDocument, { id: image.id }, as('dana'));
    expect(again.data!.image!.cloudUrl).toBe(image.cloudUrl);

    // A seed-style link to a private object: not for anyone but its owner, who gets a presigned URL.
    const key = stored.local_key;
    expect((await fetch(`${privateServer.url}/static/Storage/${key}`, { redirect: 'manual' })).status).toBe(404);
    expect(
      (await fetch(`${privateServer.url}/static/Storage/${key}`, { redirect: 'manual', headers: as('eve') })).status,
    ).toBe(404);
    const owned = await fetch(`${privateServer.url}/static/Storage/${key}`, {
      redirect: 'manual',
      headers: as('dana'),
    });
    expect(owned.status).toBe(302);
    expect(new URL(owned.headers.get('location')!).searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);

    // Once cleanup removed the original, its old /files link redirects to a presigned URL.
    const cleaned = await privateServer.gql(
      CleanupLocalImagesDocument,
      { input: { olderThanDays: 0 } },
      as('root', ['admin']),
    );
    expect(cleaned.data!.cleanupLocalImages).toMatchObject({ deleted: 1 });
    const old = await fetch(image.localUrl!, { redirect: 'manual' });
    expect(old.status).toBe(302);
    const target = old.headers.get('location')!;
    expect(new URL(target).searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256Hex(Buffer.from(await (await fetch(target)).arrayBuffer()))).toBe(image.sha256);

    // And the object is deleted with the image.
    const deleted = await privateServer.gql(DeleteImageDocument, { id: image.id }, as('dana'));
    expect(deleted.data!.deleteImage).toMatchObject({ cloudDeleted: true });
    expect((await fetch(target)).status).toBe(404);
  });
});

describe('the s3 provider on its own', () => {
  it('uploads an object over 8 MB in checksummed parts, and it reads back whole', async () => {
    const provider = new S3Provider(s3.providerOptions({ keyPrefix: 'big/', timeoutMs: 20_000 }));

    const data = randomBytes(MULTIPART_ABOVE_BYTES + 3 * 1024 * 1024);
    const before = s3.requests.length;
    const copy = await provider.upload(
      {
        data,
        fileName: 'img_20260101_000000_0000beef.png',
        mimeType: 'image/png',
        sha256: sha256Hex(data),
        ownerId: 'erin',
      },
      AbortSignal.timeout(20_000),
    );
    const requests = s3.requests.slice(before);
    // CreateMultipartUpload, two parts (8 MB and 3 MB), CompleteMultipartUpload.
    const parts = requests.filter((r) => r.method === 'PUT');
    expect(parts).toHaveLength(2);
    // Each part carries the SHA-256 of its own bytes (S3 checks every part).
    const slices = [data.subarray(0, MULTIPART_ABOVE_BYTES), data.subarray(MULTIPART_ABOVE_BYTES)];
    expect(parts.map((p) => p.headers['x-amz-checksum-sha256']).sort()).toEqual(
      slices.map((b) => createHash('sha256').update(b).digest('base64')).sort(),
    );
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(copy.url).toBe(`${s3.publicBaseUrl}/big/erin/${sha256Hex(data)}.png`);
    expect(sha256Hex(Buffer.from(await (await fetch(copy.url)).arrayBuffer()))).toBe(sha256Hex(data));
  });
});

describe('s3 object keys', () => {
  it('keep every owner under a segment of its own, whatever its id', () => {
    const provider = new S3Provider({
      bucket: 'b-b',
      region: 'us-east-1',
      endpoint: null,
      forcePathStyle: false,
      credentials: null,
      keyPrefix: 'p/',
      publicBaseUrl: 'https://cdn.example',
      presignTtlSeconds: 3600,
      timeoutMs: 1000,
      requireHttps: true,
    });
    const file = (ownerId: string) => ({
      data: Buffer.from('x'),
      fileName: 'a.png',
      mimeType: 'image/png',
      sha256: 'ab'.repeat(32),
      ownerId,
    });
    expect(provider.keyFor(file('alice'))).toBe(`p/alice/${'ab'.repeat(32)}.png`);
    for (const id of ['.', '..', 'a/b', 'x:y@z|w']) {
      const key = provider.keyFor(file(id));
      const segment = key.split('/')[1]!;
      expect(key.split('/'), id).toHaveLength(3);
      expect(decodeURIComponent(segment), id).toBe(id);
      // The public URL names the same object: nothing in it is resolved or re-split.
      const url = new URL(provider.recordedUrlOf(key));
      expect(url.pathname.split('/').slice(1).map(decodeURIComponent), id).toEqual(key.split('/'));
    }
  });
});

describe('thumbnails with the s3 provider', () => {
  let thumbServer: TestServer;
  const admin = as('root', ['admin']);

  beforeAll(async () => {
    thumbServer = await startTestServer({
      env: s3.env({
        CLOUD_PROVIDERS: 's3',
        CLOUD_TIMEOUT_MS: '3000',
        CLOUD_ATTEMPTS: '2',
        CIRCUIT_BREAK_AFTER: '100',
        REPLICATION_POLL_MS: '60000',
      }),
    });
  });
  afterAll(async () => {
    await thumbServer.stop();
  });
  afterEach(() => {
    s3.modeFor = null;
  });

  async function uploadTo(user: string, data: Buffer) {
    const c = await thumbServer.gql(CreateConversationDocument, { input: {} }, as(user));
    const res = await thumbServer.gql(
      UploadImageDocument,
      { input: { conversationId: c.data!.createConversation.id, base64: data.toString('base64'), waitForCloud: true } },
      as(user),
    );
    expect(res.errors).toBeUndefined();
    return res.data!.uploadImage.image;
  }
  const stored = (id: string) => {
    const db = new Database(thumbServer.sqlitePath, { readonly: true });
    try {
      return db.prepare('SELECT local_key, thumbnail_key, thumbnail_cloud_url FROM images WHERE id = ?').get(id) as {
        local_key: string | null;
        thumbnail_key: string;
        thumbnail_cloud_url: string | null;
      };
    } finally {
      db.close();
    }
  };
  /** Only this image is old enough: the others of the file are cleaned by their own tests. */
  const cleanup = () => thumbServer.gql(CleanupLocalImagesDocument, { input: { olderThanDays: 0 } }, admin);

  it('uploads the thumbnail next to the original, with its own SHA-256 and type', async () => {
    const before = puts().length;
    const image = await uploadTo('frank', await photo(11));
    const written = puts().slice(before);
    expect(written.map((p) => p.path)).toEqual([
      `/${s3.bucket}/frank/${image.sha256}.jpg`,
      `/${s3.bucket}/frank/${image.sha256}.thumb.webp`,
    ]);
    const local = Buffer.from(await (await fetch(image.thumbnailUrl!)).arrayBuffer());
    expect(local.length).toBeGreaterThan(0);
    expect(written[1]!.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(local).digest('base64'));
    expect(written[1]!.headers['content-type']).toBe('image/webp');
    expect(written[1]!.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const cloud = `${s3.publicBaseUrl}/frank/${image.sha256}.thumb.webp`;
    expect(stored(image.id).thumbnail_cloud_url).toBe(cloud);
    expect(Buffer.from(await (await fetch(cloud)).arrayBuffer())).toEqual(local);
    // Still served from here while the local file is kept.
    expect(image.thumbnailUrl!.startsWith(thumbServer.url)).toBe(true);
    // A seed-style link to the thumbnail leads to the thumbnail's public copy, not the original's.
    const legacy = await fetch(`${thumbServer.url}/static/Storage/${stored(image.id).thumbnail_key}`, {
      redirect: 'manual',
    });
    expect(legacy.status).toBe(302);
    expect(legacy.headers.get('location')).toBe(cloud);
  });

  it('cleanup evicts both local files; thumbnail links lead to the cloud copy; restore remakes nothing; delete removes both objects', async () => {
    const image = await uploadTo('gina', await photo(12));
    const keys = stored(image.id);
    const localThumb = await readFile(join(thumbServer.storageDir, keys.thumbnail_key));
    const thumbSize = localThumb.length;
    const cleaned = (await cleanup()).data!.cleanupLocalImages;
    expect(cleaned).toMatchObject({ failed: 0 });
    expect(cleaned.thumbnailsDeleted).toBeGreaterThanOrEqual(1);
    expect(cleaned.bytesFreed).toBeGreaterThanOrEqual(image.size + thumbSize);
    expect(existsSync(join(thumbServer.storageDir, keys.local_key!))).toBe(false);
    expect(existsSync(join(thumbServer.storageDir, keys.thumbnail_key))).toBe(false);

    // The API now shows the thumbnail's cloud copy; the old signed link redirects to it.
    const after = (await thumbServer.gql(ImageDocument, { id: image.id }, as('gina'))).data!.image!;
    const cloudThumb = `${s3.publicBaseUrl}/gina/${image.sha256}.thumb.webp`;
    expect(after.thumbnailUrl).toBe(cloudThumb);
    const old = await fetch(image.thumbnailUrl!, { redirect: 'manual' });
    expect(old.status).toBe(302);
    expect(old.headers.get('location')).toBe(cloudThumb);
    expect(Buffer.from(await (await fetch(cloudThumb)).arrayBuffer())).toEqual(localThumb);

    // Restore leaves an evicted image alone: no thumbnail is made again, nothing is downloaded.
    const before = s3.requests.length;
    const restored = (await thumbServer.gql(RestoreImagesDocument, {}, as('gina'))).data!.restoreImages;
    expect(restored).toMatchObject({ cloudOnly: 1, thumbnailsRegenerated: 0, failed: 0 });
    expect(s3.requests.length).toBe(before);
    expect(existsSync(join(thumbServer.storageDir, keys.thumbnail_key))).toBe(false);

    const deleted = (await thumbServer.gql(DeleteImageDocument, { id: image.id }, as('gina'))).data!.deleteImage;
    expect(deleted).toMatchObject({ cloudDeleted: true, localDeleted: true });
    const deletes = s3.requests
      .slice(before)
      .filter((r) => r.method === 'DELETE')
      .map((r) => r.path);
    expect(deletes.sort()).toEqual([
      `/${s3.bucket}/gina/${image.sha256}.jpg`,
      `/${s3.bucket}/gina/${image.sha256}.thumb.webp`,
    ]);
    expect((await fetch(cloudThumb)).status).toBe(404);
  });

  it('a thumbnail shared by twins (the same bytes of one owner) is deleted only with the last of them', async () => {
    const data = await photo(13);
    const a = await uploadTo('hugo', data);
    const b = await uploadTo('hugo', data);
    const cloudThumb = `${s3.publicBaseUrl}/hugo/${a.sha256}.thumb.webp`;
    expect(stored(b.id).thumbnail_cloud_url).toBe(cloudThumb);
    expect((await thumbServer.gql(DeleteImageDocument, { id: a.id }, as('hugo'))).data!.deleteImage.cloudDeleted).toBe(
      false,
    );
    expect((await fetch(cloudThumb)).status).toBe(200);
    expect((await thumbServer.gql(DeleteImageDocument, { id: b.id }, as('hugo'))).data!.deleteImage.cloudDeleted).toBe(
      true,
    );
    expect((await fetch(cloudThumb)).status).toBe(404);
  });

  it('a thumbnail the bucket refuses leaves the image replicated and its thumbnail local, which cleanup keeps', async () => {
    s3.modeFor = (r) => (r.method === 'PUT' && r.path.includes('.thumb.') ? 'internal' : undefined);
    const image = await uploadTo('ivan', await photo(14));
    expect(image).toMatchObject({ service: 'S3', replicationStatus: 'REPLICATED' });
    const keys = stored(image.id);
    expect(keys.thumbnail_cloud_url).toBeNull();
    expect(
      thumbServer.logs.some(
        (l) =>
          l['msg'] === 'the thumbnail could not be uploaded with the original: it is kept locally only' &&
          l['imageId'] === image.id,
      ),
    ).toBe(true);
    s3.modeFor = null;
    await cleanup();
    expect(existsSync(join(thumbServer.storageDir, keys.local_key!))).toBe(false);
    expect(existsSync(join(thumbServer.storageDir, keys.thumbnail_key))).toBe(true);
    const after = (await thumbServer.gql(ImageDocument, { id: image.id }, as('ivan'))).data!.image!;
    expect(after.thumbnailUrl!.startsWith(thumbServer.url)).toBe(true);
    expect((await fetch(after.thumbnailUrl!)).status).toBe(200);
  });
});
