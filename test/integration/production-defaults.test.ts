import { rename } from 'node:fs/promises';
import { print } from 'graphql';
import { SignJWT, UnsecuredJWT } from 'jose';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationsDocument, CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { TEST_FILE_URL_SECRET } from '../support/factories.js';
import { multipart } from '../support/multipart.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

const SECRET = 'an-hs256-secret-of-at-least-32-chars!!';
const key = new TextEncoder().encode(SECRET);
const METRICS_TOKEN = 'metrics-token-0123456789';
const PRODUCTION = { NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET, FILE_URL_SECRET: TEST_FILE_URL_SECRET };

function signed(claims: Record<string, unknown>, o: { exp?: string | number | null; iat?: number } = {}) {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' });
  if (o.iat === undefined) jwt.setIssuedAt();
  else jwt.setIssuedAt(o.iat);
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? '5m');
  return jwt.sign(key);
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function post(server: TestServer, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    json: (await res.json()) as {
      data?: unknown;
      errors?: { message: string; extensions?: { code?: string; validationErrorCode?: string } }[];
    },
  };
}

describe('production defaults', () => {
  let server: TestServer;
  let alice: Record<string, string>;
  beforeAll(async () => {
    server = await startTestServer({ env: { ...PRODUCTION, AUTH_JWT_MAX_AGE_SECONDS: '3600' } });
    alice = bearer(await signed({ sub: 'alice' }));
  });
  afterAll(async () => {
    await server.stop();
  });

  it('refuses a validly signed token without exp', async () => {
    const res = await server.gql(ConversationsDocument, {}, bearer(await signed({ sub: 'alice' }, { exp: null })));
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0]?.message).toMatch(/"exp"/);
  });

  it('refuses a token issued longer ago than AUTH_JWT_MAX_AGE_SECONDS, even one not yet expired', async () => {
    const old = await signed(
      { sub: 'alice' },
      { iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) + 3600 },
    );
    const res = await server.gql(ConversationsDocument, {}, bearer(old));
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0]?.message).toMatch(/AUTH_JWT_MAX_AGE_SECONDS/);
    // A fresh token of the same user still works.
    const fresh = await server.gql(ConversationsDocument, {}, alice);
    expect(fresh.errors).toBeUndefined();
    expect(fresh.data!.conversations.totalCount).toBe(0);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const none = new UnsecuredJWT({ sub: 'alice' }).setIssuedAt().setExpirationTime('5m').encode();
    expect((await server.gql(ConversationsDocument, {}, bearer(none))).errors?.[0]?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('does not serve /metrics without METRICS_TOKEN', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/process_resident_memory_bytes/);
  });

  it('keeps introspection off: no __schema, and __type may ask only whether a type name exists', async () => {
    const refused = [
      '{ __schema { types { name } } }',
      '{ __schema { queryType { name } } }',
      '{ __type(name: "Image") { fields { name } } }',
      '{ __type(name: "Image") { name description } }',
      '{ __type(name: "ImageFilter") { name kind } }',
      '{ __type(name: "Image") { name ... on __Type { description } } }',
      '{ __type(name: "Image") { ...T } } fragment T on __Type { fields { name } }',
      '{ ...Q } fragment Q on Query { __type(name: "Image") { interfaces { name } } }',
    ];
    for (const query of refused) {
      const res = await post(server, { query }, alice);
      expect(res.status, query).toBe(400);
      expect(res.json.data, query).toBeUndefined();
      expect(res.json.errors?.[0]?.extensions?.code, query).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.json.errors?.[0]?.extensions?.validationErrorCode, query).toBe('INTROSPECTION_DISABLED');
    }
    // The one form let through answers only what validation errors already tell anyone: whether
    // a type of that name exists (graphql-http's MUST audits use it as a probe).
    const probe = await post(
      server,
      {
        query: 'query T($n: String!) { a: __type(name: "Image") { name __typename } b: __type(name: $n) { name } }',
        variables: { n: 'Nope' },
      },
      alice,
    );
    expect(probe).toEqual({ status: 200, json: { data: { a: { name: 'Image', __typename: '__Type' }, b: null } } });
    const unknown = await post(server, { query: 'query Q($x: Nope) { __typename }' }, alice);
    expect(unknown.json.errors?.[0]?.message).toMatch(/Unknown type "Nope"/);
  });

  it('gives no "Did you mean" suggestions, which would spell out the schema with introspection off', async () => {
    const field = await post(server, { query: '{ conversationz { totalCount } }' }, alice);
    expect(field.status).toBe(400);
    expect(field.json.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(field.json.errors?.[0]?.message).toMatch(/conversationz/);
    expect(JSON.stringify(field.json)).not.toMatch(/Did you mean|"conversations"/);
    const enumValue = await post(
      server,
      {
        query: 'mutation($c: ID!) { postMessage(input: { conversationId: $c, role: USEER, content: "x" }) { id } }',
        variables: { c: 'x' },
      },
      alice,
    );
    expect(enumValue.json.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(enumValue.json)).not.toMatch(/Did you mean|ASSISTANT/);
  });

  it('answers a subscription operation over HTTP with a client code and where to send it, not INTERNAL_SERVER_ERROR', async () => {
    for (const query of [
      'subscription S { __typename }',
      'subscription S { messageAdded(conversationId: "0123456789abcdef01234567") { id } }',
    ]) {
      const res = await post(server, { query }, alice);
      expect(res.status).toBe(400);
      expect(res.json.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.json.errors?.some((e) => /Subscriptions run over WebSocket/.test(e.message))).toBe(true);
    }
  });

  it('answers an unknown operationName with a client code, over JSON, GET and multipart', async () => {
    const query =
      'query A { conversations(first: 1) { totalCount } } query B { conversations(first: 1) { totalCount } }';
    const json = await post(server, { query, operationName: 'C' }, alice);
    expect(json.status).toBe(400);
    expect(json.json.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');

    const get = await fetch(`${server.url}/graphql?query=${encodeURIComponent(query)}&operationName=C`, {
      headers: { ...alice, 'apollo-require-preflight': 'true' },
    });
    expect(get.status).toBe(400);
    expect(((await get.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'OPERATION_RESOLUTION_FAILURE',
    );

    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#123' } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.append(
      'operations',
      JSON.stringify({
        query: print(UploadImageDocument),
        variables: { input: { conversationId: 'x', file: null } },
        operationName: 'Nope',
      }),
    );
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.append('0', new Blob([new Uint8Array(png)]), 'a.png');
    const mp = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { ...alice, 'apollo-require-preflight': 'true' },
      body: form,
    });
    expect(mp.status).toBe(400);
    expect(((await mp.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'OPERATION_RESOLUTION_FAILURE',
    );
  });
});

describe('/metrics behind METRICS_TOKEN', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { ...PRODUCTION, METRICS_TOKEN } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('refuses anonymous and wrong-token callers with 401 UNAUTHENTICATED and serves the right token', async () => {
    const refused: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: METRICS_TOKEN },
    ];
    for (const headers of refused) {
      const res = await fetch(`${server.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
        'UNAUTHENTICATED',
      );
    }
    const ok = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/process_resident_memory_bytes/);
  });
});

describe('file-system paths never reach a client', () => {
  it('in development, an internal error shows its message without the path', async () => {
    const server = await startTestServer({
      fileFs: {
        rename: async (from, to) => {
          if (String(to).includes('uploads'))
            throw Object.assign(new Error(`EACCES: permission denied, rename '${String(from)}' -> '${String(to)}'`), {
              code: 'EACCES',
            });
          return rename(from, to);
        },
      },
    });
    try {
      const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
      const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#321' } })
        .png()
        .toBuffer();
      const res = await multipart(`${server.url}/graphql`, {
        query: print(UploadImageDocument),
        variables: { input: { conversationId: c.data!.createConversation.id, file: null } },
        files: { 0: { path: 'variables.input.file', data: png } },
        headers: as('alice'),
      });
      const error = res.body.errors?.[0];
      expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(error?.message).toMatch(/EACCES: permission denied, rename '<path>'/);
      expect(JSON.stringify(res.body)).not.toContain(server.dir);
    } finally {
      await server.stop();
    }
  });
});
