import 'reflect-metadata';
import { DateTimeResolver } from 'graphql-scalars';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { ConversationResolver } from './resolvers/conversation.resolver.js';
import { ImageResolver } from './resolvers/image.resolver.js';
import { MaintenanceResolver } from './resolvers/maintenance.resolver.js';
import { MessageResolver } from './resolvers/message.resolver.js';
import { ProviderResolver } from './resolvers/provider.resolver.js';
import { ReplicationResolver } from './resolvers/replication.resolver.js';
import { UploadResolver } from './resolvers/upload.resolver.js';
import { EventsResolver } from './resolvers/events.resolver.js';

const UNUSED_PUBSUB = {
  publish: () => {
    throw new Error('subscriptions read the change feed (src/events/feed.ts), not a PubSub');
  },
  subscribe: () => {
    throw new Error('subscriptions read the change feed (src/events/feed.ts), not a PubSub');
  },
};

/**
 * The root types' descriptions: type-graphql builds Query, Mutation and Subscription itself and
 * takes no description for them, so they are set on the built schema.
 */
const ROOT_DESCRIPTIONS = {
  Query:
    "Reads. A caller sees only their own data (an admin: everyone's); someone else's id answers exactly as a missing one (NOT_FOUND).",
  Mutation:
    'Writes: conversations, messages, image uploads and deletion, and the admin-only maintenance (restore, cleanup, replication).',
  Subscription:
    'Live updates over WebSocket (graphql-transport-ws at /graphql): images and messages of one of your conversations.',
} as const;

/** Builds the executable schema from the type-graphql classes. Also emitted to schema/schema.graphql. */
export async function buildAppSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      ConversationResolver,
      MessageResolver,
      ImageResolver,
      UploadResolver,
      MaintenanceResolver,
      ProviderResolver,
      ReplicationResolver,
      EventsResolver,
    ],
    // Every subscription brings its own source (EventsResolver); type-graphql still asks for a
    // PubSub, which nothing uses.
    pubSub: UNUSED_PUBSUB,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    // Inputs are validated by hand where rules exist (ids, page sizes); class-validator is not used.
    validate: false,
  });
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (root) root.description = ROOT_DESCRIPTIONS[root.name as keyof typeof ROOT_DESCRIPTIONS];
  }
  return schema;
}
