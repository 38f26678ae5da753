import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationsDocument } from '../generated/graphql.js';
import { TEST_FILE_URL_SECRET } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Large JSON bodies cannot be used to fill the server's memory. In production a request
 * without valid credentials is refused from its headers, before its body is read; and large
 * bodies are taken two at a time. The memory figures are in `npm run bench -- hostile`.
 */

const SECRET = 'an-hs256-secret-of-at-least-32-chars!!';
let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer({
    env: { NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET, FILE_URL_SECRET: TEST_FILE_URL_SECRET },
  });
  token = await new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));
});
afterAll(async () => {
  await server.stop();
});

/**
 * Opens a POST of a JSON body of exactly `declared` bytes and sends only its first `sent`
 * bytes, keeping the connection open; `finish()` sends the rest. `answered` resolves with the
 * first answer bytes, or what there is when the connection closes.
 */
function partialPost(o: { declared: number; sent: number; headers?: Record<string, string> }) {
  const { hostname, port } = new URL(server.url);
  const prefix = '{"query":"{ __typename }","variables":{"pad":"';
  const body = Buffer.from(`${prefix}${'A'.repeat(o.declared - prefix.length - 3)}"}}`);
  const socket = connect(Number(port), hostname);
  let answer = '';
  const answered = new Promise<string>((resolve) => {
    socket.on('data', (c: Buffer) => {
      answer += c.toString('latin1');
      resolve(answer);
    });
    socket.on('close', () => resolve(answer));
  });
  socket.on('error', () => undefined);
  socket.on('connect', () => {
    const head = Object.entries({
      'content-type': 'application/json',
      'content-length': String(body.length),
      ...o.headers,
    })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\n${head}\r\n`);
    socket.write(body.subarray(0, o.sent));
  });
  return {
    answered,
    finish: () => socket.write(body.subarray(o.sent)),
    close: () => socket.destroy(),
  };
}

describe('large JSON bodies in production', () => {
  it('without credentials: 401 UNAUTHENTICATED from the headers, before the body is read', async () => {
    // 60 MB declared, 1 KB sent: an answer now means the server did not wait for the rest.
    const req = partialPost({ declared: 60_000_000, sent: 1024 });
    const answer = await Promise.race([
      req.answered,
      new Promise<string>((r) => setTimeout(() => r('(no answer)'), 5000)),
    ]);
    req.close();
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer).toMatch(/connection: close/i);
    expect(answer).toMatch(/"code":"UNAUTHENTICATED"/);
  });

  it('with a bad token: 401 before the body is read, saying why', async () => {
    const req = partialPost({ declared: 60_000_000, sent: 1024, headers: { authorization: 'Bearer not.a.jwt' } });
    const answer = await Promise.race([
      req.answered,
      new Promise<string>((r) => setTimeout(() => r('(no answer)'), 5000)),
    ]);
    req.close();
    expect(answer).toMatch(/^HTTP\/1\.1 401/);
    expect(answer).toMatch(/token is not valid/);
  });

  it('with credentials, a large body waits while those in flight fill the 96 MB budget, until one is answered', async () => {
    const auth = { authorization: `Bearer ${token}` };
    const MB = 1024 * 1024;
    // Two large bodies, barely started, declaring 50 + 40 MB of the 96 MB budget.
    const first = partialPost({ declared: 50 * MB, sent: 1024, headers: auth });
    const second = partialPost({ declared: 40 * MB, sent: 1024, headers: auth });
    await new Promise((r) => setTimeout(r, 200));
    // 9 MB more would pass the budget: sent whole, it is not read until one of them is answered.
    const third = partialPost({ declared: 9 * MB, sent: 9 * MB, headers: auth });
    // Small requests pass the large ones.
    const small = await server.gql(ConversationsDocument, {}, auth);
    expect(small.errors).toBeUndefined();
    // Sent whole, it would be answered in well under a second; it is not read while the two wait.
    const early = await Promise.race([third.answered, new Promise<null>((r) => setTimeout(() => r(null), 1500))]);
    expect(early).toBeNull();
    first.finish();
    expect(await first.answered).toMatch(/^HTTP\/1\.1 200/);
    expect(await third.answered).toMatch(/^HTTP\/1\.1 200/);
    second.close();
    third.close();
    first.close();
  });
});
