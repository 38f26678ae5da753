/**
 * The live-update pieces over a real SQLite file: the recording decorator appends one change
 * per write a client cares about (and none for a lease renewal), the change log is read in
 * order from where a reader started, and the feed fans changes out by conversation, ends a
 * subscriber that stops reading, and lets an unsubscribe go at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChangeFeed, SubscriberTooSlowError } from '../../src/events/feed.js';
import { recordingStore } from '../../src/events/recording-store.js';
import { WakeSignal, type Change, type ChangeLog } from '../../src/metadata/change-log.js';
import { changeToDoc, docToChange } from '../../src/metadata/mongo/changes.js';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { take } from '../support/changes.js';
import { until } from '../support/eventually.js';
import { at, makeConversation, makeImage, makeMessage } from '../support/factories.js';

const log = pino({ level: 'silent' });
let dir: string;
let inner: SqliteMetadataStore;
let store: MetadataStore;
let wake: WakeSignal;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-changes-'));
  inner = new SqliteMetadataStore({ path: join(dir, 'm.sqlite') });
  await inner.init();
  wake = new WakeSignal();
  store = recordingStore(inner, { changes: inner, wake, log });
});
afterEach(async () => {
  await inner.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the recording store and the SQLite change log', () => {
  it('appends MESSAGE_ADDED and IMAGE_ADDED, IMAGE_CHANGED for a status change but not for a lease renewal, IMAGE_DELETED', async () => {
    const abort = new AbortController();
    const tail = inner.tailChanges({ signal: abort.signal, pollMs: 10, wake })[Symbol.asyncIterator]();
    const first = tail.next(); // the tail's start is fixed by its first read
    const c = makeConversation();
    await store.createConversation(c);
    const m = makeMessage(c);
    const image = makeImage(m);
    await store.addMessage({ ...m, images: [image] });
    const second = makeImage(m);
    await store.addImage(m.id, second);
    expect(await store.updateImage(image.id, { replication: { leaseOwner: 'w', leaseUntil: at(99_000) } })).toBe(true);
    expect(
      await store.updateImage(image.id, {
        replication: { status: 'REPLICATED', leaseOwner: null, leaseUntil: null },
        cloudUrl: 'https://i.example/x.jpg',
        service: 'IMGBB',
      }),
    ).toBe(true);
    expect(
      await store.beginDeletion({
        imageId: second.id,
        userId: c.userId,
        localKeys: [],
        cloud: null,
        cloudDeleted: false,
        requestedAt: at(0),
        attempts: 0,
        nextAttemptAt: null,
        lastError: null,
        leaseOwner: null,
        leaseUntil: null,
      }),
    ).toBe(true);
    // A second deletion of the same image removes nothing and records nothing.
    expect(await store.removeImage(second.id)).toBe(false);

    const changes = [(await first).value as Change, ...(await take(tail, 4))];
    abort.abort();
    expect(changes.map((ch) => [ch.kind, ch.imageId])).toEqual([
      ['MESSAGE_ADDED', null],
      ['IMAGE_ADDED', image.id],
      ['IMAGE_ADDED', second.id],
      ['IMAGE_CHANGED', image.id],
      ['IMAGE_DELETED', second.id],
    ]);
    expect(changes.every((ch) => ch.conversationId === c.id && ch.messageId === m.id && ch.userId === c.userId)).toBe(
      true,
    );
    const cursors = changes.map((ch) => Number(ch.cursor));
    expect([...cursors].sort((a, b) => a - b)).toEqual(cursors);
  });

  it('goes on from a cursor it gave, and skips what was written before a tail without one started', async () => {
    const c = makeConversation();
    await store.createConversation(c);
    await store.addMessage(makeMessage(c));
    const abort = new AbortController();
    const fresh = inner.tailChanges({ signal: abort.signal, pollMs: 10, wake })[Symbol.asyncIterator]();
    const next = fresh.next();
    const later = makeMessage(c);
    await store.addMessage(later);
    const got = (await next).value as Change;
    expect(got.messageId).toBe(later.id);
    await store.addMessage(makeMessage(c, { id: 'bbbbbbbbbbbbbbbbbbbbbbbb' }));
    const resumedChanges = inner.tailChanges({ signal: abort.signal, pollMs: 10, wake, after: got.cursor });
    const resumed = resumedChanges[Symbol.asyncIterator]();
    expect(((await resumed.next()).value as Change).messageId).toBe('bbbbbbbbbbbbbbbbbbbbbbbb');
    abort.abort();
  });

  it('keeps the write when the append fails, and says so in the log', async () => {
    const lines: string[] = [];
    const captured = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const failing = recordingStore(inner, {
      changes: {
        appendChanges: () => Promise.reject(new Error('disk full')),
        tailChanges: inner.tailChanges.bind(inner),
      },
      wake,
      log: captured,
    });
    const c = makeConversation();
    await failing.createConversation(c);
    const m = makeMessage(c);
    await failing.addMessage(m);
    expect((await inner.getMessagesByIds([m.id]))[0]?.id).toBe(m.id);
    expect(lines.some((l) => l.includes('disk full') && l.includes('could not append to the change log'))).toBe(true);
  });
});

describe('the wake signal', () => {
  it('keeps a wake that came while no one waited for the next wait, once', async () => {
    const w = new WakeSignal();
    const abort = new AbortController();
    w.wake();
    const t = Date.now();
    await w.wait(60_000, abort.signal); // at once: the wake was kept
    expect(Date.now() - t).toBeLessThan(1000);
    const t2 = Date.now();
    await w.wait(200, abort.signal);
    expect(Date.now() - t2).toBeGreaterThanOrEqual(150); // only once: this one waited for its timeout
    abort.abort();
  });
});

describe('the change feed', () => {
  it('delivers each change to the subscribers of its conversation only, and lets an unsubscribe end a pending read at once', async () => {
    const feed = new ChangeFeed(inner, { pollMs: 10, wake, log, maxQueue: 10 });
    feed.start();
    const [c1, c2] = [makeConversation(), makeConversation()];
    await store.createConversation(c1);
    await store.createConversation(c2);
    // Until the feed's reader has fixed where it starts: an append before that would not be seen.
    await new Promise((r) => setTimeout(r, 50));
    const one = feed.subscribe(c1.id);
    const two = feed.subscribe(c2.id);
    expect(feed.size).toBe(2);
    const m = makeMessage(c1);
    await store.addMessage(m);
    expect(((await one.next()).value as Change).messageId).toBe(m.id);
    const pending = two.next();
    await two.return!();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(feed.size).toBe(1);
    await feed.stop();
    expect(await one.next()).toEqual({ value: undefined, done: true });
    expect(feed.size).toBe(0);
  });

  it('ends a subscriber that falls more than maxQueue changes behind, and no one else', async () => {
    const feed = new ChangeFeed(inner, { pollMs: 10, wake, log, maxQueue: 3 });
    feed.start();
    const c = makeConversation();
    await store.createConversation(c);
    await new Promise((r) => setTimeout(r, 50));
    const slow = feed.subscribe(c.id);
    const reader = feed.subscribe(c.id);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const ch of reader) if (seen.push(ch.messageId) === 5) break;
    })();
    for (let i = 0; i < 5; i++) await store.addMessage(makeMessage(c));
    await reading;
    expect(seen).toHaveLength(5);
    await expect(slow.next()).rejects.toBeInstanceOf(SubscriberTooSlowError);
    await feed.stop();
  });

  it('reads nothing for appends while nobody is subscribed, and delivers promptly again once someone is', async () => {
    // The log's reads, counted: the SQLite tail waits once after each read.
    let reads = 0;
    const counted: ChangeLog = {
      appendChanges: (changes) => inner.appendChanges(changes),
      tailChanges: (o) =>
        inner.tailChanges({
          ...o,
          wake: {
            wait: (ms, signal) => {
              reads++;
              return o.wake.wait(ms, signal);
            },
          },
        }),
    };
    // A poll far longer than the test: only a wake can make the reader look.
    const feed = new ChangeFeed(counted, { pollMs: 60_000, wake, log, maxQueue: 10 });
    feed.start();
    const c = makeConversation();
    await store.createConversation(c);
    await until(async () => reads === 1, 2000);
    for (let i = 0; i < 5; i++) await store.addMessage(makeMessage(c));
    await new Promise((r) => setTimeout(r, 50));
    expect(reads).toBe(1);

    const sub = feed.subscribe(c.id);
    const m = makeMessage(c);
    await store.addMessage(m);
    // Delivered long before the poll: the subscription woke the reader and the append did again.
    const got = await take(sub, 6, 2000);
    expect(got.map((ch) => ch.messageId)).toContain(m.id);
    await sub.return!();
    const after = reads;
    await store.addMessage(makeMessage(c)); // read once more: the reader was waiting for appends
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 5; i++) await store.addMessage(makeMessage(c));
    await new Promise((r) => setTimeout(r, 50));
    expect(reads).toBeLessThanOrEqual(after + 1);
    await feed.stop();
  });
});

describe('the MongoDB change documents', () => {
  it('map both ways, with a cursor that orders by time', () => {
    const change = {
      kind: 'IMAGE_CHANGED' as const,
      conversationId: 'c'.repeat(24),
      userId: 'alice',
      messageId: 'm'.repeat(24),
      imageId: 'i'.repeat(24),
    };
    const doc = changeToDoc(change, at(5000));
    expect(doc).toMatchObject({
      kind: 'IMAGE_CHANGED',
      conversation_id: change.conversationId,
      user_id: 'alice',
      message_id: change.messageId,
      image_id: change.imageId,
      at: at(5000),
    });
    const back = docToChange(doc);
    expect(back).toMatchObject({ ...change, at: at(5000) });
    expect(back.cursor).toBe(`${at(5000).getTime()}:${doc._id.toHexString()}`);
  });
});

describe('errors of a subscription', () => {
  it("keep a domain error's code when graphql-ws wraps what the stream threw, and mask anything else", async () => {
    const { GraphQLError } = await import('graphql');
    const { formatSubscriptionErrors } = await import('../../src/http/subscriptions.js');
    const { createErrorFormatter } = await import('../../src/graphql/errors.js');
    const format = createErrorFormatter({ isProduction: true, introspection: false });
    const slow = new SubscriberTooSlowError('This subscription fell more than 1000 updates behind and was ended.');
    const [kept, masked] = formatSubscriptionErrors(
      [
        new GraphQLError(slow.message, { originalError: slow }),
        new GraphQLError('boom', { originalError: new Error('boom') }),
      ],
      format,
    );
    expect(kept).toMatchObject({ message: slow.message, extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(masked).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });
});
