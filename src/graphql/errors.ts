import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerErrorCode, unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isDomainError } from '../domain/errors.js';
import type { GraphQLContext } from './context.js';

/** Codes that Apollo and the validation rules give bad requests: the client's fault, shown as they are. */
const CLIENT_CODES = new Set<string>([
  ApolloServerErrorCode.GRAPHQL_PARSE_FAILED,
  ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED,
  ApolloServerErrorCode.BAD_USER_INPUT,
  ApolloServerErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ApolloServerErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
  ApolloServerErrorCode.OPERATION_RESOLUTION_FAILURE,
  ApolloServerErrorCode.BAD_REQUEST,
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'UNSUPPORTED_MEDIA_TYPE',
  'PAYLOAD_TOO_LARGE',
]);

function isClientError(error: unknown): boolean {
  if (isDomainError(unwrapResolverError(error))) return true;
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  return typeof code === 'string' && CLIENT_CODES.has(code);
}

/**
 * The one place where errors become what a client sees. Domain errors carry their API code;
 * client errors from Apollo keep theirs; anything else is masked as INTERNAL_SERVER_ERROR (its
 * message is shown only outside production; never a stack). The X-Request-Id response header
 * links a masked error to its log line.
 */
export function createErrorFormatter(isProduction: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (isDomainError(original)) {
      return { message: original.message, locations: formatted.locations, path: formatted.path, extensions: { code: original.code } };
    }
    if (isClientError(error)) {
      const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    return {
      message: isProduction ? 'Internal server error' : `Internal server error: ${formatted.message}`,
      ...(isProduction ? {} : { path: formatted.path }),
      extensions: { code: ApolloServerErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

/** Logs every internal error once, with the request id, before it is masked. */
export const errorLoggingPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors, operationName }) {
        for (const error of errors) {
          if (isClientError(error)) continue;
          contextValue.log.error(
            { err: unwrapResolverError(error), requestId: contextValue.requestId, operationName, path: error.path },
            'internal error in a GraphQL operation',
          );
        }
      },
    };
  },
};
