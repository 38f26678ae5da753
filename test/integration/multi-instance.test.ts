/**
 * Several server processes on one metadata store and one STORAGE_DIR (the supported way to run
 * more than one; README "Running several servers"): any instance serves any image and its
 * signed links, and one instance's start-up sweep or reconcile never touches an upload another
 * is still writing. (Each image is uploaded to the cloud exactly once by the instances' workers:
 * test/integration/replication-durability.test.ts and leases.test.ts.)
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument, ImageDocument, UploadImageDocument } from '../generated/graphql.js';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { until } from '../support/eventually.js';
import { overrideStore } from '../support/override-store.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { sha256Hex } from '../support/factories.js';

const coffee = await readFile('test/fixtures/coffee.png');

describe('two instances on one store and one STORAGE_DIR', () => {
  let dir: string;
  let cloud: Emulator;
  let a: TestServer;
  let b: TestServer;
  /** While set, instance A's store holds every new record back: its uploads stay in flight. */
  let gate: Promise<void> | null = null;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'his-multi-'));
    cloud = await startPostImagesEmulator();
    const env = {
      CLOUD_PROVIDERS: 'postimages',
      POSTIMAGES_API_KEY: cloud.apiKey,
      POSTIMAGES_API_URL: cloud.apiUrl,
      CLOUD_TIMEOUT_MS: '2000',
    };
    a = await startTestServer({
      dir,
      keepDir: true,
      env,
      wrapStore: (s) =>
        overrideStore(s, {
          addImage: (original) => async (messageId, image) => {
            await gate;
            return original(messageId, image);
          },
          addMessage: (original) => async (message) => {
            if (message.images.length > 0) await gate;
            return original(message);
          },
        }),
    });
    b = await startTestServer({ dir, keepDir: true, env });
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function conversation(server: TestServer): Promise<string> {
    return (await server.gql(CreateConversationDocument, { input: {} }, as('alice'))).data!.createConversation.id;
  }

  it('an image uploaded through one instance is served by the other, its signed links included', async () => {
    const data = await sharp(coffee).resize(160).jpeg().toBuffer();
    const res = await a.gql(
      UploadImageDocument,
      { input: { conversationId: await conversation(a), base64: data.toString('base64') } },
      as('alice'),
    );
    const image = res.data!.uploadImage.image;
    const seen = await b.gql(ImageDocument, { id: image.id }, as('alice'));
    expect(seen.data!.image).toMatchObject({ id: image.id, sha256: image.sha256, replicationStatus: 'REPLICATED' });
    // A's signed link, asked of B (the same FILE_URL_SECRET): the same bytes.
    const link = new URL(image.localUrl!);
    const fromB = await fetch(`${b.url}${link.pathname}${link.search}`);
    expect(fromB.status).toBe(200);
    expect(sha256Hex(Buffer.from(await fromB.arrayBuffer()))).toBe(image.sha256);
  });

  it("neither a reconcile nor a fresh start's sweep on another instance touches an upload still being written", async () => {
    let release!: () => void;
    gate = new Promise((r) => (release = r));
    const data = await sharp(coffee).extract({ left: 100, top: 50, width: 200, height: 150 }).png().toBuffer();
    const before = new Set(await readdir(join(dir, 'storage', 'uploads')));
    const conversationId = await conversation(a);
    const pending = a.gql(
      UploadImageDocument,
      { input: { conversationId, base64: data.toString('base64') } },
      as('alice'),
    );
    // A has noted and written its files; its record waits at the gate.
    await until(async () => (await readdir(join(dir, 'storage', 'uploads'))).some((f) => !before.has(f)), 10_000);
    const written = (await readdir(join(dir, 'storage', 'uploads'))).filter((f) => !before.has(f));
    expect(written).toHaveLength(1);
    expect((await readdir(join(dir, 'storage', '.journal'))).length).toBeGreaterThan(0);

    const reconciled = await b.app.core.reconcile.run({ quarantine: true, dryRun: false });
    expect(reconciled.files).toMatchObject({ orphans: [], unrecorded: [], failed: 0 });
    // Unrecorded but young: an upload may still be storing its record (the original and its thumbnail).
    expect(reconciled.files.keptRecent).toBeGreaterThanOrEqual(2);
    const third = await startTestServer({ dir, keepDir: true });
    await until(async () => third.logs.some((l) => l['msg'] === 'orphan file sweep finished'), 10_000);
    expect(third.logs.find((l) => l['msg'] === 'orphan file sweep finished')).toMatchObject({
      removed: 0,
      unrecorded: 0,
    });
    await third.stop();
    expect(existsSync(join(dir, 'storage', 'uploads', written[0]!))).toBe(true);

    release();
    gate = null;
    const res = await pending;
    expect(res.errors).toBeUndefined();
    const image = res.data!.uploadImage.image;
    const onB = await b.gql(ImageDocument, { id: image.id }, as('alice'));
    expect(onB.data!.image!.sha256).toBe(sha256Hex(await readFile(join(dir, 'storage', 'uploads', written[0]!))));
  });
});
