import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConversationsDocument, CreateConversationDocument } from '../generated/graphql.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

/**
 * Another process (a CLI command, a backup) holding SQLite's write lock must not freeze the
 * server: better-sqlite3's busy timeout sleeps synchronously, so before the fix every request,
 * /healthz included, waited for the lock. Here a second connection takes the write lock
 * (BEGIN IMMEDIATE) and holds it; "answered while the lock was held" is the assertion, not a time.
 */

let server: TestServer;
let holder: Database.Database | null = null;
let held = false;

function holdLock(forMs: number): Promise<void> {
  holder = new Database(server.sqlitePath);
  holder.exec('BEGIN IMMEDIATE');
  held = true;
  return new Promise((resolve) => {
    setTimeout(() => {
      release();
      resolve();
    }, forMs);
  });
}
function release() {
  if (holder?.inTransaction) holder.exec('ROLLBACK');
  holder?.close();
  holder = null;
  held = false;
}

beforeAll(async () => {
  server = await startTestServer({ env: { SQLITE_BUSY_TIMEOUT_MS: '1500' } });
  await server.gql(CreateConversationDocument, { input: { title: 'before the lock' } }, as('alice'));
});
afterEach(release);
afterAll(async () => {
  await server.stop();
});

describe('a SQLite write lock held by another process', () => {
  it('leaves /healthz and reads answering while a write waits for the lock', async () => {
    const lock = holdLock(1200);
    // The write finds the lock and waits (off the event loop) until it is released.
    const write = server
      .gql(CreateConversationDocument, { input: { title: 'waited' } }, as('alice'))
      .then((r) => ({ r, heldAtAnswer: held }));
    await new Promise((r) => setTimeout(r, 100));
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(held).toBe(true);
    const read = await server.gql(ConversationsDocument, {}, as('alice'));
    expect(read.data!.conversations.totalCount).toBeGreaterThanOrEqual(1);
    expect(held).toBe(true);
    const { r, heldAtAnswer } = await write;
    await lock;
    // It was written once the lock went away, and not before.
    expect(r.errors).toBeUndefined();
    expect(r.data!.createConversation.title).toBe('waited');
    expect(heldAtAnswer).toBe(false);
  });

  it('fails a write with SERVICE_UNAVAILABLE (503, retryable) when the lock outlasts SQLITE_BUSY_TIMEOUT_MS, and writes nothing', async () => {
    const before = (await server.gql(ConversationsDocument, {}, as('alice'))).data!.conversations.totalCount;
    const lock = holdLock(2500);
    const res = await server.gql(CreateConversationDocument, { input: { title: 'refused' } }, as('alice'));
    expect(held).toBe(true);
    expect(res.status).toBe(503);
    expect(res.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(res.errors?.[0]?.message).toMatch(/locked by another process.*retry/);
    release();
    await lock;
    expect((await server.gql(ConversationsDocument, {}, as('alice'))).data!.conversations.totalCount).toBe(before);
    // And the same request succeeds once the lock is gone.
    expect(
      (await server.gql(CreateConversationDocument, { input: { title: 'again' } }, as('alice'))).errors,
    ).toBeUndefined();
  });
});
