import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationDocument, CreateConversationDocument, PostMessageDocument } from '../generated/graphql.js';
import { as, startTestServer, type TestServer } from '../support/server.js';
import { snapshotSqlite } from '../support/snapshot.js';

let server: TestServer;
let conversationId: string;
let before: Record<string, unknown[]>;

beforeAll(async () => {
  server = await startTestServer({ env: { MAX_JSON_BODY_BYTES: '4096' } });
  const c = await server.gql(CreateConversationDocument, { input: { title: 'kept' } }, as('alice'));
  conversationId = c.data!.createConversation.id;
  await server.gql(PostMessageDocument, { input: { conversationId, role: 'USER', content: 'kept' } }, as('alice'));
  before = snapshotSqlite(server.sqlitePath);
});

afterAll(async () => {
  // Every refused request below must have left the store exactly as it was.
  expect(snapshotSqlite(server.sqlitePath)).toEqual(before);
  await server.stop();
});

async function raw(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { ...as('alice'), ...headers }, body });
  const text = await res.text();
  return {
    status: res.status,
    text,
    json: JSON.parse(text) as { errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

function expectCode(res: { text: string; json: { errors?: { extensions?: { code?: string } }[] } }, code: string) {
  expect(res.json.errors?.[0]?.extensions?.code).toBe(code);
  expect(res.text).not.toMatch(/stacktrace|at \w+ \(|node_modules/);
}

describe('bad input is refused with a code and changes nothing', () => {
  it('an unknown field: 400 GRAPHQL_VALIDATION_FAILED naming the field', async () => {
    const res = await raw(JSON.stringify({ query: '{ conversations { edges { node { id password } } } }' }));
    expect(res.status).toBe(400);
    expectCode(res, 'GRAPHQL_VALIDATION_FAILED');
    expect(res.json.errors?.[0]?.message).toMatch(/password/);
  });

  it('a wrong argument type: 400 BAD_USER_INPUT', async () => {
    const res = await server.gql(
      ConversationDocument,
      { id: conversationId, first: 'ten' as unknown as number },
      as('alice'),
    );
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a wrong enum value in a mutation: BAD_USER_INPUT, and no message stored', async () => {
    const res = await server.gql(
      PostMessageDocument,
      { input: { conversationId, role: 'ROOT' as never, content: 'x' } },
      as('alice'),
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a body that is not JSON: 400 BAD_USER_INPUT', async () => {
    const res = await raw('{"query": "{ conversations { totalCount } }"');
    expect(res.status).toBe(400);
    expectCode(res, 'BAD_USER_INPUT');
  });

  it('a body over MAX_JSON_BODY_BYTES: 413 PAYLOAD_TOO_LARGE', async () => {
    const content = 'x'.repeat(10_000);
    const res = await raw(
      JSON.stringify({
        query: PostMessageDocumentSource,
        variables: { input: { conversationId, role: 'USER', content } },
      }),
    );
    expect(res.status).toBe(413);
    expectCode(res, 'PAYLOAD_TOO_LARGE');
  });

  it('a query that does not parse: 400 GRAPHQL_PARSE_FAILED', async () => {
    const res = await raw(JSON.stringify({ query: '{ conversations { ' }));
    expect(res.status).toBe(400);
    expectCode(res, 'GRAPHQL_PARSE_FAILED');
  });

  it('a body without a query: 400 BAD_REQUEST', async () => {
    const res = await raw(JSON.stringify({ variables: {} }));
    expect(res.status).toBe(400);
    expectCode(res, 'BAD_REQUEST');
  });

  it('a mutation sent by GET: 405 BAD_REQUEST, and nothing runs', async () => {
    const query = 'mutation { createConversation(input: { title: "by GET" }) { id } }';
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent(query)}`, {
      headers: { ...as('alice'), 'apollo-require-preflight': 'true' },
    });
    expect(res.status).toBe(405);
    const text = await res.text();
    expectCode({ text, json: JSON.parse(text) as { errors?: { extensions?: { code?: string } }[] } }, 'BAD_REQUEST');
    // afterAll checks the store is unchanged: no conversation was created.
  });

  it('a document of two operations without operationName: 400 OPERATION_RESOLUTION_FAILURE', async () => {
    const res = await raw(JSON.stringify({ query: 'query A { __typename } query B { __typename }' }));
    expect(res.status).toBe(400);
    expectCode(res, 'OPERATION_RESOLUTION_FAILURE');
  });

  it('an unknown persisted-query hash: PERSISTED_QUERY_NOT_FOUND, so the client sends the full query', async () => {
    const hash = 'ab'.repeat(32);
    const res = await raw(JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }));
    expectCode(res, 'PERSISTED_QUERY_NOT_FOUND');
  });

  it.each(['not-an-id', '65a1b2c3', "65a1b2c3d4e5f60718293a4b' OR 1=1 --", 'ZZZZZZZZZZZZZZZZZZZZZZZZ'])(
    'a malformed id %j: BAD_USER_INPUT',
    async (id) => {
      const res = await server.gql(ConversationDocument, { id }, as('alice'));
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(/24 hexadecimal characters/);
    },
  );

  it('a malformed id in a mutation: BAD_USER_INPUT', async () => {
    const res = await server.gql(
      PostMessageDocument,
      { input: { conversationId: '../../etc/passwd', role: 'USER', content: 'x' } },
      as('alice'),
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a foreign id in a mutation: NOT_FOUND', async () => {
    const res = await server.gql(
      PostMessageDocument,
      { input: { conversationId, role: 'USER', content: 'x' } },
      as('bob'),
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it.each([0, -1, 101, 1_000_000])('first = %i: BAD_USER_INPUT saying 1..100', async (first) => {
    const res = await server.gql(ConversationDocument, { id: conversationId, first }, as('alice'));
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toMatch(/between 1 and 100/);
  });

  it.each(['garbage', Buffer.from('[1,2]').toString('base64url'), 'eyJ0IjoxfQ'])(
    'a malformed cursor %j: BAD_USER_INPUT',
    async (after) => {
      const res = await server.gql(ConversationDocument, { id: conversationId, first: 5, after }, as('alice'));
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(/cursor/);
    },
  );

  it('a 20-level nested query is refused before it runs, with a clear message', async () => {
    let selection = 'id';
    for (let i = 0; i < 10; i++) selection = `conversation { messages(first: 1) { edges { node { ${selection} } } } }`;
    const res = await raw(JSON.stringify({ query: `{ message(id: "65a1b2c3d4e5f60718293a4b") { ${selection} } }` }));
    expect(res.status).toBe(400);
    expectCode(res, 'GRAPHQL_VALIDATION_FAILED');
    // Not graphql-armor's "Syntax Error: …": the query parses; the limit and its setting are named.
    expect(res.json.errors?.[0]?.message).toMatch(
      /^The query is nested too deeply: Query depth limit of 12 exceeded, found \d+ \(MAX_QUERY_DEPTH\)\./,
    );
  });

  it('a query whose page sizes multiply past the cost limit is refused before it runs', async () => {
    const res = await raw(
      JSON.stringify({
        query:
          '{ conversations(first: 100) { edges { node { messages(first: 100) { edges { node { images { id sha256 displayUrl } } } } } } } }',
      }),
    );
    expect(res.status).toBe(400);
    expectCode(res, 'GRAPHQL_VALIDATION_FAILED');
    expect(res.json.errors?.[0]?.message).toMatch(/too expensive.*limit is 100000/);
  });

  it('a title or content over its limit: BAD_USER_INPUT', async () => {
    const t = await server.gql(CreateConversationDocument, { input: { title: 'x'.repeat(501) } }, as('alice'));
    expect(t.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a bad X-User-Id: 401 UNAUTHENTICATED', async () => {
    const res = await server.gql(ConversationDocument, { id: conversationId }, { 'x-user-id': 'a b/c' });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('an unknown route: 404 with a JSON error', async () => {
    const res = await fetch(`${server.url}/nope`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
      'NOT_FOUND',
    );
  });
});

const PostMessageDocumentSource = 'mutation($input: PostMessageInput!) { postMessage(input: $input) { id } }';
