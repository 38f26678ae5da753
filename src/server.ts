import 'reflect-metadata';
import type { Server } from 'node:http';
import type { Config } from './config.js';
import { createCore, type Core, type CoreDeps } from './core.js';
import { ChangeFeed } from './events/feed.js';
import { createApollo, validationRulesFromConfig } from './graphql/apollo.js';
import type { MakeContext } from './graphql/context.js';
import { createErrorFormatter } from './graphql/errors.js';
import { createLoaders } from './graphql/loaders.js';
import { buildAppSchema } from './graphql/schema.js';
import { createHttpApp } from './http/app.js';
import { createAuthenticator } from './http/identity.js';
import { createNodeServer } from './http/node-server.js';
import { routersFromConfig } from './http/routers.js';
import { createSubscriptionServer } from './http/subscriptions.js';
import { announceConfiguration, runStartupPasses } from './maintenance/startup.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import type { ReplicationService } from './workers/replication.js';

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
  const { store, chat, images, urls, chain, metrics, replication, deletion, restore, cleanup, log } = core;
  const startup = await runStartupPasses(core);
  announceConfiguration(config, { chain, replication, log });

  const schema = await buildAppSchema();
  const httpServer = createNodeServer();
  const formatError = createErrorFormatter({ isProduction: config.isProduction, introspection: config.introspection });
  const validationRules = validationRulesFromConfig(config);
  const apollo = createApollo({ schema, httpServer, config, formatError, validationRules });
  await apollo.start();

  const authenticate = createAuthenticator(config.auth);
  // One reader of the change log for this process's subscriptions (src/events/feed.ts).
  const feed = new ChangeFeed(core.changes, {
    pollMs: config.subscriptions.pollMs,
    wake: core.wake,
    log,
    maxQueue: 1000,
  });
  const makeContext: MakeContext = (request) => ({
    viewer: request.viewer,
    requestId: request.requestId,
    log: request.log,
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
    makeContext,
    log,
    limits: config.subscriptions,
    validationRules,
    formatError,
    registry: metrics.registry,
  });
  const metricsRoute =
    config.metrics.mode === 'off'
      ? {}
      : {
          metrics: { registry: metrics.registry, token: config.metrics.mode === 'token' ? config.metrics.token : null },
        };
  const app = createHttpApp({
    log,
    apollo,
    authenticate,
    makeContext,
    ...metricsRoute,
    ...routersFromConfig(config, core, authenticate),
    upload: { maxFileBytes: config.limits.maxUploadBytes, maxFiles: config.limits.maxFiles },
    ready: () => store.ping(),
    maxJsonBodyBytes: config.limits.maxJsonBodyBytes,
    credentialsBeforeBody: config.isProduction,
    corsOrigins: config.corsOrigins,
  });
  httpServer.on('request', app);

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
        await startup.settled;
        await store.close();
      })();
      return stopping;
    },
  };
}
