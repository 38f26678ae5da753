import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createIdGenerator, type IdGenerator } from './domain/ids.js';
import { createMetrics } from './http/metrics.js';
import { configureSharp, processImage } from './images/process.js';
import { ImageProcessor } from './images/processor.js';
import { thumbnailFormatOf, thumbnailOf } from './images/thumbnail.js';
import { probeImage } from './images/validate.js';
import { ChatService } from './services/chat-service.js';
import { CleanupService } from './maintenance/cleanup.js';
import { DeletionService, type CloudDeleter } from './services/deletion.js';
import { ImageService } from './services/image-service.js';
import { Poller } from './workers/poller.js';
import { ReconcileService } from './maintenance/reconcile.js';
import { ReplicationService } from './workers/replication.js';
import { RestoreService } from './maintenance/restore.js';
import { originRefusal } from './cloud/allowed-origins.js';
import { downloadToFile, sha256File } from './cloud/download.js';
import { loadOrCreateFileUrlSecret } from './files/file-url-secret.js';
import { LocalFileStore } from './files/local-file-store.js';
import { ProviderBudget } from './cloud/budget.js';
import { ProviderChain } from './cloud/chain.js';
import { providersFromConfig } from './cloud/from-config.js';
import { ProviderError, settingOf } from './cloud/provider.js';
import { S3Provider } from './cloud/s3.js';
import { UrlSigner } from './files/url-signer.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import { WakeSignal, type ChangeLog } from './metadata/change-log.js';
import { recordingStore } from './events/recording-store.js';
import type { ImageRecord } from './domain/types.js';
import { SqliteMetadataStore } from './metadata/sqlite/sqlite-store.js';

/** Everything from outside the process that tests may replace. */
export interface CoreDeps {
  log: Logger;
  clock?: () => Date;
  newId?: IdGenerator;
  /** A ready-made store (tests wrap one to count round trips); default: from config. */
  store?: MetadataStore;
  /** A file store over STORAGE_DIR with injected failures (tests). */
  files?: LocalFileStore;
  /** Names this instance's leases (default: host, pid and random). */
  instanceId?: string;
  /**
   * Images processed at once, instead of one per core (tests of the queue's policy, which needs at
   * least two slots to keep one for small images, on a machine of any size).
   */
  imageConcurrency?: number;
  /** Delay before the first daily cleanup and the first reconcile pass (default a minute; tests shorten it). */
  timersFirstDelayMs?: number;
}

/**
 * Pixels (of every frame) above which an image is a heavy job for the processing queue: about
 * a 48 MP phone photo, or an animation of a few hundred frames. Heavy jobs never hold the last
 * queue slot, so small uploads keep flowing past them (src/images/processor.ts).
 */
export const HEAVY_JOB_PIXELS = 40_000_000;

export async function createStore(config: Config): Promise<MetadataStore> {
  if (!config.mongo)
    return new SqliteMetadataStore({ path: config.sqlitePath, busyTimeoutMs: config.sqliteBusyTimeoutMs });
  // Loaded only when configured, so SQLite deployments never load the MongoDB driver.
  const { MongoMetadataStore } = await import('./metadata/mongo/mongo-store.js');
  return new MongoMetadataStore({
    uri: config.mongo.uri,
    dbName: config.mongo.dbName,
    legacyDefaultOwner: config.legacyDefaultOwner,
  });
}

export type Core = Awaited<ReturnType<typeof createCore>>;

/**
 * The composition root of everything but HTTP: the one place that knows every concrete class.
 * The server (app.ts) and the CLI (cli/) both build on it, so they run the same services.
 */
export async function createCore(config: Config, deps: CoreDeps) {
  const clock = deps.clock ?? (() => new Date());
  const newId = deps.newId ?? createIdGenerator(clock, randomBytes);
  const log = deps.log;
  const instanceId = deps.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  const stored = deps.store ?? (await createStore(config));
  await stored.init();
  // Every write a live client cares about also goes to the change log (src/events/).
  const wake = new WakeSignal();
  const store = recordingStore(stored, { changes: stored, wake, log });
  const secret =
    config.fileUrlSecret ?? (await loadOrCreateFileUrlSecret(join(dirname(config.sqlitePath), 'file-url-secret')));
  const urls = new UrlSigner(secret, config.publicBaseUrl, config.fileUrlTtlSeconds, clock);
  const chat = new ChatService(store, clock, newId);
  const files = deps.files ?? new LocalFileStore({ root: config.storageDir, clock });
  await files.init();

  const cores = availableParallelism();
  // One image per core, but never all of libuv's threads: file reads and writes need one.
  const slots = configureSharp(cores);
  const processor = new ImageProcessor({ concurrency: deps.imageConcurrency ?? slots });
  const { enabled: cloudProviders, disabled: disabledProviders } = providersFromConfig(config);
  const metrics = createMetrics({
    queueDepth: () => store.countPendingReplication(),
    providers: () => chain.health(),
    clock,
  });
  // Counted in the store, so every process on it shares each provider's window.
  const budgets = cloudProviders.flatMap((p) => {
    const spec = config.cloud.budgets[settingOf(p.name)];
    return spec ? [new ProviderBudget(p.name, spec, store, clock)] : [];
  });
  const budgetLogged = new Map<string, number>();
  const chain = new ProviderChain(cloudProviders, disabledProviders, {
    timeoutMs: config.cloud.timeoutMs,
    maxAttempts: config.cloud.attempts,
    backoffMs: 250,
    breakAfter: config.cloud.breakAfter,
    halfOpenAfterMs: config.cloud.halfOpenAfterMs,
    onMisconfigured: (provider, reason) =>
      log.error(
        { provider, reason },
        'a cloud provider is misconfigured: not retried, the chain moves on; fix its settings',
      ),
    budgets,
    onBudgetSkip: (provider, reason, resetsAt) => {
      metrics.onBudgetSkip(provider);
      // Once per provider and window, not once per upload.
      if (budgetLogged.get(provider) === resetsAt.getTime()) return;
      budgetLogged.set(provider, resetsAt.getTime());
      log.warn(
        { provider, reason, resetsAt },
        'a cloud provider is skipped: its upload budget for this window is spent',
      );
    },
  });
  // A whole chain run (every provider, every attempt, the backoffs) fits well inside the lease.
  const leaseMs =
    config.replication.leaseMs ??
    Math.max(60_000, 3 * config.cloud.timeoutMs * config.cloud.attempts * Math.max(1, cloudProviders.length));
  const backoff = {
    backoffBaseMs: config.replication.backoffBaseMs,
    backoffCapMs: config.replication.backoffCapMs,
    pollMs: config.replication.pollMs,
  };

  const cloudDeleter: CloudDeleter = {
    canDelete: (service) => service !== 'LOCAL' && typeof chain.providerNamed(service)?.delete === 'function',
    delete: async (service, copy) => {
      const provider = service === 'LOCAL' ? undefined : chain.providerNamed(service);
      if (!provider?.delete) throw new ProviderError(`${service} offers no deletion here`, false);
      await provider.delete(
        { url: copy.url, deleteUrl: copy.deleteUrl, providerId: null },
        AbortSignal.timeout(config.cloud.timeoutMs),
      );
    },
  };
  const deletion = new DeletionService({
    store,
    files,
    cloud: cloudDeleter,
    clock,
    random: Math.random,
    log,
    instanceId,
    options: {
      leaseMs: config.replication.leaseMs ?? Math.max(60_000, 3 * config.cloud.timeoutMs),
      batchSize: 8,
      ...backoff,
    },
  });
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
          instanceId,
          options: { leaseMs, maxAttempts: config.replication.maxAttempts, batchSize: 8, ...backoff },
          events: metrics.events,
          onOrphanedCopy: (image, provider, copy) => deletion.deleteOrphanedCopy(image, provider, copy),
        });
  const imageOptions = {
    maxInputPixels: config.limits.maxInputPixels,
    imageMaxKb: config.limits.imageMaxKb,
    thumbnailSize: config.limits.thumbnailSize,
    maxDimension: config.limits.maxDimension,
    keepPng: config.limits.keepPng,
    timeoutMs: config.limits.imageProcessTimeoutSeconds * 1000,
  };
  const images = new ImageService({
    store,
    files,
    // The header is read first (cheap, no pixels decoded), so the queue knows what the job costs.
    process: async (input, owner) => {
      const probe = await probeImage(input, { maxInputPixels: config.limits.maxInputPixels });
      // The time budget runs from here, so an image behind others is still answered in time.
      const budgetFrom = Date.now();
      return processor.run(
        () =>
          processImage(input, probe, {
            ...imageOptions,
            budgetFrom,
            spareCore: () => processor.active < processor.concurrency,
          }),
        { owner, heavy: probe.width * probe.height * probe.pages > HEAVY_JOB_PIXELS },
      );
    },
    clock,
    newId,
    randomBytes,
    limits: {
      maxUploadBytes: config.limits.maxUploadBytes,
      maxFiles: config.limits.maxFiles,
      uploadIdleTimeoutMs: config.limits.uploadIdleTimeoutMs,
    },
    log,
    ...(replication ? { replication } : {}),
  });

  // Restore downloads, and /files redirects, go only to the providers' origins unless told
  // otherwise (RESTORE_ALLOWED_HOSTS).
  const allowedHosts = config.restoreAllowedHosts ?? [...new Set(cloudProviders.flatMap((p) => p.allowedHosts))];
  // Copies in the S3 bucket are read back through the SDK; the rest from their provider's origin.
  const s3 = cloudProviders.find((p): p is S3Provider => p instanceof S3Provider);
  const download = (url: string, path: string) =>
    s3?.holds(url)
      ? s3.download(url, path, { maxBytes: config.limits.maxUploadBytes, timeoutMs: config.restoreTimeoutMs })
      : downloadToFile(url, path, {
          allowedHosts,
          requireHttps: config.isProduction,
          maxBytes: config.limits.maxUploadBytes,
          timeoutMs: config.restoreTimeoutMs,
          maxRedirects: 3,
        });
  // A copy changed at its host: replication flags it (and makes a new one from a good local
  // original); without any provider enabled the flag alone is stored.
  const markAltered = async (image: ImageRecord, o: { requeue: boolean }): Promise<void> => {
    if (replication) return replication.markAltered(image, o);
    if (await store.updateImage(image.id, { cloudAlteredAt: clock(), cloudVerifiedAt: null }))
      metrics.events.onAltered?.(image.service);
  };
  const restore = new RestoreService({
    store,
    files,
    download,
    sha256File,
    thumbnail: (input, key) =>
      processor.run(
        () =>
          thumbnailOf(input, {
            maxInputPixels: config.limits.maxInputPixels,
            size: config.limits.thumbnailSize,
            format: thumbnailFormatOf(key),
          }),
        {
          owner: 'restore',
        },
      ),
    concurrency: config.restoreConcurrency,
    log,
    // The local original is missing or bad (that is why it is downloaded): nothing to replicate from.
    onAltered: (image) => markAltered(image, { requeue: false }),
  });
  const cleanup = new CleanupService({
    store,
    files,
    download,
    sha256File,
    clock,
    log,
    // ImgBB deletes its copy after IMGBB_EXPIRATION seconds: such a copy is never the only one.
    expiringServices: config.cloud.imgbb.expirationSeconds ? ['IMGBB'] : [],
    // PostImages may re-encode what it stores (its terms): its copy is compared before it becomes the only one.
    alteringServices: ['POSTIMAGES'],
    onAltered: (image) => markAltered(image, { requeue: true }),
  });
  const reconcile = new ReconcileService({ store, files, restore, clock, log });
  const cloudUrlAllowed = (url: string) =>
    s3?.holds(url) === true || originRefusal(url, allowedHosts, config.isProduction) === null;

  /** The pixel work maintenance commands need (import-seed), under the same limits and queue as uploads. */
  const imaging = {
    probe: (path: string) => probeImage(path, { maxInputPixels: config.limits.maxInputPixels }),
    thumbnail: (path: string) =>
      processor.run(
        () => thumbnailOf(path, { maxInputPixels: config.limits.maxInputPixels, size: config.limits.thumbnailSize }),
        { owner: 'import' },
      ),
    sha256File,
  };

  const DAY_MS = 86_400_000;
  const timers: Poller[] = [];
  const retentionDays = config.localRetentionDays;
  if (retentionDays !== null) {
    timers.push(
      new Poller(
        async () => (
          await cleanup.cleanup({ userId: 'retention', isAdmin: true }, { olderThanDays: retentionDays }),
          false
        ),
        DAY_MS,
        (err) => log.error({ err }, 'daily local cleanup failed'),
      ),
    );
  }
  if (config.reconcileIntervalMinutes !== null) {
    timers.push(
      new Poller(
        async () => (await reconcile.run(), false),
        config.reconcileIntervalMinutes * 60_000,
        (err) => log.error({ err }, 'reconcile pass failed'),
      ),
    );
  }

  return {
    config,
    log,
    clock,
    store,
    /** The change log under the store, and what wakes this process's reader of it (src/events/feed.ts). */
    changes: stored as ChangeLog,
    wake,
    files,
    /** Images processed at once (uploads, restored thumbnails): cores, within libuv's thread pool. */
    imageConcurrency: processor.concurrency,
    urls,
    chat,
    images,
    chain,
    metrics,
    replication,
    deletion,
    restore,
    cleanup,
    reconcile,
    imaging,
    /** Whether a stored cloud URL is on an allowed origin (scheme, host and port), or an object of the s3 bucket; checked at every use. */
    cloudUrlAllowed,
    /** The URL a client is shown for a stored cloud URL: presigned for an object of a private s3 bucket, else as it is. */
    cloudLink: (url: string): Promise<string> => (s3?.holds(url) ? s3.linkFor(url) : Promise.resolve(url)),
    /** Whether a stored cloud URL is public: anything but an object of a private s3 bucket. */
    cloudUrlPublic: (url: string): boolean => !(s3?.isPrivate(url) ?? false),
    /** Where the server may redirect a client for a stored cloud URL (checked against the allowed origins); null when refused. */
    cloudRedirect: async (url: string): Promise<string | null> =>
      s3?.holds(url) ? s3.linkFor(url) : cloudUrlAllowed(url) ? url : null,
    /** Starts the background work: replication, deletions, and the optional timers. */
    startWorkers(): void {
      replication?.start();
      deletion.start();
      // The timers' first pass waits a minute, so a start is never slowed by a full scan.
      for (const t of timers) t.start(deps.timersFirstDelayMs ?? 60_000);
    },
    async stopWorkers(): Promise<void> {
      await Promise.all([replication?.stop(), deletion.stop(), ...timers.map((t) => t.stop())]);
    },
  };
}
