import type { Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { Config } from '../config.js';
import { complexityPlugin } from './complexity.js';
import type { GraphQLContext } from './context.js';
import { errorLoggingPlugin, introspectionOffRule, notFoundHintPlugin, subscriptionsOverHttpRule } from './errors.js';
import { mutationLimitsPlugin } from './mutation-limits.js';

/** The rules both transports (HTTP and WebSocket) validate with, beyond graphql-js's own. */
export function validationRulesFromConfig(config: Config): ValidationRule[] {
  return [
    ...(config.introspection ? [] : [introspectionOffRule]),
    maxDepthRule({
      n: config.limits.maxQueryDepth,
      ignoreIntrospection: true,
      exposeLimits: true,
      // Reported as a validation error (400) instead of thrown, which Apollo would turn into a 500.
      // graphql-armor words it "Syntax Error: Query depth limit of 12 exceeded, found 20.", but
      // such a query parses: the message says what is wrong and what to do instead.
      propagateOnRejection: false,
      onReject: [
        (context, error) =>
          context?.reportError(
            new GraphQLError(
              `The query is nested too deeply: ${error.message.replace(/^Syntax Error: /, '').replace(/\.$/, '')} (MAX_QUERY_DEPTH). Ask for fewer levels of nested fields, and page in separate queries.`,
            ),
          ),
      ],
    }),
  ];
}

/** Apollo Server for GraphQL over HTTP, with this project's limits, errors and plugins; not yet started. */
export function createApollo(o: {
  schema: GraphQLSchema;
  httpServer: Server;
  config: Config;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  validationRules: ValidationRule[];
}): ApolloServer<GraphQLContext> {
  const { schema, config } = o;
  return new ApolloServer<GraphQLContext>({
    schema,
    // Apollo's switch only adds a validation rule refusing every `__schema` and `__type`. With
    // introspection off, introspectionOffRule (validationRulesFromConfig) refuses them instead,
    // letting through the one harmless form, `__type(name: "X") { name }` (see graphql/errors.ts).
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError: o.formatError,
    validationRules: [subscriptionsOverHttpRule, ...o.validationRules],
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: o.httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
      // The default landing page loads from a CDN that may be unreachable; GraphiQL is served locally instead.
      ApolloServerPluginLandingPageDisabled(),
      // Responses are per user and never HTTP-cached; the default cache-control plugin would
      // still wrap every field resolver (1,600 images × 20 fields in the chat view).
      ApolloServerPluginCacheControlDisabled(),
      complexityPlugin(schema, config.limits.maxQueryComplexity),
      mutationLimitsPlugin(schema, config.limits.maxFiles),
      errorLoggingPlugin,
      notFoundHintPlugin(config.auth.mode),
    ],
  });
}
