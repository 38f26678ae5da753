import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { startImgbbEmulator, startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { until } from '../support/eventually.js';
import { as, freePort, startTestServer, type TestServer } from '../support/server.js';

let postimages: Emulator;
let imgbb: Emulator;
const dirs: string[] = [];
beforeAll(async () => {
  postimages = await startPostImagesEmulator({ slowMs: 1500 });
  imgbb = await startImgbbEmulator();
});
afterAll(async () => {
  await postimages.stop();
  await imgbb.stop();
});
afterEach(async () => {
  postimages.setMode('ok');
  imgbb.setMode('ok');
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  POSTIMAGES_API_KEY: postimages.apiKey,
  POSTIMAGES_API_URL: postimages.apiUrl,
  IMGBB_API_KEY: imgbb.apiKey,
  IMGBB_API_URL: imgbb.apiUrl,
  CLOUD_TIMEOUT_MS: '3000',
  CLOUD_ATTEMPTS: '1',
  REPLICATION_BACKOFF_BASE_MS: '100',
  REPLICATION_POLL_MS: '100',
  REPLICATION_LEASE_MS: '1500',
  ...extra,
});

async function newDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'his-durable-'));
  dirs.push(d);
  return d;
}

/** Distinct small images, so no upload reuses another's cloud copy. */
const distinct = (i: number) =>
  sharp({ create: { width: 32 + i, height: 24, channels: 3, background: { r: (i * 37) % 256, g: 90, b: 160 } } })
    .png()
    .toBuffer();

async function uploadMany(server: TestServer, n: number, waitForCloud: boolean): Promise<string[]> {
  const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await server.gql(
      UploadImageDocument,
      {
        input: {
          conversationId: c.data!.createConversation.id,
          base64: (await distinct(i)).toString('base64'),
          waitForCloud,
        },
      },
      as('alice'),
    );
    ids.push(res.data!.uploadImage.image.id);
  }
  return ids;
}

async function statuses(sqlitePath: string, ids: string[]): Promise<string[]> {
  const store = new SqliteMetadataStore({ path: sqlitePath });
  await store.init();
  const images = await store.getImagesByIds(ids);
  await store.close();
  return images.map((i) => i.replication.status);
}

describe('durable replication', () => {
  it('images left RETRYING by a stopped server reach REPLICATED after a restart, with no new upload from the client', async () => {
    const dir = await newDir();
    postimages.setMode('error500');
    imgbb.setMode('error500');
    const first = await startTestServer({ dir, keepDir: true, env: env() });
    const ids = await uploadMany(first, 3, true);
    expect(await statuses(first.sqlitePath, ids)).toEqual(['RETRYING', 'RETRYING', 'RETRYING']);
    await first.stop();

    postimages.setMode('ok');
    imgbb.setMode('ok');
    const second = await startTestServer({ dir, keepDir: true, env: env() });
    try {
      await until(async () => (await statuses(second.sqlitePath, ids)).every((s) => s === 'REPLICATED'), 15_000);
    } finally {
      await second.stop();
    }
  });

  it('two instances on one SQLite file upload every image to a provider exactly once', async () => {
    const dir = await newDir();
    imgbb.setMode('slow');
    postimages.setMode('error500'); // everything goes to ImgBB, slowly, so both workers overlap
    const a = await startTestServer({
      dir,
      keepDir: true,
      env: env({ CIRCUIT_BREAK_AFTER: '100', REPLICATION_LEASE_MS: '20000' }),
    });
    const b = await startTestServer({
      dir,
      keepDir: true,
      env: env({ CIRCUIT_BREAK_AFTER: '100', REPLICATION_LEASE_MS: '20000' }),
    });
    const before = imgbb.uploads.length;
    try {
      const ids = await uploadMany(a, 8, false);
      await until(async () => (await statuses(a.sqlitePath, ids)).every((s) => s === 'REPLICATED'), 30_000);
      const names = imgbb.uploads.slice(before).map((u) => u.name);
      expect(names).toHaveLength(8);
      expect(new Set(names).size).toBe(8);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('a server killed with SIGKILL in the middle of replication loses nothing: another start finishes the job', async () => {
    const dir = await newDir();
    postimages.setMode('slow'); // 1.5 s per upload: the kill lands while uploads are in flight
    const port = await freePort();
    const serverEnv = {
      ...process.env,
      ...env(),
      PORT: String(port),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      SQLITE_PATH: join(dir, 'metadata.sqlite'),
      STORAGE_DIR: join(dir, 'storage'),
      FILE_URL_SECRET: 'k'.repeat(32),
      LOG_LEVEL: 'warn',
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: serverEnv, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const url = `http://127.0.0.1:${port}/graphql`;
    await until(
      () =>
        fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        ),
      20_000,
    );
    const gql = async (query: string, variables: unknown) =>
      (await (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-user-id': 'alice' },
          body: JSON.stringify({ query, variables }),
        })
      ).json()) as {
        data: Record<string, { id: string; image?: { id: string } }>;
      };
    const conversationId = (await gql('mutation { createConversation(input: {}) { id } }', {})).data[
      'createConversation'
    ]!.id;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await gql('mutation($i: UploadImageInput!) { uploadImage(input: $i) { image { id } } }', {
        i: { conversationId, base64: (await distinct(100 + i)).toString('base64'), waitForCloud: false },
      });
      ids.push(res.data['uploadImage']!.image!.id);
    }
    await until(
      async () =>
        postimages.uploads.length > 0 ||
        (await statuses(join(dir, 'metadata.sqlite'), ids)).some((s) => s !== 'PENDING'),
      10_000,
    );
    child.kill('SIGKILL');
    await exited;

    postimages.setMode('ok');
    const restarted = await startTestServer({ dir, keepDir: true, env: env() });
    try {
      await until(async () => (await statuses(restarted.sqlitePath, ids)).every((s) => s === 'REPLICATED'), 20_000);
    } finally {
      await restarted.stop();
    }
    const stored = await new SqliteMetadataStore({ path: join(dir, 'metadata.sqlite') });
    await stored.init();
    const images = await stored.getImagesByIds(ids);
    await stored.close();
    expect(images.every((i) => i.cloudUrl !== null && i.replication.leaseOwner === null)).toBe(true);
    expect(await readFile(join(dir, 'storage', images[0]!.localKey!))).toBeInstanceOf(Buffer);
  });
});
