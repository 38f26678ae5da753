import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config.js';
import { isDomainError } from '../domain/errors.js';
import type { Viewer } from '../domain/viewer.js';
import type { MakeContext } from '../graphql/context.js';
import type { Authenticate } from './identity.js';

/** Close codes, as graphql-ws and its clients read them. */
const UNAUTHORIZED = 4401;
const NORMAL = 1000;
const POLICY_VIOLATION = 1008;
/** A subscribe message is a query of a few hundred bytes; nothing a client sends needs more. */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** setTimeout's longest delay; a token valid for longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SubscriptionServerDeps {
  httpServer: Server;
  schema: GraphQLSchema;
  authenticate: Authenticate;
  makeContext: MakeContext;
  log: Logger;
  limits: Config['subscriptions'];
  /** The HTTP endpoint's own rules beyond graphql-js's (depth, introspection). */
  validationRules: readonly ValidationRule[];
  /** The HTTP endpoint's error formatter (src/graphql/errors.ts): one mapping for both. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  registry?: Registry;
}

interface Connection {
  viewer: Viewer;
  subscriptions: Set<string>;
  idle: NodeJS.Timeout | null;
  expiry: NodeJS.Timeout | null;
}

/**
 * GraphQL subscriptions over WebSocket on the same `/graphql` path as HTTP, in the
 * `graphql-transport-ws` protocol (the graphql-ws library). Only subscriptions: queries and
 * mutations go over HTTP, where uploads, CSRF prevention and the body limits live.
 *
 * - Identity comes in `connection_init`: `{"authorization": "Bearer <JWT>"}`, or in dev mode
 *   `{"x-user-id": "…"}` (nothing: the dev user). Checked as HTTP headers are (identity.ts);
 *   refused credentials close the socket with 4401 and the reason. A connection whose token
 *   expires is closed with 4401 at its `exp`: reconnect with a new token.
 * - Limits: SUBSCRIPTIONS_PER_CONNECTION and SUBSCRIPTIONS_PER_USER (over them a subscribe
 *   is answered with an error, BAD_USER_INPUT), WS_MAX_CONNECTIONS (over it the upgrade is
 *   refused, 503), WS_CONNECTIONS_PER_USER (over it connection_init is closed with 1008, so
 *   one user cannot use up the server's connections), WS_IDLE_TIMEOUT_SECONDS without any subscription (closed, 1000), 64 KB
 *   per message, and graphql-ws's 3 s for `connection_init` (4408).
 * - Operations are validated with the HTTP endpoint's rules, and errors are formatted by the
 *   same formatter, so codes and masking are the same on both transports.
 */
export function createSubscriptionServer(d: SubscriptionServerDeps): {
  dispose(): Promise<void>;
  connections(): number;
  subscriptions(): number;
} {
  const wss = new WebSocketServer({
    server: d.httpServer,
    path: '/graphql',
    maxPayload: MAX_MESSAGE_BYTES,
    verifyClient: (_info, done) =>
      wss.clients.size < d.limits.maxConnections
        ? done(true)
        : done(false, 503, 'Too many WebSocket connections (WS_MAX_CONNECTIONS): try again later'),
  });
  const bySocket = new WeakMap<WebSocket, Connection>();
  const perUser = new Map<string, number>();
  const connectionsOf = new Map<string, number>();
  let subscriptionCount = 0;
  const rules = [...specifiedRules, ...d.validationRules];

  const closeIdleLater = (socket: WebSocket, c: Connection) => {
    if (c.idle) clearTimeout(c.idle);
    c.idle = setTimeout(
      () => socket.close(NORMAL, `No subscription for ${d.limits.idleTimeoutMs / 1000} s (WS_IDLE_TIMEOUT_SECONDS)`),
      d.limits.idleTimeoutMs,
    );
    c.idle.unref();
  };
  const release = (socket: WebSocket, id: string) => {
    const c = bySocket.get(socket);
    if (!c || !c.subscriptions.delete(id)) return;
    subscriptionCount--;
    const left = (perUser.get(c.viewer.userId) ?? 1) - 1;
    if (left === 0) perUser.delete(c.viewer.userId);
    else perUser.set(c.viewer.userId, left);
    if (c.subscriptions.size === 0 && socket.readyState === socket.OPEN) closeIdleLater(socket, c);
  };
  const scheduleExpiry = (socket: WebSocket, c: Connection) => {
    if (!c.viewer.expiresAt) return;
    const ms = c.viewer.expiresAt.getTime() - Date.now();
    c.expiry = setTimeout(
      () =>
        ms > MAX_TIMER_MS
          ? scheduleExpiry(socket, c)
          : socket.close(UNAUTHORIZED, 'The token has expired: connect again with a new one'),
      Math.min(Math.max(ms, 0), MAX_TIMER_MS),
    );
    c.expiry.unref();
  };
  const formatted = (errors: readonly GraphQLError[]) => formatSubscriptionErrors(errors, d.formatError);
  const refuse = (message: string) => [new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } })];

  // A frame ws refuses (over MAX_MESSAGE_BYTES, or not valid WebSocket) closes the socket with
  // ws's own code; it is the client's error, logged as one line (graphql-ws, patched, no longer
  // prints a stack for it: patches/graphql-ws+6.4.2.patch).
  wss.on('connection', (socket) => {
    socket.once('error', (err: Error & { code?: string }) => {
      if (err.code?.startsWith('WS_ERR_'))
        d.log.info({ code: err.code, reason: err.message }, 'WebSocket frame refused: connection closed');
    });
  });

  const server = useServer(
    {
      schema: d.schema,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        try {
          const viewer = await d.authenticate(headersOf(ctx.connectionParams));
          if (!viewer) {
            socket.close(
              UNAUTHORIZED,
              'Credentials are required: send {"authorization": "Bearer <JWT>"} in connection_init',
            );
            return false;
          }
          const held = connectionsOf.get(viewer.userId) ?? 0;
          if (held >= d.limits.connectionsPerUser) {
            socket.close(
              POLICY_VIOLATION,
              `At most ${d.limits.connectionsPerUser} connections per user (WS_CONNECTIONS_PER_USER)`,
            );
            return false;
          }
          connectionsOf.set(viewer.userId, held + 1);
          const c: Connection = { viewer, subscriptions: new Set(), idle: null, expiry: null };
          bySocket.set(socket, c);
          closeIdleLater(socket, c);
          scheduleExpiry(socket, c);
          return true;
        } catch (e) {
          if (!isDomainError(e)) throw e;
          socket.close(UNAUTHORIZED, closeReason(e.message));
          return false;
        }
      },
      onSubscribe: (ctx, id, payload) => {
        const socket = ctx.extra.socket;
        const c = bySocket.get(socket);
        if (!c) return refuse('Not connected: send connection_init first.');
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (e) {
          return [e instanceof GraphQLError ? e : new GraphQLError(String(e))];
        }
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return refuse('The document has no operation of that name, or several and no operationName.');
        if (operation.operation !== 'subscription')
          return refuse(
            'Over WebSocket this server runs subscriptions only: send queries and mutations over HTTP (POST /graphql).',
          );
        const invalid = validate(d.schema, document, rules);
        if (invalid.length > 0) return invalid;
        if (c.subscriptions.size >= d.limits.perConnection)
          return refuse(
            `At most ${d.limits.perConnection} subscriptions per connection (SUBSCRIPTIONS_PER_CONNECTION).`,
          );
        if ((perUser.get(c.viewer.userId) ?? 0) >= d.limits.perUser)
          return refuse(
            `At most ${d.limits.perUser} subscriptions per user across connections (SUBSCRIPTIONS_PER_USER).`,
          );
        c.subscriptions.add(id);
        subscriptionCount++;
        perUser.set(c.viewer.userId, (perUser.get(c.viewer.userId) ?? 0) + 1);
        if (c.idle) clearTimeout(c.idle);
        c.idle = null;
        const requestId = randomUUID();
        return {
          schema: d.schema,
          document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          contextValue: d.makeContext({
            viewer: c.viewer,
            requestId,
            log: d.log.child({ requestId, subscription: id }),
          }),
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: formatted(result.errors) } : undefined,
      onError: (ctx, id, _payload, errors) => {
        release(ctx.extra.socket, id);
        return formatted(errors);
      },
      onComplete: (ctx, id) => release(ctx.extra.socket, id),
      onClose: (ctx) => {
        const socket = ctx.extra.socket;
        const c = bySocket.get(socket);
        if (!c) return;
        for (const id of [...c.subscriptions]) release(socket, id);
        const held = (connectionsOf.get(c.viewer.userId) ?? 1) - 1;
        if (held === 0) connectionsOf.delete(c.viewer.userId);
        else connectionsOf.set(c.viewer.userId, held);
        if (c.idle) clearTimeout(c.idle);
        if (c.expiry) clearTimeout(c.expiry);
        bySocket.delete(socket);
      },
    },
    wss,
  );

  if (d.registry) {
    const connections = () => wss.clients.size;
    new Gauge({
      name: 'his_ws_connections',
      help: 'Open WebSocket connections (subscriptions transport).',
      registers: [d.registry],
      collect() {
        this.set(connections());
      },
    });
    new Gauge({
      name: 'his_subscriptions',
      help: 'Live GraphQL subscriptions on this server.',
      registers: [d.registry],
      collect() {
        this.set(subscriptionCount);
      },
    });
  }

  return {
    connections: () => wss.clients.size,
    subscriptions: () => subscriptionCount,
    dispose: async () => {
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/**
 * The errors of a subscription, through the HTTP endpoint's formatter. An error the source
 * stream throws (a subscriber ended for falling behind) reaches here wrapped by graphql-ws in a
 * GraphQLError without a path, which the formatter would not unwrap: its domain error is passed
 * instead, so it keeps its code rather than being masked as an internal error.
 */
export function formatSubscriptionErrors(
  errors: readonly GraphQLError[],
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError,
): GraphQLFormattedError[] {
  return errors.map((e) =>
    formatError(e.toJSON(), e.path === undefined && isDomainError(e.originalError) ? e.originalError : e),
  );
}

/** connection_init's payload as the lower-cased string headers identity.ts reads. */
function headersOf(params: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(params ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
  return headers;
}

/** A WebSocket close reason holds at most 123 bytes. */
function closeReason(message: string): string {
  const bytes = Buffer.from(message);
  return bytes.length <= 123
    ? message
    : `${bytes
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD*$/, '')}…`;
}
