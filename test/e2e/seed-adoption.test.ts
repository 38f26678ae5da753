/**
 * Adopting a deployment of the seed chatbot, as its owner would: the fixture written as the
 * seed's Python writes it (test/fixtures/seed-app), imported with the CLI (its own process)
 * into SQLite, then served. Two ways: copied into a fresh STORAGE_DIR, and in place with
 * STORAGE_DIR pointing at the seed's own folder. Either way every image is its owner's only,
 * local-only images replicate once a provider is up, reconcile deletes no seed file, cleanup
 * removes an original only where the cloud copy was downloaded and matched, old
 * /static/Storage links answer, and a second import changes nothing.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConversationDocument,
  ImageDocument,
  ImagesDocument,
  RequeueLocalOnlyImagesDocument,
  RestoreImagesDocument,
} from '../generated/graphql.js';
import { startImgbbEmulator, startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { runCli } from '../support/cli.js';
import { TEST_FILE_URL_SECRET, sha256Hex } from '../support/factories.js';
import { cdnBytes, copySeedApp, SEED, snapshotDir, type SeedCopy } from '../support/seed-app.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { snapshotSqlite } from '../support/snapshot.js';

const codeOf = (r: { errors?: readonly { extensions?: Record<string, unknown> }[] }) =>
  r.errors?.[0]?.extensions?.['code'];

let postimages: Emulator;
let imgbb: Emulator;
beforeAll(async () => {
  [postimages, imgbb] = await Promise.all([startPostImagesEmulator(), startImgbbEmulator()]);
});
afterAll(async () => {
  await Promise.all([postimages.stop(), imgbb.stop()]);
});

function cloudEnv(): Record<string, string> {
  return {
    CLOUD_PROVIDERS: 'postimages,imgbb',
    POSTIMAGES_API_KEY: postimages.apiKey,
    POSTIMAGES_API_URL: postimages.apiUrl,
    IMGBB_API_KEY: imgbb.apiKey,
    IMGBB_API_URL: imgbb.apiUrl,
    CLOUD_TIMEOUT_MS: '2000',
    CLOUD_ATTEMPTS: '1',
    REPLICATION_POLL_MS: '100',
    REPLICATION_BACKOFF_BASE_MS: '100',
    REPLICATION_BACKOFF_CAP_SECONDS: '1',
    // One failed run and an image is LOCAL_ONLY: the admin switch then has something to queue.
    REPLICATION_MAX_ATTEMPTS: '1',
  };
}

async function imagesOf(server: TestServer, user: string) {
  const res = await server.gql(ImagesDocument, { first: 50 }, as(user));
  expect(res.errors).toBeUndefined();
  return res.data!.images.edges.map((e) => e.node);
}

/** The image ids by stored key, from the SQLite file. */
function idsByKey(server: TestServer): Map<string, string> {
  const rows = snapshotSqlite(server.sqlitePath)['images'] as { id: string; local_key: string }[];
  return new Map(rows.map((r) => [r.local_key, r.id]));
}

describe.each([
  ['copied into a fresh STORAGE_DIR', false],
  ['in place: STORAGE_DIR is the seed folder', true],
] as const)('the seed deployment, %s', (_name, inPlace) => {
  let dir: string;
  let seed: SeedCopy;
  let env: Record<string, string>;
  let storageDir: string;
  let server: TestServer;

  const importArgs = () => [
    'import-seed',
    '--messages',
    seed.messages,
    '--conversations',
    seed.conversations,
    '--storage',
    seed.storage,
    '--json',
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'his-adopt-'));
    seed = await copySeedApp(dir, { postimages, imgbb });
    storageDir = inPlace ? seed.storage : join(dir, 'storage');
    env = { SQLITE_PATH: join(dir, 'metadata.sqlite'), STORAGE_DIR: storageDir, FILE_URL_SECRET: TEST_FILE_URL_SECRET };
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('import-seed imports everything, accounts for the lost file, and exits 0; a second run changes nothing', async () => {
    const first = await runCli(importArgs(), env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      conversations: 2,
      messages: 5,
      images: 4,
      missingWithCloudCopy: 1,
      queuedForReplication: 1,
      problems: [],
    });
    const stored = snapshotSqlite(env.SQLITE_PATH!);
    const files = await snapshotDir(storageDir);
    const second = await runCli(importArgs(), env);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      images: 0,
      imagesAlreadyImported: 4,
      messagesAlreadyImported: 5,
      conversationsAlreadyImported: 2,
    });
    expect(snapshotSqlite(env.SQLITE_PATH!)).toEqual(stored);
    expect(await snapshotDir(storageDir)).toEqual(files);
    // Every seed file is where it was, as it was.
    const after = await snapshotDir(seed.storage);
    for (const [path, data] of seed.files) expect(after.get(path)?.data).toEqual(data);
  });

  it('a server on the imported data shows each image to its owner only', async () => {
    // Both clouds down at first: the local-only image stays local while the links are checked.
    postimages.setMode('error500');
    imgbb.setMode('error500');
    server = await startTestServer({ dir, keepDir: true, env: { ...cloudEnv(), STORAGE_DIR: storageDir } });
    const alice = await imagesOf(server, SEED.alice);
    const bob = await imagesOf(server, SEED.bob);
    expect(alice).toHaveLength(3);
    expect(bob).toHaveLength(1);
    const ids = idsByKey(server);
    expect(new Set(alice.map((i) => i.id))).toEqual(
      new Set([SEED.generated, SEED.upload, SEED.localOnly].map((k) => ids.get(k))),
    );
    for (const image of alice) {
      expect((await server.gql(ImageDocument, { id: image.id }, as(SEED.bob))).errors?.[0]?.extensions?.['code']).toBe(
        'NOT_FOUND',
      );
    }
    const missing = ids.get(SEED.missing)!;
    expect((await server.gql(ImageDocument, { id: missing }, as(SEED.alice))).errors?.[0]?.extensions?.['code']).toBe(
      'NOT_FOUND',
    );
    // The message the seed wrote without user_id shows in alice's conversation, with its image.
    const conversation = await server.gql(
      ConversationDocument,
      { id: SEED.aliceConversation, first: 10 },
      as(SEED.alice),
    );
    expect(conversation.errors).toBeUndefined();
    expect(conversation.data!.conversation).toMatchObject({
      title: 'Lighthouse ideas',
      imageCount: 3,
      messages: { totalCount: 3 },
    });
    const [withoutUserId] = await server.app.core.store.getMessagesByIds([SEED.localOnlyMessage]);
    expect(withoutUserId).toMatchObject({
      userId: SEED.alice,
      images: [{ userId: SEED.alice, localKey: SEED.localOnly }],
    });
    const localOnly = alice.find((i) => i.id === ids.get(SEED.localOnly))!;
    expect(localOnly).toMatchObject({ cloudUrl: null, service: 'LOCAL' });
    expect(['PENDING', 'RETRYING']).toContain(localOnly.replicationStatus);
    expect(localOnly.displayUrl).toBe(localOnly.localUrl);
  });

  it('old /static/Storage links: 302 to the cloud copy, the local file only to its owner, 404 for anything else', async () => {
    const get = (path: string, user?: string) =>
      fetch(`${server.url}/static/Storage/${path}`, { redirect: 'manual', headers: user ? as(user) : {} });
    const generated = await get(SEED.generated);
    expect(generated.status).toBe(302);
    expect(generated.headers.get('location')).toBe(`${postimages.origin}/i/Xy12AbCd/img_20241102_101500_a1b2c3d4.png`);
    // No cloud copy: only its owner is sent on, to a signed /files URL that serves the bytes.
    expect((await get(SEED.localOnly, SEED.bob)).status).toBe(404);
    const own = await get(SEED.localOnly, SEED.alice);
    expect(own.status).toBe(302);
    const bytes = await fetch(own.headers.get('location')!);
    expect(bytes.status).toBe(200);
    expect(Buffer.from(await bytes.arrayBuffer())).toEqual(seed.files.get(SEED.localOnly));
    // The seed's own thumbnail is JPEG, and is served as such.
    const thumb = await fetch(
      (await get('thumbnails/thumb_img_20241103_090000_5eed0001.jpg', SEED.alice)).headers.get('location')!,
    );
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await thumb.arrayBuffer())).toEqual(
      seed.files.get('thumbnails/thumb_img_20241103_090000_5eed0001.jpg'),
    );
    // Files no record names (a PDF in place), unknown names, and keys that try to climb out.
    for (const path of [
      SEED.pdf,
      SEED.strayThumbnail,
      'uploads/img_20991231_000000_00000000.jpg',
      '..%2F..%2Fmetadata.sqlite',
      'uploads/%2e%2e/x',
      'secrets/x.png',
    ]) {
      expect((await get(path, SEED.alice)).status, path).toBe(404);
    }
    // LEGACY_STATIC_LINKS=false: the same link is not served at all.
    const off = await startTestServer({
      dir,
      keepDir: true,
      env: { STORAGE_DIR: storageDir, LEGACY_STATIC_LINKS: 'false' },
    });
    try {
      const res = await fetch(`${off.url}/static/Storage/${SEED.generated}`, { redirect: 'manual' });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(
        /API is at \/graphql/,
      );
    } finally {
      await off.stop();
    }
  });

  it('the local-only image replicates once a provider is up; restore brings back the lost file from its cloud copy', async () => {
    const ids = idsByKey(server);
    const uploadsBefore = postimages.uploads.length;
    postimages.setMode('ok');
    imgbb.setMode('ok');
    const localOnlyId = ids.get(SEED.localOnly)!;
    // Its one attempt failed while both clouds were down: LOCAL_ONLY until an admin queues it again.
    await eventually(
      () => server.gql(ImageDocument, { id: localOnlyId }, as(SEED.alice)),
      (r) => r.data?.image?.replicationStatus === 'LOCAL_ONLY',
    );
    expect(codeOf(await server.gql(RequeueLocalOnlyImagesDocument, {}, as(SEED.alice)))).toBe('FORBIDDEN');
    if (inPlace) {
      // The CLI's switch, as an operator runs it beside the server.
      const dry = await runCli(['requeue-local-only', '--dry-run', '--json'], { ...env, ...cloudEnv() });
      expect(JSON.parse(dry.stdout)).toEqual({ scanned: 4, queued: 1 });
      const run = await runCli(['requeue-local-only', '--json'], { ...env, ...cloudEnv() });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ scanned: 4, queued: 1 });
    } else {
      const dry = await server.gql(RequeueLocalOnlyImagesDocument, { dryRun: true }, as('root', ['admin']));
      expect(dry.data!.requeueLocalOnlyImages).toEqual({ scanned: 4, queued: 1 });
      expect(
        (await server.gql(ImageDocument, { id: localOnlyId }, as(SEED.alice))).data!.image!.replicationStatus,
      ).toBe('LOCAL_ONLY');
      const res = await server.gql(RequeueLocalOnlyImagesDocument, {}, as('root', ['admin']));
      expect(res.data!.requeueLocalOnlyImages).toEqual({ scanned: 4, queued: 1 });
    }
    const replicated = await eventually(
      () => server.gql(ImageDocument, { id: localOnlyId }, as(SEED.alice)),
      (r) => r.data?.image?.replicationStatus === 'REPLICATED',
    );
    expect(replicated.data!.image!.cloudUrl).toMatch(new RegExp(`^${postimages.origin}/i/`));
    expect(postimages.uploads.slice(uploadsBefore).map((u) => sha256Hex(u.bytes))).toEqual([
      sha256Hex(seed.files.get(SEED.localOnly)!),
    ]);

    const restored = await server.gql(RestoreImagesDocument, {}, as(SEED.bob));
    expect(restored.data!.restoreImages).toMatchObject({
      scanned: 1,
      restored: 1,
      failed: 0,
      thumbnailsRegenerated: 1,
    });
    expect(await readFile(join(storageDir, SEED.missing))).toEqual(await cdnBytes('img_20241104_120000_10571057.png'));
    expect(existsSync(join(storageDir, 'thumbnails/thumb_img_20241104_120000_10571057.webp'))).toBe(true);
  });

  it('reconcile and the start-up sweep delete no seed file; the PDF and a stray thumbnail are reported', async () => {
    const before = await snapshotDir(seed.storage);
    const run = await runCli(['reconcile', '--json'], { ...env, ...cloudEnv() });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { files: { orphans: string[]; unrecorded: string[] } };
    expect(report.files.orphans).toEqual([]);
    if (inPlace) expect(report.files.unrecorded.sort()).toEqual([SEED.pdf, SEED.strayThumbnail].sort());
    // A restart runs the sweep at start.
    await server.stop();
    server = await startTestServer({ dir, keepDir: true, env: { ...cloudEnv(), STORAGE_DIR: storageDir } });
    const swept = await eventually(
      async () => server.logs.find((l) => l['msg'] === 'orphan file sweep finished'),
      (v) => v !== undefined,
    );
    expect(swept).toMatchObject({ removed: 0, failed: 0, unrecorded: inPlace ? 2 : 0 });
    const after = await snapshotDir(seed.storage);
    for (const [path, file] of before) expect(after.get(path)?.data, path).toEqual(file.data);
  });

  it('cleanup keeps every original whose cloud copy does not hold its bytes, and removes only checked ones', async () => {
    const ids = idsByKey(server);
    // The ImgBB copy now holds other bytes: the upload's original must stay.
    const ibbKey = 'Qw9rT5yU/img_20241102_101620_0badc0de.jpg';
    const good = imgbb.stored.get(ibbKey)!;
    imgbb.stored.set(ibbKey, Buffer.concat([good, Buffer.from('changed')]));
    try {
      const run = await runCli(['cleanup', '--older-than-days', '0', '--json'], { ...env, ...cloudEnv() });
      expect(run.code).toBe(0);
      // Checked and matched: the generated image (the seed's copy) and the lost one restored from
      // its copy; the local-only one was replicated by this server. Kept: the upload whose ImgBB
      // copy now holds other bytes (flagged as altered, and queued to be replicated again).
      expect(JSON.parse(run.stdout)).toMatchObject({
        deleted: 3,
        verifiedCloudCopies: 2,
        keptUnverifiedCloudCopy: 0,
        alteredCloudCopies: 1,
        failed: 0,
      });
    } finally {
      imgbb.stored.set(ibbKey, good);
    }
    expect(existsSync(join(storageDir, SEED.upload))).toBe(true);
    for (const key of [SEED.generated, SEED.localOnly, SEED.missing])
      expect(existsSync(join(storageDir, key)), key).toBe(false);
    // Thumbnails, the PDF and the stray thumbnail stay.
    for (const path of [...seed.files.keys()].filter((p) => p.startsWith('thumbnails/') || p === SEED.pdf)) {
      if (inPlace || !(path === SEED.pdf || path === SEED.strayThumbnail))
        expect(existsSync(join(storageDir, path)), path).toBe(true);
    }
    // What cleanup removed comes back byte for byte.
    const restored = await server.gql(
      RestoreImagesDocument,
      { input: { imageIds: [ids.get(SEED.generated)!] } },
      as(SEED.alice),
    );
    expect(restored.data!.restoreImages).toMatchObject({ failed: 0 });
    const shown = await server.gql(ImageDocument, { id: ids.get(SEED.generated)! }, as(SEED.alice));
    expect(shown.data!.image!.displayUrl).toBe(`${postimages.origin}/i/Xy12AbCd/img_20241102_101500_a1b2c3d4.png`);
  });
});
