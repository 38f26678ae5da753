import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingStore } from '../support/counting-store.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { ConversationsWithMessagesDocument } from '../generated/graphql.js';
import { seedChat } from '../support/seed-chat.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let counter: ReturnType<typeof countingStore>;

beforeAll(async () => {
  server = await startTestServer({
    wrapStore: (s) => {
      counter = countingStore(s);
      return counter.store;
    },
  });
  const seeder = new SqliteMetadataStore({ path: server.sqlitePath });
  await seeder.init();
  await seedChat(seeder, { userId: 'reader', conversations: 20, messagesPerConversation: 20, imagesPerMessage: 2 });
  await seeder.close();
});

afterAll(async () => {
  await server.stop();
});

describe('the read path batches store calls (no N+1)', () => {
  it('20 conversations × 20 messages × their images cost at most 4 store round trips', async () => {
    counter.reset();
    const res = await server.gql(ConversationsWithMessagesDocument, { first: 20, messagesFirst: 20 }, as('reader'));
    expect(res.errors).toBeUndefined();
    const conversations = res.data!.conversations.edges;
    expect(conversations).toHaveLength(20);
    for (const { node } of conversations) {
      expect(node.messages.edges).toHaveLength(20);
      expect(node.imageCount).toBe(40);
      for (const m of node.messages.edges) expect(m.node.images).toHaveLength(2);
    }
    // The background workers poll the store on their own schedule; only the request's calls count.
    for (const method of ['claimDueImages', 'claimDueDeletions']) counter.counts.delete(method);
    // Without batching this would be 1 + 20 + 20 (+ 400 for images), not a constant.
    expect(counter.total()).toBeLessThanOrEqual(4);
    expect(Object.fromEntries(counter.counts)).toEqual({
      listConversations: 1,
      listMessagesOfConversations: 1,
      countImagesByConversation: 1,
    });
  });
});
