/**
 * The clients a frontend developer uses, used as the README shows them, against the running
 * server: Apollo Client 4 with apollo-upload-client's UploadHttpLink (multipart, with the
 * preflight header) for queries and mutations, and graphql-ws through Apollo's GraphQLWsLink
 * for subscriptions. Create, upload a File, list with image fields, watch REPLICATED arrive,
 * delete and watch DELETED; and read the server's own message out of an error Apollo reports as
 * "status code 400".
 */
import { readFile } from 'node:fs/promises';
import { ApolloClient, ApolloLink, gql, InMemoryCache } from '@apollo/client';
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { startTestServer, type TestServer } from '../support/server.js';

const coffee = await readFile('test/fixtures/coffee.png');

const CREATE = gql`
  mutation Create($title: String) {
    createConversation(input: { title: $title }) {
      id
      title
    }
  }
`;
const UPLOAD = gql`
  mutation Upload($file: Upload!, $c: ID!) {
    uploadImage(input: { file: $file, conversationId: $c, caption: "from Apollo", waitForCloud: false }) {
      image {
        id
        replicationStatus
      }
    }
  }
`;
const CONVERSATION = gql`
  query Conversation($id: ID!) {
    conversation(id: $id) {
      id
      messages(first: 10) {
        edges {
          node {
            id
            images {
              id
              caption
              mimeType
              width
              height
              placeholder
              displayUrl
              fallbackUrl
              replicationStatus
            }
          }
        }
      }
    }
  }
`;
const EVENTS = gql`
  subscription Events($c: ID!) {
    imageEvents(conversationId: $c) {
      kind
      imageId
      image {
        id
        replicationStatus
        displayUrl
      }
    }
  }
`;
const DELETE = gql`
  mutation Delete($id: ID!) {
    deleteImage(id: $id) {
      deletedImageId
    }
  }
`;

/** The setup the README's frontend section shows: uploads and queries over HTTP, subscriptions over WebSocket. */
function apollo(url: string, user: string) {
  const http = new UploadHttpLink({
    uri: `${url}/graphql`,
    headers: { 'apollo-require-preflight': 'true', 'x-user-id': user },
  });
  const wsClient = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { 'x-user-id': user },
    retryAttempts: 0,
  });
  const link = ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
    },
    new GraphQLWsLink(wsClient),
    http,
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  return { client, close: () => wsClient.dispose() };
}

describe('Apollo Client, apollo-upload-client and graphql-ws against the server', () => {
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
      },
    });
  });
  afterAll(async () => {
    await server.stop();
    await cloud.stop();
  });

  it('creates, uploads a File, lists it with its image fields, sees REPLICATED arrive, deletes it and sees DELETED', async () => {
    const { client, close } = apollo(server.url, 'alice');
    try {
      const created = await client.mutate({ mutation: CREATE, variables: { title: 'Apollo' } });
      const c = (created.data as { createConversation: { id: string } }).createConversation.id;

      const events: {
        kind: string;
        imageId: string;
        image: { replicationStatus: string; displayUrl: string } | null;
      }[] = [];
      const subscription = client.subscribe({ query: EVENTS, variables: { c } }).subscribe({
        next: (result) => events.push((result.data as { imageEvents: (typeof events)[number] }).imageEvents),
      });
      await eventually(
        () => server.app.subscriptions.subscriptions(),
        (n) => n >= 1,
        5000,
        5,
      );

      const file = new File([coffee], 'coffee.png', { type: 'image/png' });
      const uploaded = await client.mutate({ mutation: UPLOAD, variables: { file, c } });
      const image = (uploaded.data as { uploadImage: { image: { id: string; replicationStatus: string } } }).uploadImage
        .image;
      expect(image.replicationStatus).toBe('PENDING');

      const listed = await client.query({ query: CONVERSATION, variables: { id: c }, fetchPolicy: 'network-only' });
      const shown = (
        listed.data as { conversation: { messages: { edges: { node: { images: Record<string, unknown>[] } }[] } } }
      ).conversation.messages.edges[0]!.node.images[0]!;
      expect(shown).toMatchObject({
        id: image.id,
        caption: 'from Apollo',
        mimeType: 'image/jpeg',
        width: 600,
        height: 400,
        placeholder: expect.stringMatching(/^data:image\/webp;base64,/),
      });
      // Before the cloud copy lands, the local copy is what to show, with nothing to fall back to.
      expect(shown['displayUrl']).toMatch(/\/files\/uploads\//);
      expect(shown['fallbackUrl']).toBeNull();

      await eventually(
        () => events,
        (e) => e.some((x) => x.image?.replicationStatus === 'REPLICATED'),
        15_000,
        20,
      );
      expect(events[0]).toMatchObject({ kind: 'ADDED', imageId: image.id });
      const replicated = events.find((x) => x.image?.replicationStatus === 'REPLICATED')!;
      expect(replicated.image!.displayUrl.startsWith(new URL(cloud.apiUrl).origin)).toBe(true);

      await client.mutate({ mutation: DELETE, variables: { id: image.id } });
      await eventually(
        () => events,
        (e) => e.some((x) => x.kind === 'DELETED'),
        15_000,
        20,
      );
      expect(events.at(-1)).toEqual({ __typename: 'ImageEvent', kind: 'DELETED', imageId: image.id, image: null });
      subscription.unsubscribe();
    } finally {
      await close();
    }
  });

  it("keeps the server's message in what Apollo reports: GraphQL errors by code, and a 400's body text", async () => {
    const { client, close } = apollo(server.url, 'alice');
    try {
      // A 200 with an error: CombinedGraphQLErrors carries each error's message and code.
      const pdf = new File([Buffer.from('%PDF-1.4\n%%EOF\n')], 'invoice.pdf', { type: 'application/pdf' });
      const c = (
        (await client.mutate({ mutation: CREATE, variables: {} })).data as { createConversation: { id: string } }
      ).createConversation.id;
      const refused = await client.mutate({ mutation: UPLOAD, variables: { file: pdf, c } }).catch((e: unknown) => e);
      expect(CombinedGraphQLErrors.is(refused)).toBe(true);
      expect((refused as CombinedGraphQLErrors).errors[0]).toMatchObject({
        extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' },
        message: expect.stringMatching(/not a supported image/),
      });

      // A 400 (here: a multipart request without the preflight header, refused before its body
      // is read): Apollo says "Response not successful: Received status code 400"; the server's
      // own message is in the body, as JSON.
      const bare = new ApolloClient({
        link: new UploadHttpLink({ uri: `${server.url}/graphql`, headers: { 'x-user-id': 'alice' } }),
        cache: new InMemoryCache(),
      });
      const csrf = await bare
        .mutate({ mutation: UPLOAD, variables: { file: new File([coffee], 'coffee.png', { type: 'image/png' }), c } })
        .catch((e: unknown) => e);
      expect(ServerError.is(csrf)).toBe(true);
      const error = csrf as ServerError;
      expect(error.statusCode).toBe(400);
      expect(error.message).toMatch(/status code 400/);
      const body = JSON.parse(error.bodyText) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT' },
        message: expect.stringMatching(/apollo-require-preflight: true/),
      });
    } finally {
      await close();
    }
  });
});
