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

/** Builds the executable schema from the type-graphql classes. Also emitted to schema/schema.graphql. */
export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
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
}
