import { crc32 } from 'node:zlib';
import { print } from 'graphql';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { listFiles, multipart } from '../support/multipart.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { snapshotSqlite } from '../support/snapshot.js';

/**
 * Issue #11 point 9, mutation 3: MAX_UPLOAD_BYTES is inclusive. A valid image of exactly that
 * many bytes is stored; one byte more is PAYLOAD_TOO_LARGE and changes nothing, for multipart
 * and for base64 alike. Both files are valid images, so an off-by-one that let the bigger one
 * through would store it instead of failing for another reason. The multipart case runs twice:
 * below IN_MEMORY_UPLOAD_BYTES (4 MiB, the upload stays in memory) and above it (spilled to a
 * temp file). 60,001 ≡ 1 (mod 3): the base64 of the exact file ends in "==", one byte more in "=".
 */

/** A PNG of exactly `total` bytes: a small image, padded by a private ancillary chunk before IEND. */
async function pngOfSize(total: number, seed: number): Promise<Buffer> {
  const base = await sharp({
    create: { width: 40, height: 30, channels: 3, background: { r: seed % 256, g: 120, b: 40 } },
  })
    .png()
    .toBuffer();
  const iend = base.length - 12;
  expect(base.subarray(iend + 4, iend + 8).toString('latin1')).toBe('IEND');
  const data = Buffer.alloc(total - base.length - 12, 0x61);
  const body = Buffer.concat([Buffer.from('auDt', 'latin1'), data]); // ancillary, private, safe to copy
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  const png = Buffer.concat([base.subarray(0, iend), len, body, crc, base.subarray(iend)]);
  expect(png.length).toBe(total);
  return png;
}

let seed = 0;

describe.each([
  ['in memory, multipart and base64', 60_001, true],
  ['spilled to a temp file, multipart', 4 * 1024 * 1024 + 4001, false],
])('MAX_UPLOAD_BYTES is inclusive (%s, MAX_UPLOAD_BYTES=%i)', (_name, max, base64) => {
  let server: TestServer;
  let conversationId: string;
  let exact: Buffer;
  let over: Buffer;
  beforeAll(async () => {
    server = await startTestServer({ env: { MAX_UPLOAD_BYTES: String(max) } });
    const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
    conversationId = c.data!.createConversation.id;
    exact = await pngOfSize(max, (seed += 40));
    over = await pngOfSize(max + 1, (seed += 40));
    // Both are images the server would store if their size were not in the way.
    for (const png of [exact, over])
      expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 40, height: 30 });
  });
  afterAll(async () => {
    await server.stop();
  });

  const sendMultipart = (data: Buffer) =>
    multipart(`${server.url}/graphql`, {
      query: print(UploadImageDocument),
      variables: { input: { conversationId, file: null } },
      files: { 0: { path: 'variables.input.file', data, name: 'exact.png', type: 'image/png' } },
      headers: as('alice'),
    });
  const sendBase64 = async (data: Buffer) => {
    const res = await server.gql(
      UploadImageDocument,
      { input: { conversationId, base64: data.toString('base64') } },
      as('alice'),
    );
    return { errors: res.errors, image: res.data?.uploadImage.image };
  };

  async function expectNothingChanged(send: () => Promise<string | undefined>) {
    const files = await listFiles(server.storageDir);
    const rows = snapshotSqlite(server.sqlitePath);
    expect(await send()).toBe('PAYLOAD_TOO_LARGE');
    expect(await listFiles(server.storageDir)).toEqual(files);
    expect(snapshotSqlite(server.sqlitePath)).toEqual(rows);
  }

  it('multipart: a file of exactly MAX_UPLOAD_BYTES is stored', async () => {
    const res = await sendMultipart(exact);
    expect(res.body.errors?.[0]?.message).toBeUndefined();
    // (A PNG over twice IMAGE_MAX_KB is stored as JPEG without trying PNG: the size is what matters here.)
    expect((res.body.data!['uploadImage'] as { image: unknown }).image).toMatchObject({ width: 40, height: 30 });
  });

  it('multipart: one byte more is PAYLOAD_TOO_LARGE and stores nothing', async () => {
    // Whoever noticed first (our byte count, or graphql-upload-minimal's maxFileSize, which is
    // MAX_UPLOAD_BYTES + 1), the message names the limit the client configured against.
    let message: string | undefined;
    await expectNothingChanged(async () => {
      const error = (await sendMultipart(over)).body.errors?.[0];
      message = error?.message;
      return error?.extensions?.code;
    });
    expect(message).toContain(`larger than the ${max} bytes accepted`);
  });

  if (!base64) return;

  it('base64: exactly MAX_UPLOAD_BYTES decoded is stored', async () => {
    expect(exact.toString('base64')).toMatch(/[^=]==$/);
    const res = await sendBase64(exact);
    expect(res.errors?.[0]?.message).toBeUndefined();
    expect(res.image).toMatchObject({ width: 40, height: 30, mimeType: 'image/jpeg' });
  });

  it('base64: one byte more is PAYLOAD_TOO_LARGE and stores nothing', async () => {
    expect(over.toString('base64')).toMatch(/[^=]=$/);
    let message: string | undefined;
    await expectNothingChanged(async () => {
      const res = await sendBase64(over);
      message = res.errors?.[0]?.message;
      return res.errors?.[0]?.extensions?.code;
    });
    expect(message).toContain(`larger than the ${max} bytes accepted`);
  });
});
