import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { createServer, type Server } from 'node:http';
import { join, dirname } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createIdGenerator, type IdGenerator } from './domain/ids.js';
import { complexityPlugin } from './graphql/complexity.js';
import type { GraphQLContext } from './graphql/context.js';
import { createErrorFormatter, errorLoggingPlugin } from './graphql/errors.js';
import { createLoaders } from './graphql/loaders.js';
import { buildAppSchema } from './graphql/schema.js';
import { createHttpApp } from './http/app.js';
import { createFilesRouter } from './http/files-route.js';
import { createMetrics } from './http/metrics.js';
import { createAuthenticator } from './http/identity.js';
import { configureSharp, processImage } from './images/process.js';
import { ImageProcessor } from './images/processor.js';
import { probeImage } from './images/validate.js';
import { ChatService } from './services/chat-service.js';
import { ImageService } from './services/image-service.js';
import { sweepOrphanFiles } from './services/orphan-sweep.js';
import { ReplicationService } from './services/replication.js';
import { ProviderChain } from './storage/providers/chain.js';
import { providersFromConfig } from './storage/providers/from-config.js';
import { LocalFileStore } from './storage/local-file-store.js';
import { loadOrCreateFileUrlSecret } from './storage/file-url-secret.js';
import { UrlSigner } from './storage/url-signer.js';
import type { MetadataStore } from './store/metadata-store.js';
import { SqliteMetadataStore } from './store/sqlite/sqlite-store.js';

/** Everything from outside the process that tests may replace. */
export interface AppDeps {
  log: Logger;
  clock?: () => Date;
  newId?: IdGenerator;
  /** A ready-made store (tests wrap one to count round trips); default: from config. */
  store?: MetadataStore;
  /** A file store over STORAGE_DIR with injected failures (tests). */
  files?: LocalFileStore;
  /** Names this instance's replication leases (default: host, pid and random). */
  instanceId?: string;
  /** Off only in bench/read.ts, to measure what DataLoader batching saves. */
  batchLoads?: boolean;
}

export interface App {
  httpServer: Server;
  store: MetadataStore;
  /** The background replication worker; absent when no provider is enabled. */
  replication: ReplicationService | undefined;
  /** Listen on the configured host and port (port 0: any free port); resolves with the URL. */
  listen(): Promise<string>;
  /** Stop accepting, let in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), close the store. */
  stop(): Promise<void>;
}

export async function createStore(config: Config): Promise<MetadataStore> {
  if (!config.mongo) return new SqliteMetadataStore({ path: config.sqlitePath });
  // Loaded only when configured, so SQLite deployments never load the MongoDB driver.
  const { MongoMetadataStore } = await import('./store/mongo/mongo-store.js');
  return new MongoMetadataStore({ uri: config.mongo.uri, dbName: config.mongo.dbName });
}

/** The composition root: the one place that knows every concrete class. */
export async function createApp(config: Config, deps: AppDeps): Promise<App> {
  const clock = deps.clock ?? (() => new Date());
  const newId = deps.newId ?? createIdGenerator(clock, randomBytes);
  const log = deps.log;

  const store = deps.store ?? (await createStore(config));
  await store.init();

  const secret = config.fileUrlSecret ?? (await loadOrCreateFileUrlSecret(join(dirname(config.sqlitePath), 'file-url-secret')));
  const urls = new UrlSigner(secret, config.publicBaseUrl, config.fileUrlTtlSeconds, clock);
  const chat = new ChatService(store, clock, newId);

  const files = deps.files ?? new LocalFileStore({ root: config.storageDir, clock });
  await files.init();
  // Temp files and unrecorded files older than an hour belong to uploads that died with an
  // earlier process. The sweep runs in the background: it must not delay the start.
  await files.cleanupTemp(3_600_000);
  const sweeping = sweepOrphanFiles({ files, store, now: clock(), olderThanMs: 3_600_000, log }).then(
    (r) => log.info({ scanned: r.scanned, removed: r.removed.length }, 'orphan file sweep finished'),
    (err: unknown) => log.error({ err }, 'orphan file sweep failed'),
  );
  const cores = availableParallelism();
  configureSharp(cores);
  const processor = new ImageProcessor({ concurrency: cores });
  const { enabled: cloudProviders, disabled: disabledProviders } = providersFromConfig(config);
  const chain = new ProviderChain(cloudProviders, disabledProviders, {
    timeoutMs: config.cloud.timeoutMs,
    maxAttempts: config.cloud.attempts,
    backoffMs: 250,
    breakAfter: config.cloud.breakAfter,
    halfOpenAfterMs: config.cloud.halfOpenAfterMs,
  });
  const metrics = createMetrics({
    queueDepth: async () => (await store.storageStats(null)).pendingReplication,
    providers: () => chain.health(),
  });
  // A whole chain run (every provider, every attempt, the backoffs) fits well inside the lease.
  const leaseMs = config.replication.leaseMs ?? Math.max(60_000, 3 * config.cloud.timeoutMs * config.cloud.attempts * Math.max(1, cloudProviders.length));
  const replication =
    cloudProviders.length === 0
      ? undefined
      : new ReplicationService({
          store,
          readLocal: (key) => readFile(files.absolutePath(key)),
          chain,
          clock,
          random: Math.random,
          log,
          instanceId: deps.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
          options: { leaseMs, maxAttempts: config.replication.maxAttempts, backoffBaseMs: config.replication.backoffBaseMs, backoffCapMs: config.replication.backoffCapMs, pollMs: config.replication.pollMs, batchSize: 8 },
          events: metrics.events,
        });
  if (cloudProviders.length === 0) log.warn('no cloud provider has an API key: images are kept locally only (LOCAL_ONLY)');
  const imageOptions = { maxInputPixels: config.limits.maxInputPixels, imageMaxKb: config.limits.imageMaxKb, thumbnailSize: config.limits.thumbnailSize };
  const images = new ImageService({
    store,
    files,
    process: (input) =>
      processor.run(async () => processImage(input, await probeImage(input, { maxInputPixels: config.limits.maxInputPixels }), imageOptions)),
    clock,
    newId,
    randomBytes,
    limits: { maxUploadBytes: config.limits.maxUploadBytes, maxFiles: config.limits.maxFiles, uploadIdleTimeoutMs: config.limits.uploadIdleTimeoutMs },
    log,
    ...(replication ? { replication } : {}),
  });

  if (config.auth.mode === 'dev') {
    log.warn('dev identity mode: X-User-Id is trusted without proof. Set AUTH_JWT_SECRET or AUTH_JWKS_URL before exposing this server.');
  }

  const schema = await buildAppSchema();
  const httpServer = createServer();
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.introspection,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    formatError: createErrorFormatter(config.isProduction),
    validationRules: [
      maxDepthRule({
        n: config.limits.maxQueryDepth,
        ignoreIntrospection: true,
        exposeLimits: true,
        // Reported as a validation error (400) instead of thrown, which Apollo would turn into a 500.
        propagateOnRejection: false,
        onReject: [(context, error) => context?.reportError(error)],
      }),
    ],
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
      // The default landing page loads from a CDN that may be unreachable; GraphiQL is served locally instead.
      ApolloServerPluginLandingPageDisabled(),
      // Responses are per user and never HTTP-cached; the default cache-control plugin would
      // still wrap every field resolver (1,600 images × 20 fields in the chat view).
      ApolloServerPluginCacheControlDisabled(),
      complexityPlugin(schema, config.limits.maxQueryComplexity),
      errorLoggingPlugin,
    ],
  });
  await apollo.start();

  const app = createHttpApp({
    log,
    apollo,
    authenticate: createAuthenticator(config.auth),
    contextBase: () => ({ chat, images, urls, replication, providers: () => chain.health(), loaders: createLoaders(chat, { batch: deps.batchLoads ?? true }) }),
    metrics: metrics.registry,
    upload: { maxFileBytes: config.limits.maxUploadBytes, maxFiles: config.limits.maxFiles },
    filesRouter: createFilesRouter({
      files,
      signer: urls,
      clock,
      log,
      lookup: async (key) => {
        const image = await store.findImageByFileKey(key);
        if (!image) return null;
        // Files of the older app have no digest yet: their key (never reused) stands in, so two
        // such files never share an ETag. Thumbnails are always WebP.
        const digest = image.sha256 || `key-${createHash('sha256').update(key).digest('hex')}`;
        return image.localKey === key ? { mimeType: image.mimeType, sha256: digest } : { mimeType: 'image/webp', sha256: `${digest}-thumb` };
      },
    }),
    ready: () => store.ping(),
    maxJsonBodyBytes: config.limits.maxJsonBodyBytes,
    corsOrigins: config.corsOrigins,
  });
  httpServer.on('request', app);
  // Keep idle connections longer than the usual proxy idle timeout (60 s): a server that
  // closes first races clients reusing the socket, which then see ECONNRESET.
  httpServer.keepAliveTimeout = 65_000;
  // A client that opens a request and never finishes its headers must not hold a socket forever.
  httpServer.headersTimeout = 66_000;
  httpServer.requestTimeout = 300_000;

  let stopping: Promise<void> | null = null;
  return {
    httpServer,
    store,
    replication,
    listen: () =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off('error', reject);
          const address = httpServer.address();
          const port = typeof address === 'object' && address ? address.port : config.port;
          const host = config.host.includes(':') ? `[${config.host}]` : config.host;
          replication?.start();
          resolve(`http://${host}:${port}`);
        });
      }),
    stop: () => {
      stopping ??= (async () => {
        await replication?.stop();
        await apollo.stop();
        await sweeping;
        await store.close();
      })();
      return stopping;
    },
  };
}
