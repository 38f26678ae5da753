import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConversationDocument,
  type ConversationQuery,
  ConversationsDocument,
  CreateConversationDocument,
  ImageDocument,
  ImagesDocument,
  MessageDocument,
  PostMessageDocument,
  StorageStatsDocument,
} from '../generated/graphql.js';
import { seedImage } from '../support/seed.js';
import { as, startTestServer, type GraphQLResponse, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

async function createConversation(user: string, title: string | null = null): Promise<string> {
  const res = await server.gql(CreateConversationDocument, { input: { title } }, as(user));
  expect(res.errors).toBeUndefined();
  return res.data!.createConversation.id;
}

describe('conversations and messages over HTTP', () => {
  it('creates a conversation owned by the caller, with an empty message page', async () => {
    const res = await server.gql(CreateConversationDocument, { input: { title: '  Trip photos ' } }, as('alice'));
    expect(res.status).toBe(200);
    const c = res.data!.createConversation;
    expect(c).toMatchObject({ title: 'Trip photos', imageCount: 0 });
    expect(c.id).toMatch(/^[0-9a-f]{24}$/);
    expect(new Date(c.createdAt).toISOString()).toBe(c.createdAt);

    const got = await server.gql(ConversationDocument, { id: c.id }, as('alice'));
    expect(got.data!.conversation).toMatchObject({
      id: c.id,
      title: 'Trip photos',
      messages: { totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
    });
  });

  it('posts messages and pages through them oldest first with cursors', async () => {
    const id = await createConversation('alice', 'paging');
    const contents = Array.from({ length: 7 }, (_, i) => `message ${i}`);
    for (const content of contents) {
      const res = await server.gql(
        PostMessageDocument,
        { input: { conversationId: id, role: 'USER', content } },
        as('alice'),
      );
      expect(res.errors).toBeUndefined();
      expect(res.data!.postMessage).toMatchObject({ conversationId: id, role: 'USER', content, images: [] });
    }
    const seen: string[] = [];
    let after: string | null | undefined = null;
    for (let pageNo = 0; pageNo < 10; pageNo++) {
      const res: GraphQLResponse<ConversationQuery> = await server.gql(
        ConversationDocument,
        { id, first: 3, after },
        as('alice'),
      );
      const page = res.data!.conversation!.messages;
      expect(page.totalCount).toBe(7);
      seen.push(...page.edges.map((e) => e.node.content));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(contents);
  });

  it('lists conversations most recently updated first, and a new message moves one to the top', async () => {
    const user = 'carol';
    const a = await createConversation(user, 'a');
    const b = await createConversation(user, 'b');
    let list = await server.gql(ConversationsDocument, { first: 10 }, as(user));
    expect(list.data!.conversations.edges.map((e) => e.node.title)).toEqual(['b', 'a']);
    await server.gql(PostMessageDocument, { input: { conversationId: a, role: 'USER', content: 'hi' } }, as(user));
    list = await server.gql(ConversationsDocument, { first: 10 }, as(user));
    expect(list.data!.conversations.edges.map((e) => e.node.id)).toEqual([a, b]);
    expect(list.data!.conversations.totalCount).toBe(2);
  });

  it('reads a message with its conversation', async () => {
    const id = await createConversation('alice');
    const posted = await server.gql(
      PostMessageDocument,
      { input: { conversationId: id, role: 'ASSISTANT', content: 'hello' } },
      as('alice'),
    );
    const res = await server.gql(MessageDocument, { id: posted.data!.postMessage.id }, as('alice'));
    expect(res.data!.message).toMatchObject({ role: 'ASSISTANT', content: 'hello', conversation: { id } });
  });
});

describe('ownership', () => {
  it("answers NOT_FOUND for someone else's conversation, message and image, exactly as for a missing id", async () => {
    const id = await createConversation('owner');
    const msg = await server.gql(
      PostMessageDocument,
      { input: { conversationId: id, role: 'USER', content: 'mine' } },
      as('owner'),
    );
    const image = await seedImage(server.sqlitePath, {
      conversationId: id,
      messageId: msg.data!.postMessage.id,
      userId: 'owner',
    });

    for (const [doc, vars] of [
      [ConversationDocument, { id }],
      [MessageDocument, { id: msg.data!.postMessage.id }],
      [ImageDocument, { id: image.id }],
    ] as const) {
      const foreign = await server.gql(doc, vars as never, as('mallory'));
      expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const missing = await server.gql(doc, { id: 'ffffffffffffffffffffffff' } as never, as('mallory'));
      expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(foreign.errors?.[0]?.message.replace(/"[0-9a-f]{24}"/, '"…"')).toBe(
        missing.errors?.[0]?.message.replace(/"[0-9a-f]{24}"/, '"…"'),
      );
    }
  });

  it("refuses to write into someone else's conversation and stores nothing", async () => {
    const id = await createConversation('owner2');
    const res = await server.gql(
      PostMessageDocument,
      { input: { conversationId: id, role: 'USER', content: 'intrusion' } },
      as('mallory'),
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const own = await server.gql(ConversationDocument, { id }, as('owner2'));
    expect(own.data!.conversation!.messages.totalCount).toBe(0);
  });

  it("never lists someone else's conversations or images; an admin sees everyone's", async () => {
    const id = await createConversation('dave', 'dave only');
    const msg = await server.gql(
      PostMessageDocument,
      { input: { conversationId: id, role: 'USER', content: 'x' } },
      as('dave'),
    );
    await seedImage(server.sqlitePath, { conversationId: id, messageId: msg.data!.postMessage.id, userId: 'dave' });

    const eve = await server.gql(ConversationsDocument, { first: 100 }, as('eve'));
    expect(eve.data!.conversations.edges.map((e) => e.node.id)).not.toContain(id);
    const eveImages = await server.gql(ImagesDocument, {}, as('eve'));
    expect(eveImages.data!.images.totalCount).toBe(0);
    const filtered = await server.gql(ImagesDocument, { filter: { conversationId: id } }, as('eve'));
    expect(filtered.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const admin = await server.gql(ConversationsDocument, { first: 100 }, as('root', ['admin']));
    expect(admin.data!.conversations.edges.map((e) => e.node.id)).toContain(id);
    const adminRead = await server.gql(ConversationDocument, { id }, as('root', ['admin']));
    expect(adminRead.data!.conversation!.id).toBe(id);
    const adminImages = await server.gql(ImagesDocument, { filter: { conversationId: id } }, as('root', ['admin']));
    expect(adminImages.data!.images.totalCount).toBe(1);
  });
});

describe('images and storage stats', () => {
  it('resolves image fields: signed local URLs, LOCAL until a provider holds a copy, then the cloud URL first', async () => {
    const id = await createConversation('frank');
    const msg = await server.gql(
      PostMessageDocument,
      { input: { conversationId: id, role: 'ASSISTANT', content: '' } },
      as('frank'),
    );
    const local = await seedImage(server.sqlitePath, {
      conversationId: id,
      messageId: msg.data!.postMessage.id,
      userId: 'frank',
      size: 1000,
    });
    const cloud = await seedImage(server.sqlitePath, {
      conversationId: id,
      messageId: msg.data!.postMessage.id,
      userId: 'frank',
      size: 3000,
      generated: true,
      service: 'IMGBB',
      cloudUrl: 'https://i.ibb.co/abc/img.png',
      status: 'REPLICATED',
    });

    const l = (await server.gql(ImageDocument, { id: local.id }, as('frank'))).data!.image!;
    expect(l.service).toBe('LOCAL');
    expect(l.replicationStatus).toBe('PENDING');
    expect(l.localUrl).toMatch(
      new RegExp(`^http://127.0.0.1:\\d+/files/${local.localKey}\\?exp=\\d+&sig=[0-9a-f]{64}$`),
    );
    expect(l.thumbnailUrl).toMatch(/\/files\/thumbnails\/thumb_/);
    expect(l.displayUrl).toBe(l.localUrl);
    expect(l.fallbackUrl).toBeNull();
    expect(l.cloudUrl).toBeNull();
    expect(l.message.conversation.id).toBe(id);

    const c = (await server.gql(ImageDocument, { id: cloud.id }, as('frank'))).data!.image!;
    expect(c).toMatchObject({
      service: 'IMGBB',
      replicationStatus: 'REPLICATED',
      displayUrl: 'https://i.ibb.co/abc/img.png',
      cloudUrl: 'https://i.ibb.co/abc/img.png',
    });
    expect(c.fallbackUrl).toBe(c.localUrl);

    const conv = await server.gql(ConversationDocument, { id }, as('frank'));
    expect(conv.data!.conversation!.imageCount).toBe(2);

    const generated = await server.gql(ImagesDocument, { filter: { generated: true } }, as('frank'));
    expect(generated.data!.images.edges.map((e) => e.node.id)).toEqual([cloud.id]);
    const small = await server.gql(ImagesDocument, { filter: { maxSize: 1000 } }, as('frank'));
    expect(small.data!.images.edges.map((e) => e.node.id)).toEqual([local.id]);
    const all = await server.gql(ImagesDocument, {}, as('frank'));
    expect(all.data!.images.edges.map((e) => e.node.id)).toEqual([cloud.id, local.id]);

    const stats = await server.gql(StorageStatsDocument, {}, as('frank'));
    expect(stats.data!.storageStats).toMatchObject({
      imageCount: 2,
      totalBytes: 4000,
      localBytes: 4000,
      pendingReplication: 1,
    });
    expect(stats.data!.storageStats.byService).toEqual([
      { service: 'IMGBB', count: 1, bytes: 3000 },
      { service: 'LOCAL', count: 1, bytes: 1000 },
    ]);
  });
});

describe('/files for images without a digest (older app records)', () => {
  it('gives two such files different ETags, so a conditional request never answers for the wrong file', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { dirname, join } = await import('node:path');
    const id = await createConversation('gina');
    const msg = await server.gql(
      PostMessageDocument,
      { input: { conversationId: id, role: 'USER', content: '' } },
      as('gina'),
    );
    const etags: string[] = [];
    for (const content of ['first file', 'second file']) {
      const image = await seedImage(server.sqlitePath, {
        conversationId: id,
        messageId: msg.data!.postMessage.id,
        userId: 'gina',
        sha256: '',
      });
      await mkdir(dirname(join(server.storageDir, image.localKey!)), { recursive: true });
      await writeFile(join(server.storageDir, image.localKey!), content);
      const read = await server.gql(ImageDocument, { id: image.id }, as('gina'));
      const res = await fetch(read.data!.image!.localUrl!);
      expect(await res.text()).toBe(content);
      etags.push(res.headers.get('etag') ?? '');
    }
    expect(etags[0]).toMatch(/^"key-[0-9a-f]{64}"$/);
    expect(etags[0]).not.toBe(etags[1]);
  });
});
