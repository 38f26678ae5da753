import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { chainFromConfig, copyTraits } from './cloud/from-config.js';
import { sha256File } from './cloud/download.js';
import { linksFromConfig } from './cloud/links.js';
import type { Config } from './config.js';
import { createIdGenerator, type IdGenerator } from './domain/ids.js';
import { recordingStore } from './events/recording-store.js';
import { loadOrCreateFileUrlSecret } from './files/file-url-secret.js';
import { LocalFileStore } from './files/local-file-store.js';
import { UrlSigner } from './files/url-signer.js';
import { createMetrics } from './http/metrics.js';
import { ImagePipeline } from './images/pipeline.js';
import { CleanupService } from './maintenance/cleanup.js';
import { ReconcileService } from './maintenance/reconcile.js';
import { RestoreService } from './maintenance/restore.js';
import { maintenanceTimers } from './maintenance/timers.js';
import { WakeSignal, type ChangeLog } from './metadata/change-log.js';
import { createStore } from './metadata/from-config.js';
import type { MetadataStore } from './metadata/metadata-store.js';
import { ChatService } from './services/chat-service.js';
import { DeletionService, deletionOptions } from './services/deletion.js';
import { ImageService } from './services/image-service.js';
import { alteredCopyMarker, ReplicationService, replicationOptions } from './workers/replication.js';

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

export type Core = Awaited<ReturnType<typeof createCore>>;

/**
 * The composition root of everything but HTTP: the one place that knows every concrete class, a
 * list of constructors. The server (server.ts) and the CLI (cli/) both build on it, so they run
 * the same services. What each part does lives in its own module.
 */
export async function createCore(config: Config, deps: CoreDeps) {
  const { log } = deps;
  const clock = deps.clock ?? (() => new Date());
  const newId = deps.newId ?? createIdGenerator(clock, randomBytes);
  const instanceId = deps.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

  const stored = deps.store ?? (await createStore(config, log));
  await stored.init();
  // Every write a live client cares about also goes to the change log (src/events/).
  const wake = new WakeSignal();
  const store = recordingStore(stored, { changes: stored, wake, log });
  const secret =
    config.fileUrlSecret ?? (await loadOrCreateFileUrlSecret(join(dirname(config.sqlitePath), 'file-url-secret')));
  const urls = new UrlSigner(secret, config.publicBaseUrl, config.fileUrlTtlSeconds, clock);
  const files = deps.files ?? new LocalFileStore({ root: config.storageDir, clock });
  await files.init();
  const pipeline = new ImagePipeline(config.limits, { concurrency: deps.imageConcurrency });

  const queueDepth = () => store.countPendingReplication();
  const metrics = createMetrics({ queueDepth, providers: () => chain.health(), clock });
  const { chain, providers } = chainFromConfig(config, { store, clock, log, onBudgetSkip: metrics.onBudgetSkip });
  const links = linksFromConfig(config, providers);

  const worker = { clock, random: Math.random, log, instanceId };
  const deletion = new DeletionService({ store, files, cloud: chain, ...worker, options: deletionOptions(config) });
  const replication = providers.length
    ? new ReplicationService({
        store,
        chain,
        ...worker,
        events: metrics.events,
        readLocal: (key) => readFile(files.absolutePath(key)),
        options: replicationOptions(config, providers.length),
        onOrphanedCopy: (image, provider, copy) => deletion.deleteOrphanedCopy(image, provider, copy),
      })
    : undefined;
  const chat = new ChatService(store, clock, newId);
  const images = new ImageService({
    store,
    files,
    process: pipeline.process,
    clock,
    newId,
    randomBytes,
    log,
    limits: config.limits,
    replication,
  });

  const markAltered = alteredCopyMarker({ replication, store, clock, events: metrics.events });
  const copies = { store, files, download: links.download, sha256File, log };
  // Restore downloads because the local original is missing or bad: nothing to replicate from.
  const restore = new RestoreService({
    ...copies,
    thumbnail: pipeline.restoreThumbnail,
    concurrency: config.restoreConcurrency,
    onAltered: (image) => markAltered(image, { requeue: false }),
  });
  const cleanup = new CleanupService({
    ...copies,
    clock,
    ...copyTraits(config),
    onAltered: (image) => markAltered(image, { requeue: true }),
  });
  const reconcile = new ReconcileService({ store, files, restore, clock, log });
  const timers = maintenanceTimers(config, { cleanup, reconcile, log });

  const services = { chat, images, replication, deletion, restore, cleanup, reconcile };
  return {
    config,
    log,
    clock,
    store,
    files,
    urls,
    chain,
    metrics,
    ...services,
    /** The change log under the store, and what wakes this process's reader of it (src/events/feed.ts). */
    changes: stored as ChangeLog,
    wake,
    /** Images processed at once (uploads, restored thumbnails): cores, within libuv's thread pool. */
    imageConcurrency: pipeline.concurrency,
    /** The pixel work import-seed needs, under the same limits and queue as uploads. */
    imaging: { probe: pipeline.probeFile, thumbnail: pipeline.importThumbnail, sha256File },
    /** Stored cloud URLs: allowed or not, the link a client is shown, where /files redirects. */
    links,
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
