import { expect, it } from 'vitest';
import type { Conversation, Message } from '../../src/domain/types.js';
import {
  at,
  byTimeAscId,
  byTimeDescId,
  makeConversation,
  makeImage,
  makeMessage,
  newId,
  scramble,
  walkPages,
} from '../support/factories.js';
import type { StoreRef } from './metadata-store.contract.js';

const conversationCursor = (c: Conversation) => ({ t: c.updatedAt.getTime(), id: c.id });
const messageCursor = (m: Message) => ({ t: m.createdAt.getTime(), id: m.id });

export function conversationCases(ref: StoreRef): void {
  it('creates conversations and gets them back by id, unknown ids absent', async () => {
    const titled = makeConversation({ title: 'Lighthouses', createdAt: at(5), updatedAt: at(7) });
    const untitled = makeConversation({ userId: 'bob', title: null });
    await ref.store.createConversation(titled);
    await ref.store.createConversation(untitled);

    const found = await ref.store.getConversationsByIds([untitled.id, newId(), titled.id]);
    expect(found.sort(byTimeAscId((c) => c.createdAt))).toEqual(
      [titled, untitled].sort(byTimeAscId((c) => c.createdAt)),
    );
    expect(found.find((c) => c.id === titled.id)?.updatedAt).toBeInstanceOf(Date);
    expect(await ref.store.getConversationsByIds([newId()])).toEqual([]);
    expect(await ref.store.getConversationsByIds([])).toEqual([]);
  });

  it('adds messages and gets them back with every field intact, unknown ids absent', async () => {
    const conversation = makeConversation();
    await ref.store.createConversation(conversation);
    const messages = [
      makeMessage(conversation, { role: 'USER', content: 'Ünïcode ✓ and "quotes"\nnew line', createdAt: at(1001) }),
      makeMessage(conversation, { role: 'ASSISTANT', content: '', createdAt: at(1002) }),
      makeMessage(conversation, { role: 'SYSTEM', content: 'You are helpful.', createdAt: at(1003) }),
    ];
    for (const m of messages) await ref.store.addMessage(m);

    const found = await ref.store.getMessagesByIds([...messages.map((m) => m.id), newId()]);
    expect(found.sort(byTimeAscId((m) => m.createdAt))).toEqual(messages);
    expect(found[0]!.createdAt).toBeInstanceOf(Date);
    expect(await ref.store.getMessagesByIds([newId()])).toEqual([]);
  });

  it("addMessage sets the conversation's updatedAt to the message's createdAt, reordering the list", async () => {
    const older = makeConversation({ updatedAt: at(100) });
    const newer = makeConversation({ updatedAt: at(200) });
    await ref.store.createConversation(older);
    await ref.store.createConversation(newer);
    const message = makeMessage(older, { createdAt: at(300) });
    await ref.store.addMessage(message);

    const [bumped] = await ref.store.getConversationsByIds([older.id]);
    expect(bumped!.updatedAt).toEqual(at(300));
    expect(bumped!.createdAt).toEqual(older.createdAt);
    const page = await ref.store.listConversations('alice', { first: 10, after: null });
    expect(page.items.map((c) => c.id)).toEqual([older.id, newer.id]);
  });

  it('addMessage never moves updatedAt backwards: a message older than the last (a late concurrent post, an import) keeps it', async () => {
    const conversation = makeConversation({ updatedAt: at(100) });
    await ref.store.createConversation(conversation);
    await ref.store.addMessage(makeMessage(conversation, { createdAt: at(500) }));
    await ref.store.addMessage(makeMessage(conversation, { createdAt: at(300) }));
    expect((await ref.store.getConversationsByIds([conversation.id]))[0]!.updatedAt).toEqual(at(500));
  });

  it('pages conversations newest first, stable by id when many share a timestamp', async () => {
    // 13 conversations over 3 timestamps: most pages cut through a run of equal timestamps.
    const all = Array.from({ length: 13 }, (_, i) =>
      makeConversation({ updatedAt: at([500, 500, 500, 500, 500, 900, 900, 900, 900, 900, 100, 100, 100][i]!) }),
    );
    for (const c of scramble(all)) await ref.store.createConversation(c);
    const expected = [...all].sort(byTimeDescId((c) => c.updatedAt));

    const pages = await walkPages(5, (p) => ref.store.listConversations('alice', p), conversationCursor);
    expect(pages.map((p) => p.items.length)).toEqual([5, 5, 3]);
    expect(pages.flatMap((p) => p.items)).toEqual(expected);
    expect(pages.map((p) => p.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((p) => p.totalCount)).toEqual([13, 13, 13]);

    const exact = await ref.store.listConversations('alice', { first: 13, after: null });
    expect(exact.items).toHaveLength(13);
    expect(exact.hasNextPage).toBe(false);
    const pastTheEnd = await ref.store.listConversations('alice', {
      first: 5,
      after: conversationCursor(expected.at(-1)!),
    });
    expect(pastTheEnd).toEqual({ items: [], hasNextPage: false, totalCount: 13 });
  });

  it('lists only the owner’s conversations; owner null lists everyone’s', async () => {
    const alices = [makeConversation({ updatedAt: at(1) }), makeConversation({ updatedAt: at(3) })];
    const bobs = [makeConversation({ userId: 'bob', updatedAt: at(2) })];
    for (const c of [...alices, ...bobs]) await ref.store.createConversation(c);

    const alice = await ref.store.listConversations('alice', { first: 10, after: null });
    expect(alice.items.map((c) => c.id)).toEqual([alices[1]!.id, alices[0]!.id]);
    expect(alice.totalCount).toBe(2);
    const bob = await ref.store.listConversations('bob', { first: 10, after: null });
    expect(bob.items.map((c) => c.id)).toEqual([bobs[0]!.id]);
    expect(bob.totalCount).toBe(1);
    const admin = await ref.store.listConversations(null, { first: 10, after: null });
    expect(admin.items.map((c) => c.id)).toEqual([alices[1]!.id, bobs[0]!.id, alices[0]!.id]);
    expect(admin.totalCount).toBe(3);
    expect(await ref.store.listConversations('carol', { first: 10, after: null })).toEqual({
      items: [],
      hasNextPage: false,
      totalCount: 0,
    });
  });

  it('pages messages oldest first, stable by id when many share a timestamp', async () => {
    const conversation = makeConversation();
    await ref.store.createConversation(conversation);
    // 12 messages over 3 timestamps; the first page boundary falls inside the run of 7 equal ones.
    const all = Array.from({ length: 12 }, (_, i) =>
      makeMessage(conversation, {
        createdAt: at([0, 0, 0, 0, 0, 0, 0, 10, 10, 10, 20, 20][i]! + 1000),
        content: `m${i}`,
      }),
    );
    for (const m of scramble(all)) await ref.store.addMessage(m);
    const expected = [...all].sort(byTimeAscId((m) => m.createdAt));

    const pages = await walkPages(
      5,
      async (p) => (await ref.store.listMessagesOfConversations([conversation.id], p)).get(conversation.id)!,
      messageCursor,
    );
    expect(pages.map((p) => p.items.length)).toEqual([5, 5, 2]);
    expect(pages.flatMap((p) => p.items)).toEqual(expected);
    expect(pages.map((p) => p.hasNextPage)).toEqual([true, true, false]);
    expect(pages.map((p) => p.totalCount)).toEqual([12, 12, 12]);
  });

  it('lists messages of several conversations at once, each with its own page', async () => {
    const busy = makeConversation();
    const quiet = makeConversation();
    const empty = makeConversation();
    for (const c of [busy, quiet, empty]) await ref.store.createConversation(c);
    const busyMessages = Array.from({ length: 7 }, (_, i) => makeMessage(busy, { createdAt: at(1000 + i) }));
    const quietMessages = Array.from({ length: 3 }, (_, i) => makeMessage(quiet, { createdAt: at(1000 + i) }));
    const first = busyMessages[0]!;
    const withImages = {
      ...first,
      images: [makeImage(first, { caption: 'one' }), makeImage(first, { caption: 'two' })],
    };
    for (const m of [withImages, ...busyMessages.slice(1), ...quietMessages]) await ref.store.addMessage(m);
    const unknown = newId();

    const pages = await ref.store.listMessagesOfConversations([busy.id, quiet.id, empty.id, unknown], {
      first: 3,
      after: null,
    });
    expect([...pages.keys()].sort()).toEqual([busy.id, quiet.id, empty.id, unknown].sort());
    expect(pages.get(busy.id)).toEqual({
      items: [withImages, ...busyMessages.slice(1, 3)],
      hasNextPage: true,
      totalCount: 7,
    });
    expect(pages.get(quiet.id)).toEqual({ items: quietMessages, hasNextPage: false, totalCount: 3 });
    expect(pages.get(empty.id)).toEqual({ items: [], hasNextPage: false, totalCount: 0 });
    expect(pages.get(unknown)).toEqual({ items: [], hasNextPage: false, totalCount: 0 });

    const next = await ref.store.listMessagesOfConversations([busy.id], {
      first: 3,
      after: messageCursor(busyMessages[2]!),
    });
    expect(next.get(busy.id)).toEqual({ items: busyMessages.slice(3, 6), hasNextPage: true, totalCount: 7 });
    expect(await ref.store.listMessagesOfConversations([], { first: 3, after: null })).toEqual(new Map());
  });
}
