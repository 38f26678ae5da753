import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument } from '../generated/graphql.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { snapshotSqlite } from '../support/snapshot.js';
import { listFiles } from '../support/multipart.js';

/**
 * Aliases must not multiply limits: one request with many aliased uploadImage fields stores at
 * most MAX_FILES images, or is refused whole before anything is stored.
 */

const MAX_FILES = 3;
let server: TestServer;
let conversationId: string;
let png: Buffer;

beforeAll(async () => {
  server = await startTestServer({ env: { MAX_FILES: String(MAX_FILES) } });
  conversationId = (await server.gql(CreateConversationDocument, { input: { title: 'aliases' } }, as('alice'))).data!
    .createConversation.id;
  png = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#48c' } })
    .png()
    .toBuffer();
});
afterAll(async () => {
  await server.stop();
});

/** n aliased uploadImage fields; base64 ones read `$b`, multipart ones `$f<i>`. */
function aliased(n: number, kind: 'base64' | 'file'): string {
  const arg = (i: number) =>
    kind === 'base64' ? '{ conversationId: $c, base64: $b }' : `{ conversationId: $c, file: $f${i} }`;
  const fields = Array.from({ length: n }, (_, i) => `u${i}: uploadImage(input: ${arg(i)}) { image { id } }`).join(
    '\n',
  );
  const vars = kind === 'base64' ? '$b: String' : Array.from({ length: n }, (_, i) => `$f${i}: Upload`).join(', ');
  return `mutation Many($c: ID!, ${vars}) {\n${fields}\n}`;
}

async function expectNothingStored(before: ReturnType<typeof snapshotSqlite>, files: Record<string, number>) {
  expect(snapshotSqlite(server.sqlitePath)).toEqual(before);
  expect(await listFiles(server.storageDir)).toEqual(files);
}

describe('aliased mutations', () => {
  it('30 aliased base64 uploads are refused whole (over the mutation-field cap), nothing stored', async () => {
    const before = snapshotSqlite(server.sqlitePath);
    const files = await listFiles(server.storageDir);
    const query = aliased(30, 'base64');
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...as('alice') },
      body: JSON.stringify({ query, variables: { c: conversationId, b: png.toString('base64') } }),
    });
    // 30 fields is also over the mutation-field cap, checked first.
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0]!.message).toMatch(/30 mutation fields; at most 10/);
    await expectNothingStored(before, files);
  });

  it('more base64 uploads than MAX_FILES, within the field cap: refused whole with PAYLOAD_TOO_LARGE', async () => {
    const before = snapshotSqlite(server.sqlitePath);
    const files = await listFiles(server.storageDir);
    const query = aliased(MAX_FILES + 1, 'base64');
    const res = await server.gql(query, { c: conversationId, b: png.toString('base64') } as never, as('alice'));
    expect(res.status).toBe(413);
    expect(res.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.errors?.[0]?.message).toMatch(/carries 4 images; at most 3 \(MAX_FILES\)/);
    await expectNothingStored(before, files);
  });

  it('fragments and inline fragments do not hide fields from the count', async () => {
    const before = snapshotSqlite(server.sqlitePath);
    const query = `mutation($c: ID!, $b: String) { ...A ... on Mutation { x: uploadImage(input: { conversationId: $c, base64: $b }) { image { id } } } }
      fragment A on Mutation { a: uploadImage(input: { conversationId: $c, base64: $b }) { image { id } } b: uploadImage(input: { conversationId: $c, base64: $b }) { image { id } } c: uploadImage(input: { conversationId: $c, base64: $b }) { image { id } } }`;
    const res = await server.gql(query, { c: conversationId, b: png.toString('base64') } as never, as('alice'));
    expect(res.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(snapshotSqlite(server.sqlitePath)).toEqual(before);
  });

  it('multipart: MAX_FILES + 1 aliased uploads each with its own file are refused whole (by the parser)', async () => {
    const before = snapshotSqlite(server.sqlitePath);
    const files = await listFiles(server.storageDir);
    const n = MAX_FILES + 1;
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: aliased(n, 'file'),
        variables: { c: conversationId, ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, null])) },
      }),
    );
    form.append(
      'map',
      JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), [`variables.f${i}`]]))),
    );
    for (let i = 0; i < n; i++)
      form.append(String(i), new Blob([new Uint8Array(png)], { type: 'image/png' }), `${i}.png`);
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'apollo-require-preflight': 'true', ...as('alice') },
      body: form,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    await expectNothingStored(before, files);
  });

  it('multipart: one file part mapped to MAX_FILES + 1 aliased uploads is refused whole', async () => {
    const before = snapshotSqlite(server.sqlitePath);
    const files = await listFiles(server.storageDir);
    // One file part: the parser's file count passes it; the operation's image count does not.
    const n = MAX_FILES + 1;
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: aliased(n, 'file'),
        variables: { c: conversationId, ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, null])) },
      }),
    );
    form.append('map', JSON.stringify({ 0: Array.from({ length: n }, (_, i) => `variables.f${i}`) }));
    form.append('0', new Blob([new Uint8Array(png)], { type: 'image/png' }), '0.png');
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'apollo-require-preflight': 'true', ...as('alice') },
      body: form,
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0]!.message).toMatch(/carries 4 images/);
    await expectNothingStored(before, files);
  });

  it('postMessage attachments count too, added to uploadImage fields in the same operation', async () => {
    const before = snapshotSqlite(server.sqlitePath);
    const form = new FormData();
    const query = `mutation($c: ID!, $imgs: [Upload!], $b: String) {
      p: postMessage(input: { conversationId: $c, role: USER, content: "hi", images: $imgs }) { id }
      u: uploadImage(input: { conversationId: $c, base64: $b }) { image { id } }
    }`;
    form.append(
      'operations',
      JSON.stringify({
        query,
        variables: {
          c: conversationId,
          imgs: Array.from({ length: MAX_FILES }, () => null),
          b: png.toString('base64'),
        },
      }),
    );
    form.append(
      'map',
      JSON.stringify(
        Object.fromEntries(Array.from({ length: MAX_FILES }, (_, i) => [String(i), [`variables.imgs.${i}`]])),
      ),
    );
    for (let i = 0; i < MAX_FILES; i++)
      form.append(String(i), new Blob([new Uint8Array(png)], { type: 'image/png' }), `${i}.png`);
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'apollo-require-preflight': 'true', ...as('alice') },
      body: form,
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.errors[0]!.message).toMatch(/carries 4 images/);
    expect(snapshotSqlite(server.sqlitePath)).toEqual(before);
  });

  it('MAX_FILES aliased uploads in one operation are still accepted and all stored', async () => {
    const query = aliased(MAX_FILES, 'base64');
    const res = await server.gql(query, { c: conversationId, b: png.toString('base64') } as never, as('alice'));
    expect(res.errors).toBeUndefined();
    const ids = Object.values(res.data as Record<string, { image: { id: string } }>).map((v) => v.image.id);
    expect(new Set(ids).size).toBe(MAX_FILES);
  });
});
