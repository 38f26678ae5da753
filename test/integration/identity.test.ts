import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationDocument, ConversationsDocument, CreateConversationDocument } from '../generated/graphql.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SECRET = 'an-hs256-secret-of-at-least-32-chars!!';
const key = new TextEncoder().encode(SECRET);

function token(claims: Record<string, unknown>, opts: { exp?: string | number; secret?: Uint8Array } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(opts.secret ?? key);
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('JWT identity (HS256)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { AUTH_JWT_SECRET: SECRET } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("uses sub as the user: a user never sees another user's conversation, an admin sees all", async () => {
    const alice = bearer(await token({ sub: 'alice' }));
    const bob = bearer(await token({ sub: 'bob' }));
    const admin = bearer(await token({ sub: 'ops', roles: ['admin'] }));
    const created = await server.gql(CreateConversationDocument, { input: { title: 'a' } }, alice);
    const id = created.data!.createConversation.id;

    expect((await server.gql(ConversationDocument, { id }, alice)).data!.conversation!.id).toBe(id);
    expect((await server.gql(ConversationDocument, { id }, bob)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await server.gql(ConversationsDocument, {}, bob)).data!.conversations.totalCount).toBe(0);
    expect((await server.gql(ConversationDocument, { id }, admin)).data!.conversation!.id).toBe(id);
  });

  it('ignores X-User-Id once JWT auth is configured', async () => {
    const res = await server.gql(ConversationsDocument, {}, { 'x-user-id': 'alice' });
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    [
      'an expired token',
      async () => bearer(await token({ sub: 'alice' }, { exp: Math.floor(Date.now() / 1000) - 60 })),
    ],
    [
      'a token signed with another secret',
      async () => bearer(await token({ sub: 'alice' }, { secret: new TextEncoder().encode('x'.repeat(40)) })),
    ],
    ['a token without sub', async () => bearer(await token({}))],
    [
      'a forged unsigned token',
      async () =>
        bearer(
          `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`,
        ),
    ],
    ['a non-Bearer header', async () => ({ authorization: 'Basic YWxpY2U6cHc=' })],
    ['garbage', async () => bearer('not.a.jwt')],
  ])('refuses %s with 401 UNAUTHENTICATED', async (_name, headers) => {
    const res = await server.gql(ConversationsDocument, {}, await headers());
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers UNAUTHENTICATED without credentials', async () => {
    const res = await server.gql(ConversationsDocument, {}, {});
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("names the token's sub in a NOT_FOUND", async () => {
    const res = await server.gql(
      ConversationDocument,
      { id: '0123456789abcdef01234567' },
      bearer(await token({ sub: 'alice' })),
    );
    expect(res.errors?.[0]?.message).toContain(`this request is user "alice" (the token's sub)`);
  });
});

describe('dev identity (no AUTH_JWT_SECRET, no AUTH_JWKS_URL)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('is user "dev" without X-User-Id, the same user as X-User-Id: dev', async () => {
    const created = await server.gql(CreateConversationDocument, { input: { title: 'no header' } }, {});
    const id = created.data!.createConversation.id;
    expect((await server.gql(ConversationDocument, { id }, { 'x-user-id': 'dev' })).data!.conversation!.id).toBe(id);
    expect(
      (await server.gql(ConversationDocument, { id }, { 'x-user-id': 'alice' })).errors?.[0]?.extensions?.code,
    ).toBe('NOT_FOUND');
  });

  it.each([
    ['garbage', { authorization: 'Bearer garbage' }],
    [
      'a well-formed token it has no key to check',
      { authorization: `Bearer ${'x'.repeat(10)}.${'y'.repeat(10)}.${'z'.repeat(10)}` },
    ],
    ['a token beside X-User-Id', { authorization: 'Bearer abc', 'x-user-id': 'alice' }],
  ])('refuses %s with 401 UNAUTHENTICATED, saying to send X-User-Id or configure JWT', async (_name, headers) => {
    const res = await server.gql(ConversationsDocument, {}, headers);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0]?.message).toMatch(
      /dev identity mode.*X-User-Id.*AUTH_JWT_SECRET|dev identity mode.*AUTH_JWT_SECRET.*X-User-Id/,
    );
  });

  it('says in a NOT_FOUND whose request it was, the same for a foreign id as for one that does not exist', async () => {
    const created = await server.gql(
      CreateConversationDocument,
      { input: { title: 'mine' } },
      { 'x-user-id': 'owner' },
    );
    const foreign = await server.gql(ConversationDocument, { id: created.data!.createConversation.id }, {});
    const missing = await server.gql(ConversationDocument, { id: '0123456789abcdef01234567' }, {});
    for (const [res, id] of [
      [foreign, created.data!.createConversation.id],
      [missing, '0123456789abcdef01234567'],
    ] as const) {
      expect(res.errors?.[0]).toMatchObject({
        message: `Conversation "${id}" was not found. Only its owner can see it, and this request is user "dev" (from X-User-Id, "dev" when it is absent).`,
        extensions: { code: 'NOT_FOUND', userId: 'dev' },
      });
    }
  });
});

describe('JWT identity (JWKS)', () => {
  let jwks: Server;
  let server: TestServer;
  let privateKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const port = (jwks.address() as AddressInfo).port;
    server = await startTestServer({ env: { AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` } });
  });
  afterAll(async () => {
    await server.stop();
    await new Promise((r) => jwks.close(r));
  });

  it('accepts a token signed by a key of the JWKS and refuses one signed by another key', async () => {
    const good = await new SignJWT({ sub: 'carol' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(privateKey);
    const ok = await server.gql(CreateConversationDocument, { input: { title: 'jwks' } }, bearer(good));
    expect(ok.errors).toBeUndefined();

    const other = await generateKeyPair('RS256');
    const bad = await new SignJWT({ sub: 'carol' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(other.privateKey);
    const refused = await server.gql(ConversationsDocument, {}, bearer(bad));
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
