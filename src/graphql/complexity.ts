import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { MAX_PAGE_SIZE } from './args.js';
import { createRequire } from 'node:module';
import type * as QueryComplexity from 'graphql-query-complexity';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import { messageOf } from '../domain/errors.js';

// The ESM build of graphql-query-complexity imports graphql's .mjs files, while type-graphql
// and Apollo run on graphql's CommonJS build; graphql refuses schema objects from the other
// build ("from another module or realm"). Its CommonJS build shares our graphql instance.
const { getComplexity, simpleEstimator } = createRequire(import.meta.url)(
  'graphql-query-complexity',
) as typeof QueryComplexity;

/** Lists without a `first` argument (a message's images) are assumed to hold this many items. */
const ASSUMED_LIST_SIZE = 4;

/**
 * A connection costs its page size times what each item asks for, so a query's cost grows
 * with what it would really fetch: 20 conversations × 20 messages × their images is about 10k.
 */
const pagedEstimator: ComplexityEstimator = ({ args, childComplexity, field }) => {
  const first = args['first'];
  // Clamped: a `first` outside 1..100 is refused by the resolver with a clearer BAD_USER_INPUT.
  if (typeof first === 'number') return 1 + Math.min(Math.max(1, first), MAX_PAGE_SIZE) * Math.max(1, childComplexity);
  // A connection's edges are already multiplied by its `first`.
  if (field.name === 'edges') return 1 + childComplexity;
  if (String(field.type).replace(/!$/, '').startsWith('[')) {
    return 1 + ASSUMED_LIST_SIZE * Math.max(1, childComplexity);
  }
  return undefined;
};

/** Refuses an operation whose estimated cost is over the limit, before anything is resolved. */
export function complexityPlugin(schema: GraphQLSchema, maxComplexity: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          let complexity: number;
          try {
            complexity = getComplexity({
              schema,
              query: document,
              operationName: request.operationName ?? undefined,
              variables: request.variables ?? {},
              estimators: [pagedEstimator, simpleEstimator({ defaultComplexity: 1 })],
            });
          } catch (e) {
            // getComplexity coerces the variables first; bad ones are the client's error.
            throw new GraphQLError(messageOf(e), {
              extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
            });
          }
          if (complexity > maxComplexity) {
            throw new GraphQLError(
              `The query is too expensive: its estimated cost is ${complexity}, the limit is ${maxComplexity}. Ask for fewer items per page (first) or fewer nested fields.`,
              { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}
