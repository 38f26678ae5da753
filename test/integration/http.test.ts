import { afterEach, describe, expect, it } from 'vitest';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { ConversationsDocument } from '../generated/graphql.js';
import { failWith, overrideStore } from '../support/override-store.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

const PROD = { NODE_ENV: 'production', AUTH_JWT_SECRET: 'j'.repeat(32), FILE_URL_SECRET: 'f'.repeat(32) };

/** A store whose chosen methods fail, as a broken database would. */
const failingStore = (methods: (keyof MetadataStore)[], message: string) => (inner: MetadataStore) =>
  overrideStore(inner, failWith(methods, message));

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('HTTP surface', () => {
  it('/healthz answers while the process lives; /readyz answers 200 while the store is reachable', async () => {
    server = await startTestServer();
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('/readyz answers 503 when the store cannot be reached', async () => {
    server = await startTestServer({ wrapStore: failingStore(['ping'], 'connection refused') });
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('gives every request an id, echoes a valid X-Request-Id and logs JSON lines with it', async () => {
    server = await startTestServer();
    const mine = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(mine.headers.get('x-request-id')).toBe('trace-123');
    const generated = await server.gql(ConversationsDocument, {}, as('alice'));
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'no spaces\tor tabs' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(
      server.logs.some((l) => (l['req'] as { id?: string } | undefined)?.id === id && l['msg'] === 'request completed'),
    ).toBe(true);
  });

  it('masks internal errors in production: no message, stack or path; logged with the request id', async () => {
    server = await startTestServer({
      env: PROD,
      wrapStore: failingStore(['listConversations'], 'SQLITE_CORRUPT: secret detail at /var/lib/x'),
    });
    const { SignJWT } = await import('jose');
    const t = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(PROD.AUTH_JWT_SECRET));
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
      body: JSON.stringify({ query: '{ conversations { totalCount } }' }),
    });
    const text = await res.text();
    expect(text).not.toMatch(/secret detail|SQLITE_CORRUPT|stacktrace|\/var\/lib/);
    const body = JSON.parse(text) as { errors: { message: string; path?: unknown; extensions: { code: string } }[] };
    expect(body.errors[0]).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    const requestId = res.headers.get('x-request-id');
    const logged = server.logs.find((l) => l['msg'] === 'internal error in a GraphQL operation');
    expect(logged).toMatchObject({ requestId, level: 50 });
    expect(JSON.stringify(logged)).toMatch(/secret detail/);
  });

  it('keeps CSRF prevention on: a simple-content-type request without a preflight header is refused', async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ conversations { totalCount } }')}`, {
      headers: as('alice'),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF|preflight/i);
    const ok = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ conversations { totalCount } }')}`, {
      headers: { ...as('alice'), 'apollo-require-preflight': 'true' },
    });
    expect(ok.status).toBe(200);
  });
});
