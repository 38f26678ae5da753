import { print } from 'graphql';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { heavyAnimation } from '../support/animation.js';
import { listFiles, multipart } from '../support/multipart.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { snapshotSqlite } from '../support/snapshot.js';

/**
 * One upload cannot starve the others. An animated WebP of 200 frames at 500×499 (50 MP in
 * all, under MAX_INPUT_PIXELS, about 100 KB on the wire) costs seconds of encoding; the
 * processing queue keeps a slot for small images and every image has a time budget
 * (IMAGE_PROCESS_TIMEOUT_SECONDS). The latency figures are in `npm run bench -- hostile`.
 */

const UPLOAD = print(UploadImageDocument);
const FRAMES = 200;

let heavy: Buffer;
let small: Buffer;
beforeAll(async () => {
  heavy = await heavyAnimation({ frames: FRAMES });
  small = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#c84' } })
    .jpeg()
    .toBuffer();
  const meta = await sharp(heavy).metadata();
  expect(meta.pages).toBe(FRAMES);
});

async function upload(server: TestServer, user: string, conversationId: string, data: Buffer) {
  return multipart(`${server.url}/graphql`, {
    query: UPLOAD,
    variables: { input: { conversationId, file: null } },
    files: { 0: { path: 'variables.input.file', data, name: 'x.webp' } },
    headers: as(user),
  });
}

async function conversation(server: TestServer, user: string): Promise<string> {
  return (await server.gql(CreateConversationDocument, { input: {} }, as(user))).data!.createConversation.id;
}

describe('an image over its processing budget', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { IMAGE_PROCESS_TIMEOUT_SECONDS: '1' } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('is refused with PAYLOAD_TOO_LARGE naming the budget, and nothing is stored', async () => {
    const c = await conversation(server, 'mallory');
    const before = snapshotSqlite(server.sqlitePath);
    const files = await listFiles(server.storageDir);
    const res = await upload(server, 'mallory', c, heavy);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.errors?.[0]?.message).toMatch(
      /500×499 × 200 frames.*could not be processed within the 1 s.*IMAGE_PROCESS_TIMEOUT_SECONDS/,
    );
    expect(snapshotSqlite(server.sqlitePath)).toEqual(before);
    expect(await listFiles(server.storageDir)).toEqual(files);
  });
});

describe('heavy uploads in flight', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Two slots whatever the machine: the policy under test keeps one of them for small images.
    server = await startTestServer({ env: { IMAGE_PROCESS_TIMEOUT_SECONDS: '4' }, imageConcurrency: 2 });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("do not hold back another user's small upload, and are themselves answered", async () => {
    expect(server.app.core.imageConcurrency).toBe(2);
    const [m, a] = [await conversation(server, 'mallory'), await conversation(server, 'alice')];
    const order: string[] = [];
    // As many heavy uploads as the queue has slots: without a slot kept for small images, all are taken.
    const attacks = Array.from({ length: server.app.core.imageConcurrency }, (_, i) =>
      upload(server, 'mallory', m, heavy).then((r) => {
        order.push(`mallory${i}`);
        return r;
      }),
    );
    // Let them arrive and start processing first.
    await new Promise((r) => setTimeout(r, 400));
    const mine = await upload(server, 'alice', a, small);
    order.push('alice');
    expect(mine.body.errors).toBeUndefined();
    const answers = await Promise.all(attacks);
    expect(order[0]).toBe('alice');
    for (const r of answers) {
      // Stored, or refused with a clear code once its budget is spent: never left hanging.
      if (r.body.errors) expect(r.body.errors[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
      else
        expect((r.body.data!['uploadImage'] as { image: Record<string, unknown> }).image).toMatchObject({
          mimeType: 'image/webp',
          width: 500,
          height: 499,
        });
    }
  });
});
