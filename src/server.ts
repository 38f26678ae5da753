import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { Config } from './config.js';
import { createCore, type Core, type CoreDeps } from './core.js';
import { complexityPlugin } from './graphql/complexity.js';
import type { GraphQLContext } from './graphql/context.js';
import { mutationLimitsPlugin } from './graphql/mutation-limits.js';
import {
  createErrorFormatter,
  errorLoggingPlugin,
  introspectionOffRule,
  notFoundHintPlugin,
  subscriptionsOverHttpRule,
} from './graphql/errors.js';
import { createLoaders } from './graphql/loaders.js';
import { buildAppSchema } from './graphql/schema.js';
import { createHttpApp } from './http/app.js';
import { createFilesRouter } from './http/files-route.js';
import { createAuthenticator } from './http/identity.js';
import { DEV_USER } from './domain/viewer.js';
import { createLegacyStaticRouter } from './http/legacy-static-route.js';
import { createDemoRouter } from './http/demo.js';
import { createPlaygroundRouter } from './http/playground.js';
import { createSubscriptionServer } from './http/subscriptions.js';
import { ChangeFeed } from './events/feed.js';
import { ORPHAN_MIN_AGE_MS, sweepOrphanFiles } from './maintenance/orphan-sweep.js';
import { fileRecords } from './files/file-records.js';
import type { ReplicationService } from './workers/replication.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import { errorBody } from './http/error-body.js';

export interface AppDeps extends CoreDeps {
  /** Off only in bench/read.ts, to measure what DataLoader batching saves. */
  batchLoads?: boolean;
}

export interface App {
  httpServer: Server;
  store: MetadataStore;
  /** The background replication worker; absent when no provider is enabled. */
  replication: ReplicationService | undefined;
  /** Every service, for tests and tools that drive them directly. */
  core: Core;
  /** The WebSocket endpoint's counts (src/http/subscriptions.ts). */
  subscriptions: { connections(): number; subscriptions(): number };
  /** Listen on the configured host and port (port 0: any free port); resolves with the URL. */
  listen(): Promise<string>;
  /** Stop accepting, let in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), close the store. */
  stop(): Promise<void>;
}

/** The HTTP server over the core (core.ts): GraphQL, /files, health and metrics. */
export async function createApp(config: Config, deps: AppDeps): Promise<App> {
  const core = await createCore(config, deps);
  const { store, files, urls, chat, images, chain, metrics, replication, deletion, restore, cleanup, log, clock } =
    core;
  // Temp files and unrecorded files older than an hour belong to uploads that died with an
  // earlier process. The sweep runs in the background: it must not delay the start.
  await files.cleanupTemp(ORPHAN_MIN_AGE_MS);
  const sweeping = sweepOrphanFiles({ files, store, now: clock(), olderThanMs: ORPHAN_MIN_AGE_MS, log }).then(
    (r) =>
      log.info(
        { scanned: r.scanned, removed: r.removed.length, unrecorded: r.unrecorded.length, failed: r.failed },
        'orphan file sweep finished',
      ),
    (err: unknown) => log.error({ err }, 'orphan file sweep failed'),
  );
  // The seed chatbot's documents may name no owner at all: said once at start, never guessed.
  const ownerless =
    store.kind === 'mongo'
      ? store.countOwnerlessImages().then(
          (n) => {
            if (n > 0)
              log.warn(
                { ownerlessImages: n },
                'images of messages that name no owner (no user_id on the message nor its conversation): only admins see them; set LEGACY_DEFAULT_OWNER to give them one',
              );
          },
          (err: unknown) => log.warn({ err }, 'counting ownerless images failed'),
        )
      : Promise.resolve();
  if (!replication)
    log.warn(
      'no cloud provider is configured (an API key, or S3_BUCKET for s3): images are kept locally only (LOCAL_ONLY)',
    );
  else {
    const active = chain.order.map(({ name, budget: b }) =>
      b ? `${name.toLowerCase()} (${b.limit}/${b.per})` : name.toLowerCase(),
    );
    log.info({ providers: chain.names }, `cloud providers, in order: ${active.join(', ')}`);
  }
  if (chain.names.includes('POSTIMAGES')) {
    log.warn(
      "PostImages' terms of use forbid automatic/programmatic uploads (https://postimages.org/terms): use an S3 bucket in production (README: Cloud copies)",
    );
  }

  if (config.auth.mode === 'dev') {
    log.warn(
      'dev identity mode: X-User-Id is trusted without proof. Set AUTH_JWT_SECRET or AUTH_JWKS_URL before exposing this server.',
    );
  }

  const schema = await buildAppSchema();
  const httpServer = createServer();
  const formatError = createErrorFormatter({ isProduction: config.isProduction, introspection: config.introspection });
  // The rules both transports validate with, beyond graphql-js's own.
  const validationRules = [
    ...(config.introspection ? [] : [introspectionOffRule]),
    maxDepthRule({
      n: config.limits.maxQueryDepth,
      ignoreIntrospection: true,
      exposeLimits: true,
      // Reported as a validation error (400) instead of thrown, which Apollo would turn into a 500.
      propagateOnRejection: false,
      onReject: [(context, error) => context?.reportError(error)],
    }),
  ];
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    // Apollo's switch only adds a validation rule refusing every `__schema` and `__type`. With
    // introspection off, introspectionOffRule (below) refuses them instead, letting through the
    // one harmless form, `__type(name: "X") { name }` (see graphql/errors.ts).
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError,
    validationRules: [subscriptionsOverHttpRule, ...validationRules],
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
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
  await apollo.start();

  const authenticate = createAuthenticator(config.auth);
  // One reader of the change log for this process's subscriptions (src/events/feed.ts).
  const feed = new ChangeFeed(core.changes, {
    pollMs: config.subscriptions.pollMs,
    wake: core.wake,
    log,
    maxQueue: 1000,
  });
  const contextBase = () => ({
    chat,
    images,
    urls,
    cloudLink: core.links.link,
    replication,
    deletion,
    restore,
    cleanup,
    feed,
    providers: () => chain.health(),
    loaders: createLoaders(chat, { batch: deps.batchLoads ?? true }),
  });
  const subscriptions = createSubscriptionServer({
    httpServer,
    schema,
    authenticate,
    contextBase,
    log,
    limits: config.subscriptions,
    validationRules,
    formatError,
    registry: metrics.registry,
  });
  const app = createHttpApp({
    log,
    apollo,
    authenticate,
    contextBase,
    ...(config.metrics.mode === 'off'
      ? {}
      : {
          metrics: { registry: metrics.registry, token: config.metrics.mode === 'token' ? config.metrics.token : null },
        }),
    upload: { maxFileBytes: config.limits.maxUploadBytes, maxFiles: config.limits.maxFiles },
    filesRouter: createFilesRouter({
      files,
      signer: urls,
      clock,
      log,
      cloudRedirect: core.links.redirect,
      ...(config.filesAccelRedirectPrefix ? { accelRedirectPrefix: config.filesAccelRedirectPrefix } : {}),
      lookup: fileRecords(store),
    }),
    ...(config.legacyStaticLinks
      ? {
          legacyStaticRouter: createLegacyStaticRouter({
            authenticate,
            lookup: (key) => store.findImageByFileKey(key),
            cloudRedirect: core.links.redirect,
            cloudUrlPublic: core.links.isPublic,
            signedUrl: (key) => urls.url(key),
            log,
          }),
        }
      : {}),
    // GraphiQL needs introspection to show the schema: it is served exactly when introspection is on.
    ...(config.introspection
      ? {
          playground: createPlaygroundRouter({
            headers: config.auth.mode === 'dev' ? { 'x-user-id': DEV_USER } : { authorization: 'Bearer <your JWT>' },
          }),
        }
      : {}),
    demo: createDemoRouter(),
    ready: () => store.ping(),
    maxJsonBodyBytes: config.limits.maxJsonBodyBytes,
    credentialsBeforeBody: config.isProduction,
    corsOrigins: config.corsOrigins,
  });
  httpServer.on('request', app);
  // Keep idle connections longer than the usual proxy idle timeout (60 s): a server that
  // closes first races clients reusing the socket, which then see ECONNRESET.
  httpServer.keepAliveTimeout = 65_000;
  // A client that opens a request and never finishes its headers must not hold a socket forever.
  httpServer.headersTimeout = 66_000;
  httpServer.requestTimeout = 300_000;
  httpServer.on('clientError', answerClientError);

  let stopping: Promise<void> | null = null;
  return {
    httpServer,
    store,
    replication,
    core,
    subscriptions,
    listen: () =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off('error', reject);
          const address = httpServer.address();
          const port = typeof address === 'object' && address ? address.port : config.port;
          const host = config.host.includes(':') ? `[${config.host}]` : config.host;
          core.startWorkers();
          feed.start();
          resolve(`http://${host}:${port}`);
        });
      }),
    stop: () => {
      stopping ??= (async () => {
        await core.stopWorkers();
        await subscriptions.dispose();
        await feed.stop();
        await apollo.stop();
        await sweeping;
        await ownerless;
        await store.close();
      })();
      return stopping;
    },
  };
}

/**
 * Node's own answer to a request it cannot parse (bad header bytes, a body shorter than its
 * Content-Length, headers too large or too slow) is a bare status line. This gives it the
 * JSON error shape and a code like every other refusal, then closes the socket.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'The request headers are too large.']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'The request was not received in time.']
        : [400, 'Bad Request', 'The request is not valid HTTP.'];
  const body = JSON.stringify(errorBody('BAD_USER_INPUT', message));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
