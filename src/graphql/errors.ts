import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerErrorCode, ApolloServerValidationErrorCode, unwrapResolverError } from '@apollo/server/errors';
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type GraphQLFormattedError,
  type ValidationContext,
} from 'graphql';
import { redactPaths } from '../domain/redact.js';
import { isDomainError } from '../domain/errors.js';
import type { GraphQLContext } from './context.js';
import { DEV_USER } from '../domain/viewer.js';

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

/**
 * graphql-upload-minimal's HttpError, reaching a resolver when the multipart body turned out
 * malformed after the operation had started (a broken file part, a body cut short) or a file
 * went over its limits. The parser's messages describe the body, so they are shown.
 */
export function multipartError(
  error: unknown,
): { status: number; code: 'BAD_USER_INPUT' | 'PAYLOAD_TOO_LARGE'; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const e = error as Error & { status?: unknown; expose?: unknown };
  if (e.expose !== true || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) return undefined;
  // 499 is the parser's "client went away": a 400 to whoever is still listening.
  const status = e.status === 499 ? 400 : e.status;
  // The parser is given MAX_UPLOAD_BYTES + 1 (src/http/app.ts), so that a file of exactly the
  // limit passes: its message would quote that number. Said as the upload path says it.
  const truncated = /^File truncated as it exceeds the (\d+) byte size limit\.$/.exec(e.message);
  const message = truncated
    ? `The file is larger than the ${Number(truncated[1]) - 1} bytes accepted (MAX_UPLOAD_BYTES).`
    : e.message;
  return { status, code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_USER_INPUT', message };
}

function isClientError(error: unknown): boolean {
  const original = unwrapResolverError(error);
  if (isDomainError(original) || multipartError(original)) return true;
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  return typeof code === 'string' && CLIENT_CODES.has(code);
}

/**
 * The one place where errors become what a client sees. Domain errors carry their API code;
 * client errors from Apollo keep theirs; anything else is masked as INTERNAL_SERVER_ERROR (its
 * message is shown only outside production; never a stack). The X-Request-Id response header
 * links a masked error to its log line. In every mode, file-system paths are cut from messages;
 * with introspection off, so are graphql-js's "Did you mean ...?" hints, which would otherwise
 * spell out the schema one guess at a time.
 */
export function createErrorFormatter(o: { isProduction: boolean; introspection: boolean }) {
  const clean = (message: string) => redactPaths(o.introspection ? message : withoutSuggestions(message));
  const format = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (isDomainError(original)) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: original.code },
      };
    }
    const multipart = multipartError(original);
    if (multipart) {
      return {
        message: multipart.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: multipart.code },
      };
    }
    if (isClientError(error)) {
      const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    return {
      message: o.isProduction ? 'Internal server error' : `Internal server error: ${formatted.message}`,
      ...(o.isProduction ? {} : { path: formatted.path }),
      extensions: { code: ApolloServerErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const out = format(formatted, error);
    return { ...out, message: clean(out.message) };
  };
}

/** graphql-js appends suggestions as one last sentence: ` Did you mean "a" or "b"?` */
function withoutSuggestions(message: string): string {
  return message.replace(/ Did you mean [^?]*\?$/, '');
}

/**
 * Subscriptions run over WebSocket (src/http/subscriptions.ts). Sent to the HTTP endpoint, a
 * `subscription` operation would reach Apollo, which cannot run one and would answer an
 * internal error; this refuses it during validation, with the client's code and where to go.
 */
export function subscriptionsOverHttpRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      if (node.operation === 'subscription') {
        context.reportError(
          new GraphQLError(
            'Subscriptions run over WebSocket: connect to ws://<host>/graphql with the graphql-transport-ws protocol (the graphql-ws library); over HTTP send a query or a mutation.',
            { nodes: [node] },
          ),
        );
      }
    },
  };
}

/**
 * Introspection off (GRAPHQL_INTROSPECTION=false, the production default), in place of
 * Apollo's own switch. Apollo's refuses every `__schema` and every `__type`, even
 * `__type(name: "X") { name }`, which only answers whether a type of that name exists: that
 * much every GraphQL server tells anyone already, through its validation errors (`Unknown type
 * "X"` for a variable or a fragment of that type). Refusing it broke GraphQL-over-HTTP clients
 * and audits that use it as a harmless probe (graphql-http's BF61 and 28B9, MUSTs:
 * test/integration/graphql-http-audit.test.ts). This refuses `__schema` and every `__type`
 * that asks for anything but `name` and `__typename` (no `kind`, `description`, `fields`, no
 * fragment), so the schema still cannot be read through introspection.
 */
export function introspectionOffRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const name = node.name.value;
      if (name === '__schema' || (name === '__type' && !asksOnlyTheName(node))) {
        context.reportError(
          new GraphQLError(
            'GraphQL introspection is disabled on this server: `__schema` is refused, and `__type` may ask only for `name`.',
            {
              nodes: [node],
              extensions: { validationErrorCode: ApolloServerValidationErrorCode.INTROSPECTION_DISABLED },
            },
          ),
        );
      }
    },
  };
}

function asksOnlyTheName(node: FieldNode): boolean {
  const selections = node.selectionSet?.selections ?? [];
  return selections.every((s) => s.kind === Kind.FIELD && (s.name.value === 'name' || s.name.value === '__typename'));
}

/** Logs every internal error once, with the request id, before it is masked. */
export const errorLoggingPlugin: ApolloServerPlugin<GraphQLContext> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors, operationName, response }) {
        // A malformed multipart body is the request's fault as a whole: answer it with the
        // parser's 4xx, as a body refused before the operation started would be.
        const multipart = errors.map((e) => multipartError(unwrapResolverError(e))).filter((m) => m !== undefined);
        if (multipart.length > 0) response.http.status = Math.max(...multipart.map((m) => m.status));
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

/**
 * A NOT_FOUND says whose request it was: the usual cause, a newcomer's data seeming to vanish,
 * is asking as another user (another X-User-Id, or none, which is "dev" in dev mode). Said the
 * same for an id that does not exist and one owned by someone else, so it tells nothing about
 * other users' data. The user id is also in `extensions.userId`.
 */
export function notFoundHintPlugin(mode: 'dev' | 'jwt'): ApolloServerPlugin<GraphQLContext> {
  const source = mode === 'dev' ? `from X-User-Id, "${DEV_USER}" when it is absent` : "the token's sub";
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const viewer = contextValue.viewer;
          if (!viewer || response.body.kind !== 'single') return;
          const errors = response.body.singleResult.errors;
          if (!errors?.some((e) => e.extensions?.['code'] === 'NOT_FOUND')) return;
          response.body.singleResult.errors = errors.map((e) =>
            e.extensions?.['code'] === 'NOT_FOUND'
              ? {
                  ...e,
                  message: `${e.message} Only its owner can see it, and this request is user "${viewer.userId}" (${source}).`,
                  extensions: { ...e.extensions, userId: viewer.userId },
                }
              : e,
          );
        },
      };
    },
  };
}
