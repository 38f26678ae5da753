import { readFile } from 'node:fs/promises';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CreateConversationDocument,
  DeleteImageDocument,
  PostMessageDocument,
  UploadImageDocument,
} from '../generated/graphql.js';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import WebSocket from 'ws';
import { collect, wsClient } from '../support/ws-client.js';

const coffee = await readFile('test/fixtures/coffee.png');
const IMAGE_EVENTS =
  'subscription($c: ID!) { imageEvents(conversationId: $c) { kind imageId image { id replicationStatus service localUrl cloudUrl } } }';
const MESSAGE_ADDED = 'subscription($c: ID!) { messageAdded(conversationId: $c) { id role content } }';

/** Until the server has registered `n` subscriptions in all: a client cannot see its own start. */
const registered = (server: TestServer, n: number) =>
  eventually(
    () => server.app.subscriptions.subscriptions(),
    (c) => c >= n,
    5000,
    5,
  );

describe('subscriptions over WebSocket (dev identity)', () => {
  let cloud: Emulator;
  let server: TestServer;
  beforeAll(async () => {
    cloud = await startPostImagesEmulator();
    server = await startTestServer({
      env: {
        POSTIMAGES_API_KEY: cloud.apiKey,
        POSTIMAGES_API_URL: cloud.apiUrl,
        CLOUD_PROVIDERS: 'postimages',
        REPLICATION_POLL_MS: '100',
        SUBSCRIPTIONS_PER_CONNECTION: '3',
      },
    });
  });
  afterAll(async () => {
    await server.stop();
    await cloud.stop();
  });

  const conversation = async (user = 'alice') =>
    (await server.gql(CreateConversationDocument, { input: { title: 'live' } }, as(user))).data!.createConversation.id;

  it('delivers ADDED, then REPLICATION_CHANGED with the cloud copy, then DELETED, to the owner', async () => {
    const c = await conversation();
    const client = wsClient(server.url, { 'x-user-id': 'alice' });
    try {
      const events = collect<{ imageEvents: { kind: string; imageId: string; image: Record<string, unknown> | null } }>(
        client,
        IMAGE_EVENTS,
        { c },
      );
      await registered(server, 1);
      const up = await server.gql(
        UploadImageDocument,
        { input: { conversationId: c, base64: coffee.toString('base64'), waitForCloud: false } },
        as('alice'),
      );
      const id = up.data!.uploadImage.image.id;
      await events.until((r) => r.some((e) => e.data?.imageEvents.image?.['replicationStatus'] === 'REPLICATED'));
      const [added] = events.received;
      expect(added!.data!.imageEvents).toMatchObject({
        kind: 'ADDED',
        imageId: id,
        image: { id, service: 'LOCAL', localUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/files\//) },
      });
      const replicated = events.received.find(
        (e) => e.data?.imageEvents.image?.['replicationStatus'] === 'REPLICATED',
      )!;
      expect(replicated.data!.imageEvents).toMatchObject({
        kind: 'REPLICATION_CHANGED',
        imageId: id,
        image: { service: 'POSTIMAGES', cloudUrl: expect.stringMatching(/^http/) },
      });

      expect((await server.gql(DeleteImageDocument, { id }, as('alice'))).errors).toBeUndefined();
      await events.until((r) => r.some((e) => e.data?.imageEvents.kind === 'DELETED'));
      expect(events.received.at(-1)!.data!.imageEvents).toEqual({ kind: 'DELETED', imageId: id, image: null });
      expect(events.received.every((e) => e.errors === undefined)).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('delivers messageAdded for a posted message, and only for the conversation subscribed to', async () => {
    const [c, other] = [await conversation(), await conversation()];
    const client = wsClient(server.url, { 'x-user-id': 'alice' });
    try {
      const before = server.app.subscriptions.subscriptions();
      const messages = collect<{ messageAdded: { id: string; content: string } }>(client, MESSAGE_ADDED, { c });
      await registered(server, before + 1);
      await server.gql(
        PostMessageDocument,
        { input: { conversationId: other, role: 'USER', content: 'elsewhere' } },
        as('alice'),
      );
      const posted = await server.gql(
        PostMessageDocument,
        { input: { conversationId: c, role: 'USER', content: 'hello live' } },
        as('alice'),
      );
      await messages.until((r) => r.length >= 1);
      expect(messages.received).toEqual([
        { data: { messageAdded: { id: posted.data!.postMessage.id, role: 'USER', content: 'hello live' } } },
      ]);
    } finally {
      await client.dispose();
    }
  });

  it("answers NOT_FOUND for someone else's conversation and for one that does not exist, BAD_USER_INPUT for a malformed id", async () => {
    const bobs = await conversation('bob');
    const client = wsClient(server.url, { 'x-user-id': 'alice' });
    try {
      for (const [c, code] of [
        [bobs, 'NOT_FOUND'],
        ['0123456789abcdef01234567', 'NOT_FOUND'],
        ['nope', 'BAD_USER_INPUT'],
      ] as const) {
        const s = collect(client, IMAGE_EVENTS, { c });
        await eventually(() => s.completed || s.error !== null, Boolean, 5000, 5);
        const errors =
          s.received[0]?.errors ?? (s.error as { message: string; extensions?: Record<string, unknown> }[]);
        expect(errors?.[0]?.extensions?.['code'], c).toBe(code);
      }
      expect(server.app.subscriptions.subscriptions()).toBe(0);
    } finally {
      await client.dispose();
    }
  });

  it('runs only subscriptions over WebSocket, refuses a subscription over HTTP saying where to go, and limits subscriptions per connection', async () => {
    const client = wsClient(server.url, {});
    try {
      const query = collect(client, '{ conversations { totalCount } }', {});
      await eventually(() => query.error !== null || query.completed, Boolean, 5000, 5);
      expect(JSON.stringify(query.error ?? query.received)).toMatch(/subscriptions only.*HTTP/);

      const c = await conversation('dev');
      const live = [1, 2, 3].map(() => collect(client, IMAGE_EVENTS, { c }));
      await registered(server, 3);
      const fourth = collect(client, IMAGE_EVENTS, { c });
      await eventually(() => fourth.error !== null, Boolean, 5000, 5);
      expect(JSON.stringify(fourth.error)).toMatch(
        /At most 3 subscriptions per connection \(SUBSCRIPTIONS_PER_CONNECTION\)/,
      );
      for (const s of live) s.unsubscribe();
      await eventually(
        () => server.app.subscriptions.subscriptions(),
        (n) => n === 0,
        5000,
        5,
      );
    } finally {
      await client.dispose();
    }
    const http = await server.gql(IMAGE_EVENTS, { c: '0123456789abcdef01234567' }, as('alice'));
    expect(http.status).toBe(400);
    expect(http.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(http.errors?.[0]?.message).toMatch(/Subscriptions run over WebSocket/);
  });

  it('refuses a bearer token in dev mode at connection_init with 4401 and the reason', async () => {
    let closed: { code: number; reason: string } | null = null;
    const client = wsClient(
      server.url,
      { authorization: 'Bearer garbage' },
      { onClose: (code, reason) => (closed = { code, reason }) },
    );
    const s = collect(client, IMAGE_EVENTS, { c: '0123456789abcdef01234567' });
    await eventually(
      () => closed,
      (v) => v !== null,
      5000,
      5,
    );
    expect(closed).toMatchObject({ code: 4401, reason: expect.stringMatching(/dev identity mode/) });
    expect(s.received).toEqual([]);
    await client.dispose();
  });
});

describe('subscriptions with JWT identity', () => {
  const SECRET = 'an-hs256-secret-of-at-least-32-chars!!';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { AUTH_JWT_SECRET: SECRET, WS_IDLE_TIMEOUT_SECONDS: '1' } });
  });
  afterAll(async () => {
    await server.stop();
  });
  const token = (sub: string, exp: string | number) =>
    new SignJWT({ sub })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(SECRET));
  const closing = (params: Record<string, unknown>, conversationId?: string) =>
    new Promise<{ code: number; reason: string; afterMs: number }>((resolve) => {
      const started = Date.now();
      const client = wsClient(server.url, params, {
        onClose: (code, reason) => resolve({ code, reason, afterMs: Date.now() - started }),
      });
      if (conversationId) collect(client, IMAGE_EVENTS, { c: conversationId });
    });

  it('closes with 4401 without credentials, and with a forged token', async () => {
    expect(await closing({})).toMatchObject({ code: 4401, reason: expect.stringMatching(/Credentials are required/) });
    expect(await closing({ authorization: 'Bearer not.a.jwt' })).toMatchObject({
      code: 4401,
      reason: expect.stringMatching(/not valid/),
    });
  });

  it('closes a connection when its token expires, and one that holds no subscription after WS_IDLE_TIMEOUT_SECONDS', async () => {
    const bearer = `Bearer ${await token('alice', Math.floor(Date.now() / 1000) + 2)}`;
    const c = (await server.gql(CreateConversationDocument, { input: {} }, { authorization: bearer })).data!
      .createConversation.id;
    // Subscribed, so not idle: what closes it is the token's exp.
    const expiring = await closing({ authorization: bearer }, c);
    expect(expiring).toMatchObject({ code: 4401, reason: expect.stringMatching(/expired/) });
    expect(expiring.afterMs).toBeGreaterThan(800);
    const idle = await closing({ authorization: `Bearer ${await token('alice', '5m')}` });
    expect(idle).toMatchObject({ code: 1000, reason: expect.stringMatching(/WS_IDLE_TIMEOUT_SECONDS/) });
  });
});

describe('hostile WebSocket traffic', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { WS_MAX_CONNECTIONS: '2' } });
  });
  afterAll(async () => {
    await server.stop();
  });
  const wsUrl = () => `${server.url.replace(/^http/, 'ws')}/graphql`;
  const raw = (send: (socket: WebSocket) => void) =>
    new Promise<{ code: number; reason: string }>((resolve, reject) => {
      const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
      socket.on('open', () => send(socket));
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      socket.on('error', (e) =>
        e.message.includes('Unexpected server response') ? resolve({ code: -1, reason: e.message }) : reject(e),
      );
    });

  it('closes a socket that sends more than 64 KB in a message (1009) or what is not a protocol message (4400), and keeps serving', async () => {
    // The refused frame is logged as one structured line, not as a stack trace on stderr.
    const printed = vi.spyOn(console, 'error');
    try {
      expect((await raw((s) => s.send('x'.repeat(100_000)))).code).toBe(1009);
      const line = await eventually(
        () => server.logs.find((l) => l['msg'] === 'WebSocket frame refused: connection closed'),
        Boolean,
        2000,
      );
      expect(line).toMatchObject({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', level: 30 });
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }
    expect(await raw((s) => s.send('{not json'))).toMatchObject({ code: 4400 });
    expect(await raw(() => undefined)).toMatchObject({ code: 4408 }); // no connection_init within 3 s
    expect((await server.gql('{ conversations { totalCount } }', {}, as('alice'))).data).toEqual({
      conversations: { totalCount: 0 },
    });
  }, 10_000);

  it('refuses the upgrade past WS_MAX_CONNECTIONS with 503, and takes a new one once a connection closes', async () => {
    const open = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
        socket.on('open', () => resolve(socket));
        socket.on('error', reject);
      });
    const [one, two] = [await open(), await open()];
    await expect(open()).rejects.toThrow(/Unexpected server response: 503/);
    one.close();
    await eventually(
      () => server.app.subscriptions.connections(),
      (n) => n < 2,
      5000,
      5,
    );
    const three = await open();
    two.close();
    three.close();
  });
});

describe('the per-user limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SUBSCRIPTIONS_PER_USER: '2', WS_CONNECTIONS_PER_USER: '2' } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('counts one user over all connections, and not another user', async () => {
    const mine = (await server.gql(CreateConversationDocument, { input: {} }, as('alice'))).data!.createConversation.id;
    const theirs = (await server.gql(CreateConversationDocument, { input: {} }, as('bob'))).data!.createConversation.id;
    const clients = [
      wsClient(server.url, { 'x-user-id': 'alice' }),
      wsClient(server.url, { 'x-user-id': 'alice' }),
      wsClient(server.url, { 'x-user-id': 'bob' }),
    ];
    try {
      collect(clients[0]!, IMAGE_EVENTS, { c: mine });
      collect(clients[1]!, IMAGE_EVENTS, { c: mine });
      await registered(server, 2);
      const third = collect(clients[1]!, IMAGE_EVENTS, { c: mine });
      await eventually(() => third.error !== null, Boolean, 5000, 5);
      expect(JSON.stringify(third.error)).toMatch(
        /At most 2 subscriptions per user across connections \(SUBSCRIPTIONS_PER_USER\)/,
      );
      collect(clients[2]!, IMAGE_EVENTS, { c: theirs });
      await registered(server, 3);
    } finally {
      await Promise.all(clients.map((c) => c.dispose()));
    }
    // Closed connections give their subscriptions back.
    await eventually(
      () => server.app.subscriptions.subscriptions(),
      (n) => n === 0,
      5000,
      5,
    );
  });

  it('refuses a user a connection past WS_CONNECTIONS_PER_USER with 1008, not another user, and gives it back when one closes', async () => {
    const open = (user: string) =>
      new Promise<{ client: ReturnType<typeof wsClient>; closed: Promise<{ code: number; reason: string }> }>(
        (resolve) => {
          let onClose: (v: { code: number; reason: string }) => void = () => undefined;
          const closed = new Promise<{ code: number; reason: string }>((r) => (onClose = r));
          const client = wsClient(
            server.url,
            { 'x-user-id': user },
            { onClose: (code, reason) => onClose({ code, reason }) },
          );
          client.on('connected', () => resolve({ client, closed }));
          client.on('closed', () => resolve({ client, closed }));
        },
      );
    const [a1, a2] = [await open('alice'), await open('alice')];
    await eventually(
      () => server.app.subscriptions.connections(),
      (n) => n === 2,
      5000,
      5,
    );
    const a3 = await open('alice');
    expect(await a3.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/WS_CONNECTIONS_PER_USER/) });
    const b1 = await open('bob');
    expect(server.app.subscriptions.connections()).toBe(3);
    await a1.client.dispose();
    await eventually(
      () => server.app.subscriptions.connections(),
      (n) => n === 2,
      5000,
      5,
    );
    const a4 = await open('alice');
    await new Promise((r) => setTimeout(r, 100));
    expect(server.app.subscriptions.connections()).toBe(3);
    await Promise.all([a2, a3, a4, b1].map((c) => c.client.dispose()));
  });
});
