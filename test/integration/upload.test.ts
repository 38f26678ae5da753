import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { print } from 'graphql';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConversationDocument,
  CreateConversationDocument,
  PostMessageDocument,
  PostMessageWithImagesDocument,
  UploadImageDocument,
} from '../generated/graphql.js';
import { listFiles, multipart } from '../support/multipart.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { failWith, overrideStore } from '../support/override-store.js';
import { snapshotSqlite } from '../support/snapshot.js';

const UPLOAD = print(UploadImageDocument);
const coffee = await readFile('test/fixtures/coffee.png');
const hubble = await readFile('test/fixtures/hubble_deep_field.jpg');

let server: TestServer;
let conversationId: string;

beforeAll(async () => {
  server = await startTestServer();
  const c = await server.gql(CreateConversationDocument, { input: { title: 'uploads' } }, as('alice'));
  conversationId = c.data!.createConversation.id;
});
afterAll(async () => {
  await server.stop();
});

type Uploaded = {
  image: Record<string, unknown> & {
    id: string;
    localUrl: string;
    thumbnailUrl: string;
    sha256: string;
    mimeType: string;
  };
  message: { id: string; images: { id: string }[] };
};

async function upload(data: Buffer, input: Record<string, unknown> = {}, user = 'alice') {
  return multipart(`${server.url}/graphql`, {
    query: UPLOAD,
    variables: { input: { conversationId, file: null, ...input } },
    files: { 0: { path: 'variables.input.file', data, name: 'photo.png', type: 'image/png' } },
    headers: as(user),
  });
}

describe('uploadImage', () => {
  it('stores a multipart photo in a new message and serves it at its signed local URL', async () => {
    const res = await upload(hubble, { caption: ' Deep field ', content: 'look' });
    expect(res.body.errors).toBeUndefined();
    const { image, message } = res.body.data!['uploadImage'] as Uploaded;
    expect(image).toMatchObject({
      width: 1000,
      height: 872,
      caption: 'Deep field',
      generated: false,
      service: 'LOCAL',
      replicationStatus: 'LOCAL_ONLY',
      cloudUrl: null,
      fallbackUrl: null,
    });
    expect(image['displayUrl']).toBe(image.localUrl);
    expect(image['placeholder']).toMatch(/^data:image\/webp;base64,/);
    expect(message).toMatchObject({ conversationId, role: 'ASSISTANT', content: 'look', images: [{ id: image.id }] });

    const served = await fetch(image.localUrl);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe(image.mimeType);
    const bytes = Buffer.from(await served.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(image.sha256);
    expect(bytes.length).toBe(image['size']);
    expect(bytes.length).toBeLessThanOrEqual(500 * 1024);

    const thumb = await fetch(image.thumbnailUrl);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(meta.format).toBe('webp');
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(256);

    const files = Object.keys(await listFiles(server.storageDir));
    expect(files).toContain(new URL(image.localUrl).pathname.replace('/files/', ''));
    expect(files.some((f) => /^uploads\/img_\d{8}_\d{6}_[0-9a-f]{8}\.(jpg|png|webp)$/.test(f))).toBe(true);
    // The write journal's note is gone once the record is stored.
    expect(files.filter((f) => f.startsWith('.journal/'))).toEqual([]);
  });

  it('stores generated images under Image_Gen and attaches to an existing message', async () => {
    const posted = await server.gql(
      PostMessageDocument,
      { input: { conversationId, role: 'ASSISTANT', content: 'here you go' } },
      as('alice'),
    );
    const messageId = posted.data!.postMessage.id;
    const first = (await upload(coffee, { messageId, generated: true })).body.data!['uploadImage'] as Uploaded;
    const second = (await upload(hubble, { messageId })).body.data!['uploadImage'] as Uploaded;
    expect(first.image['generated']).toBe(true);
    expect(new URL(first.image.localUrl).pathname).toMatch(/^\/files\/Image_Gen\/img_\d{8}_\d{6}_[0-9a-f]{8}\./);
    expect(second.message.images.map((i) => i.id)).toEqual([first.image.id, second.image.id]);
    const conv = await server.gql(ConversationDocument, { id: conversationId, first: 100 }, as('alice'));
    expect(conv.data!.conversation!.imageCount).toBeGreaterThanOrEqual(2);
  });

  it('accepts raw base64 and data: URIs, deciding the format from the bytes', async () => {
    for (const base64 of [coffee.toString('base64'), `data:text/plain;base64,${coffee.toString('base64')}`]) {
      const res = await server.gql(
        UploadImageDocument,
        { input: { conversationId, base64, generated: true } },
        as('alice'),
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.uploadImage.image).toMatchObject({ width: 600, height: 400, generated: true });
    }
  });

  it('postMessage stores a message with several attachments', async () => {
    const res = await multipart(`${server.url}/graphql`, {
      query: print(PostMessageWithImagesDocument),
      variables: { input: { conversationId, role: 'USER', content: 'two photos', images: [null, null] } },
      files: {
        a: { path: 'variables.input.images.0', data: coffee },
        b: { path: 'variables.input.images.1', data: hubble },
      },
      headers: as('alice'),
    });
    expect(res.body.errors).toBeUndefined();
    const message = res.body.data!['postMessage'] as { content: string; images: { width: number }[] };
    expect(message.content).toBe('two photos');
    expect(message.images.map((i) => i.width)).toEqual([600, 1000]);
  });
});

describe('refused uploads change nothing', () => {
  async function expectRefused(
    send: () => Promise<{ status: number; body: { errors?: { message: string; extensions?: { code?: string } }[] } }>,
    code: string,
    message?: RegExp,
  ) {
    const filesBefore = await listFiles(server.storageDir);
    const rowsBefore = snapshotSqlite(server.sqlitePath);
    const res = await send();
    expect(res.body.errors?.[0]?.extensions?.code).toBe(code);
    if (message) expect(res.body.errors?.[0]?.message).toMatch(message);
    expect(await listFiles(server.storageDir)).toEqual(filesBefore);
    expect(snapshotSqlite(server.sqlitePath)).toEqual(rowsBefore);
    return res;
  }

  it.each([
    ['a PDF named .png', Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n')],
    ['HTML named .png', Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>')],
    ['an SVG with a script', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
    ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251))],
    ['a JPEG cut at 700 bytes', hubble.subarray(0, 700)],
  ])('%s: UNSUPPORTED_MEDIA_TYPE naming what is accepted', async (_name, data) => {
    await expectRefused(() => upload(data), 'UNSUPPORTED_MEDIA_TYPE', /JPEG, PNG, WebP, GIF, AVIF/);
  });

  it('an empty file: BAD_USER_INPUT', async () => {
    await expectRefused(() => upload(Buffer.alloc(0)), 'BAD_USER_INPUT', /empty/);
  });

  it('both or neither of file and base64: BAD_USER_INPUT', async () => {
    await expectRefused(() => upload(coffee, { base64: coffee.toString('base64') }), 'BAD_USER_INPUT', /exactly one/);
    await expectRefused(async () => {
      const r = await server.gql(UploadImageDocument, { input: { conversationId } }, as('alice'));
      return { status: r.status, body: r };
    }, 'BAD_USER_INPUT');
  });

  it('content over 100,000 characters, on uploadImage or on a message with attachments: BAD_USER_INPUT', async () => {
    const long = 'x'.repeat(100_001);
    await expectRefused(() => upload(coffee, { content: long }), 'BAD_USER_INPUT', /content is 100001 characters long/);
    await expectRefused(
      () =>
        multipart(`${server.url}/graphql`, {
          query: print(PostMessageWithImagesDocument),
          variables: { input: { conversationId, role: 'USER', content: long, images: [null] } },
          files: { a: { path: 'variables.input.images.0', data: coffee } },
          headers: as('alice'),
        }),
      'BAD_USER_INPUT',
      /content is 100001 characters long/,
    );
  });

  it('a message whose second attachment is not an image: UNSUPPORTED_MEDIA_TYPE, and the first one is not kept either', async () => {
    await expectRefused(
      () =>
        multipart(`${server.url}/graphql`, {
          query: print(PostMessageWithImagesDocument),
          variables: { input: { conversationId, role: 'USER', content: 'a photo and a PDF', images: [null, null] } },
          files: {
            a: { path: 'variables.input.images.0', data: coffee },
            b: { path: 'variables.input.images.1', data: Buffer.from('%PDF-1.4\n%%EOF\n') },
          },
          headers: as('alice'),
        }),
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it("someone else's conversation: NOT_FOUND", async () => {
    await expectRefused(() => upload(coffee, {}, 'mallory'), 'NOT_FOUND');
  });

  it('a pixel bomb (PNG header declaring 60000×60000): PAYLOAD_TOO_LARGE', async () => {
    const { crc32 } = await import('node:zlib');
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(body) >>> 0);
      return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(60000, 0);
    ihdr.writeUInt32BE(60000, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    const png = Buffer.concat([
      Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
      chunk('IHDR', ihdr),
      chunk('IDAT', Buffer.alloc(16)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    await expectRefused(() => upload(png), 'PAYLOAD_TOO_LARGE', /pixels/);
  });
});

describe('upload limits and malformed multipart', () => {
  let small: TestServer;
  let smallConversation: string;
  beforeAll(async () => {
    small = await startTestServer({
      env: { MAX_UPLOAD_BYTES: '100000', MAX_FILES: '2', UPLOAD_IDLE_TIMEOUT_MS: '500' },
    });
    const c = await small.gql(CreateConversationDocument, { input: {} }, as('alice'));
    smallConversation = c.data!.createConversation.id;
    rowsBefore = snapshotSqlite(small.sqlitePath);
  });
  let rowsBefore: Record<string, unknown[]>;
  afterAll(async () => {
    try {
      // Every request below was refused: not one row may have changed.
      expect(snapshotSqlite(small.sqlitePath)).toEqual(rowsBefore);
    } finally {
      await small.stop();
    }
  });

  const send = (o: Partial<Parameters<typeof multipart>[1]> & { files: Parameters<typeof multipart>[1]['files'] }) =>
    multipart(`${small.url}/graphql`, {
      query: UPLOAD,
      variables: { input: { conversationId: smallConversation, file: null } },
      headers: as('alice'),
      ...o,
    });

  it('a file over MAX_UPLOAD_BYTES is PAYLOAD_TOO_LARGE, never a stored truncated image', async () => {
    const before = await listFiles(small.storageDir);
    const res = await send({ files: { 0: { path: 'variables.input.file', data: coffee } } });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.errors?.[0]?.message).toMatch(/100000 bytes/);
    expect(await listFiles(small.storageDir)).toEqual(before);
  });

  it('base64 over MAX_UPLOAD_BYTES is PAYLOAD_TOO_LARGE before decoding', async () => {
    const res = await small.gql(
      UploadImageDocument,
      { input: { conversationId: smallConversation, base64: coffee.toString('base64') } },
      as('alice'),
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('more files than MAX_FILES: 413 PAYLOAD_TOO_LARGE', async () => {
    const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } })
      .png()
      .toBuffer();
    const res = await multipart(`${small.url}/graphql`, {
      query: print(PostMessageWithImagesDocument),
      variables: {
        input: { conversationId: smallConversation, role: 'USER', content: 'x', images: [null, null, null] },
      },
      files: Object.fromEntries([0, 1, 2].map((i) => [String(i), { path: `variables.input.images.${i}`, data: tiny }])),
      headers: as('alice'),
    });
    expect(res.status).toBe(413);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('without the preflight header the request is refused before the body is parsed', async () => {
    const res = await send({ files: { 0: { path: 'variables.input.file', data: coffee } }, preflight: false });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.message).toMatch(/apollo-require-preflight/);
    // Refused before the upload parser reads the body: a body that never ends is answered at once
    // with our refusal (a parser that ran first would wait for the file and time out instead).
    const before = await listFiles(small.storageDir);
    const answer = await openEndedUpload({});
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).errors[0].message).toMatch(
      /refused to prevent cross-site request forgery.*apollo-require-preflight: true/,
    );
    expect(await listFiles(small.storageDir)).toEqual(before);
  });

  async function rawMultipart(parts: string): Promise<{ status: number; code?: string; message?: string }> {
    const boundary = 'XyZ';
    const res = await fetch(`${small.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'apollo-require-preflight': 'true',
        ...as('alice'),
      },
      body: parts.replaceAll('--B', `--${boundary}`),
    });
    const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
    return { status: res.status, code: body.errors?.[0]?.extensions?.code, message: body.errors?.[0]?.message };
  }
  const field = (name: string, value: string) =>
    `--B\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const ops = JSON.stringify({ query: UPLOAD, variables: { input: { conversationId: 'x', file: null } } });

  it.each([
    ['operations that are not JSON', `${field('operations', '{nope')}${field('map', '{}')}--B--\r\n`],
    ['a map that is not JSON', `${field('operations', ops)}${field('map', '[')}--B--\r\n`],
    [
      'a map pointing nowhere',
      `${field('operations', ops)}${field('map', '{"0":["variables.nothing.here.file"]}')}--B--\r\n`,
    ],
    ['a missing file part', `${field('operations', ops)}${field('map', '{"0":["variables.input.file"]}')}--B--\r\n`],
  ])('%s: a 4xx or a coded GraphQL error', async (_name, body) => {
    const before = await listFiles(small.storageDir);
    const res = await rawMultipart(body);
    expect(res.status).toBeLessThan(500);
    expect(res.code).toBe('BAD_USER_INPUT');
    expect(res.message).toMatch(/\S/);
    expect(await listFiles(small.storageDir)).toEqual(before);
  });

  /** A multipart upload whose file part starts and then never ends; resolves with the server's answer. */
  async function openEndedUpload(headers: Record<string, string>): Promise<{ status: number; body: string }> {
    const { request } = await import('node:http');
    const operations = JSON.stringify({
      query: UPLOAD,
      variables: { input: { conversationId: smallConversation, file: null } },
    });
    const head =
      `${field('operations', operations)}${field('map', '{"0":["variables.input.file"]}')}--B\r\nContent-Disposition: form-data; name="0"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n`.replaceAll(
        '--B',
        '--XyZ',
      );
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${small.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=XyZ', ...as('alice'), ...headers },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      req.write(head);
      req.write(coffee.subarray(0, 1000)); // and then nothing more, ever
    });
  }

  it('a file part that never ends times out, and the server stays healthy', async () => {
    const before = await listFiles(small.storageDir);
    const answer = await openEndedUpload({ 'apollo-require-preflight': 'true' });
    expect(JSON.parse(answer.body).errors[0].message).toMatch(/sent nothing for 500 ms/);
    expect((await fetch(`${small.url}/healthz`)).status).toBe(200);
    expect(await listFiles(small.storageDir)).toEqual(before);
  });
});

/** An upload on `failing` fails as an internal error, and leaves no file and no record behind. */
async function expectUploadLeavesNothing(failing: TestServer): Promise<void> {
  try {
    const c = await failing.gql(CreateConversationDocument, { input: {} }, as('alice'));
    const id = c.data!.createConversation.id;
    const res = await multipart(`${failing.url}/graphql`, {
      query: UPLOAD,
      variables: { input: { conversationId: id, file: null } },
      files: { 0: { path: 'variables.input.file', data: coffee } },
      headers: as('alice'),
    });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await listFiles(failing.storageDir)).toEqual({});
    const conv = await failing.gql(ConversationDocument, { id }, as('alice'));
    expect(conv.data!.conversation).toMatchObject({ imageCount: 0, messages: { totalCount: 0 } });
  } finally {
    await failing.stop();
  }
}

describe('a failure after a file is written leaves no orphan file and no record', () => {
  it('when the store fails to record the image, the written files are removed', async () => {
    const failing = await startTestServer({
      wrapStore: (inner) => overrideStore(inner, failWith(['addMessage', 'addImage'], 'disk I/O error')),
    });
    try {
      const c = await failing.gql(CreateConversationDocument, { input: {} }, as('alice'));
      const res = await multipart(`${failing.url}/graphql`, {
        query: UPLOAD,
        variables: { input: { conversationId: c.data!.createConversation.id, file: null } },
        files: { 0: { path: 'variables.input.file', data: coffee } },
        headers: as('alice'),
      });
      expect(res.body.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await listFiles(failing.storageDir)).toEqual({});
    } finally {
      await failing.stop();
    }
  });

  it('when writing the thumbnail fails, the original is removed and nothing is recorded', async () => {
    const { rename } = await import('node:fs/promises');
    const failing = await startTestServer({
      fileFs: {
        rename: async (from, to) => {
          if (String(to).includes(`${join('thumbnails', 'thumb_')}`))
            throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          return rename(from, to);
        },
      },
    });
    await expectUploadLeavesNothing(failing);
  });

  it('when the write journal cannot note the keys, the files written alongside are removed and nothing is recorded', async () => {
    const { open } = await import('node:fs/promises');
    const failing = await startTestServer({
      fileFs: {
        open: async (path, flags, mode) => {
          if (String(path).includes('.journal')) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
          return open(path, flags, mode);
        },
      },
    });
    await expectUploadLeavesNothing(failing);
  });
});
