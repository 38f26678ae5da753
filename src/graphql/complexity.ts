import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';

/** Lists without a `first` argument (a message's images) are assumed to hold this many items. */
const ASSUMED_LIST_SIZE = 10;

/**
 * A connection costs its page size times what each item asks for, so a query's cost grows
 * with what it would really fetch: 20 conversations × 20 messages × their images is about 10k.
 */
const pagedEstimator: ComplexityEstimator = ({ args, childComplexity, field }) => {
  const first = args['first'];
  if (typeof first === 'number') return 1 + Math.max(1, first) * Math.max(1, childComplexity);
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
          const complexity = getComplexity({
            schema,
            query: document,
            operationName: request.operationName ?? undefined,
            variables: request.variables ?? {},
            estimators: [pagedEstimator, simpleEstimator({ defaultComplexity: 1 })],
          });
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
