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

/** Builds the executable schema from the type-graphql classes. Also emitted to schema/schema.graphql. */
export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [ConversationResolver, MessageResolver, ImageResolver, UploadResolver, MaintenanceResolver, ProviderResolver, ReplicationResolver],
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    // Inputs are validated by hand where rules exist (ids, page sizes); class-validator is not used.
    validate: false,
  });
}
