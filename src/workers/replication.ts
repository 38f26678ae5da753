import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { THUMBNAIL_MIME_TYPES, thumbnailFormatOf } from '../images/thumbnail.js';
import { redactPaths } from '../domain/redact.js';
import type { ImageRecord, Replication } from '../domain/types.js';
import type { ChainFailure, ChainSuccess } from '../cloud/chain.js';
import type { CloudCopy, ProviderName, UploadFile } from '../cloud/provider.js';
import type { ImageStore, ImageQueries, ReplicationQueue, ImagePatch } from '../metadata/metadata-store.js';
import { jitteredBackoff, PolledService, Poller, withLeaseHeartbeat } from './poller.js';
import { walkImages } from '../metadata/walk.js';
import { messageOf } from '../domain/errors.js';
import type { Config } from '../config.js';

export interface ReplicationOptions {
  /** How long a claimed image is reserved for one worker. */
  leaseMs: number;
  /** Attempts (each a full run of the chain) before an image becomes LOCAL_ONLY. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  /** How often the worker looks for due images when nothing kicks it. */
  pollMs: number;
  batchSize: number;
}

export interface Uploader {
  /** `thumbnail` is read only if the provider that takes the original keeps thumbnails too. */
  upload(
    file: UploadFile,
    o?: { thumbnail?: () => Promise<UploadFile | null>; avoid?: ProviderName },
  ): Promise<ChainSuccess | ChainFailure>;
}

export interface ReplicationEvents {
  onOutcome?(
    outcome: 'replicated' | 'reused' | 'retrying' | 'local_only',
    provider: ProviderName | null,
    seconds: number,
  ): void;
  /** A check found an image's cloud copy changed at its host. */
  onAltered?(service: string): void;
}

/**
 * Gives every image a cloud copy, durably: the state lives in the store, so a restart or a
 * second instance carries on where another stopped. An image is only worked on while its
 * lease is held, so two instances never upload the same image.
 */
export class ReplicationService extends PolledService {
  protected readonly poller: Poller;

  constructor(
    private readonly deps: {
      store: ImageStore & ImageQueries & ReplicationQueue;
      readLocal: (key: string) => Promise<Buffer>;
      chain: Uploader;
      clock: () => Date;
      random: () => number;
      log: Logger;
      instanceId: string;
      options: ReplicationOptions;
      events?: ReplicationEvents;
      /** A cloud copy made for an image deleted meanwhile: it must be deleted too. */
      onOrphanedCopy?: (image: ImageRecord, provider: ProviderName, copy: CloudCopy) => Promise<void>;
    },
  ) {
    super();
    this.poller = new Poller(
      async () => (await this.runOnce()) === deps.options.batchSize,
      deps.options.pollMs,
      (err) => deps.log.error({ err }, 'replication worker pass failed'),
    );
  }

  /** The lease an upload takes before storing its record when it replicates inline. */
  inlineLease(): { leaseOwner: string; leaseUntil: Date } {
    return {
      leaseOwner: this.deps.instanceId,
      leaseUntil: new Date(this.deps.clock().getTime() + this.deps.options.leaseMs),
    };
  }

  /** Replicates an image whose lease `leaseOwner` holds, and records the outcome. */
  async replicate(image: ImageRecord, leaseOwner: string): Promise<ImageRecord> {
    const started = this.deps.clock().getTime();
    const attempts = image.replication.attempts + 1;
    const done = async (
      patch: ImagePatch | null,
      outcome: 'replicated' | 'reused' | 'retrying' | 'local_only',
      provider: ProviderName | null,
    ) => {
      if (patch) await this.deps.store.updateImage(image.id, patch, { leaseOwner });
      this.deps.events?.onOutcome?.(outcome, provider, (this.deps.clock().getTime() - started) / 1000);
      const [updated] = await this.deps.store.getImagesByIds([image.id]);
      return updated ?? image;
    };
    const released = { leaseOwner: null, leaseUntil: null };

    // The same bytes from the same owner already have a cloud copy: reuse it, upload nothing.
    const twin = image.sha256 ? await this.deps.store.findReplicatedBySha256(image.userId, image.sha256) : null;
    // Never the copy found altered (a twin may show the same URL, unchecked).
    if (twin && twin.id !== image.id && twin.cloudUrl && !(image.cloudAlteredAt && twin.cloudUrl === image.cloudUrl)) {
      // The twin's thumbnail copy too, when it is of the same format (a seed thumbnail may be a JPEG).
      const sameThumb =
        twin.thumbnailKey !== null &&
        image.thumbnailKey !== null &&
        thumbnailFormatOf(twin.thumbnailKey) === thumbnailFormatOf(image.thumbnailKey);
      const reused = await done(
        {
          cloudUrl: twin.cloudUrl,
          thumbnailCloudUrl: sameThumb ? twin.thumbnailCloudUrl : null,
          cloudVerifiedAt: twin.cloudVerifiedAt,
          cloudAlteredAt: null,
          deleteUrl: twin.deleteUrl,
          service: twin.service,
          replication: { status: 'REPLICATED', attempts, nextAttemptAt: null, lastError: null, ...released },
        },
        'reused',
        twin.service === 'LOCAL' ? null : twin.service,
      );
      if (image.cloudAlteredAt) await this.dropAlteredCopy(image, twin.cloudUrl);
      return reused;
    }

    let result: ChainSuccess | ChainFailure;
    let lastError: string;
    try {
      if (!image.localKey) throw new Error('no local copy to upload');
      const data = await this.deps.readLocal(image.localKey);
      const file = {
        data,
        fileName: image.localKey.split('/').at(-1) as string,
        mimeType: image.mimeType,
        sha256: image.sha256,
        ownerId: image.userId,
      };
      const thumbnail = () => this.thumbnailFile(image, file.sha256 || sha256Of(data));
      // The lease is renewed while the chain runs (timeouts and retries can outlast it).
      result = await withLeaseHeartbeat(
        this.deps.options.leaseMs,
        () => this.renewLease(image.id, leaseOwner),
        () =>
          this.deps.chain.upload(file, {
            thumbnail,
            ...(image.cloudAlteredAt && image.service !== 'LOCAL' ? { avoid: image.service } : {}),
          }),
        (err) => this.deps.log.warn({ err, imageId: image.id }, 'renewing a replication lease failed'),
      );
      if (result.ok) {
        if (result.thumbnailError) {
          // The original's copy stands; the thumbnail simply stays local (cleanup keeps it).
          this.deps.log.warn(
            { imageId: image.id, provider: result.provider, reason: result.thumbnailError },
            'the thumbnail could not be uploaded with the original: it is kept locally only',
          );
        }
        const stored = await this.deps.store.updateImage(image.id, successPatch(result, attempts, this.deps.clock()), {
          leaseOwner,
        });
        if (!stored)
          return this.lostTheLease(image, result.provider, [
            result.copy,
            ...(result.thumbnail ? [result.thumbnail] : []),
          ]);
        if (image.cloudAlteredAt) await this.dropAlteredCopy(image, result.copy.url);
        return done(null, 'replicated', result.provider);
      }
      lastError = result.failures.map((f) => `${f.provider}: ${f.reason}`).join('; ') || 'no cloud provider is enabled';
      if (result.budgetsResetAt) {
        // Every provider's budget is spent and none was sent anything: no attempt is used up, and
        // the image waits for the first reset (spread over 30 s, so a backlog does not burst at once).
        const nextAttemptAt = new Date(result.budgetsResetAt.getTime() + Math.floor(this.deps.random() * 30_000));
        this.deps.log.info(
          { imageId: image.id, nextAttemptAt },
          "every cloud provider's upload budget is spent: replication waits for the next window",
        );
        return done(
          {
            replication: {
              status: 'RETRYING',
              attempts: image.replication.attempts,
              nextAttemptAt,
              lastError,
              ...released,
            },
          },
          'retrying',
          null,
        );
      }
    } catch (e) {
      // The local copy could not be read: no provider was tried, so none is blamed.
      // lastError is stored and shown to clients: no server paths in it.
      lastError = `local copy unreadable: ${redactPaths(messageOf(e))}`;
    }
    if (attempts >= this.deps.options.maxAttempts) {
      this.deps.log.error(
        { imageId: image.id, attempts, lastError },
        'cloud replication gave up: the image stays LOCAL_ONLY until an admin requeues it',
      );
      return done(
        { replication: { status: 'LOCAL_ONLY', attempts, nextAttemptAt: null, lastError, ...released } },
        'local_only',
        null,
      );
    }
    const nextAttemptAt = new Date(this.deps.clock().getTime() + this.backoff(attempts));
    this.deps.log.warn(
      { imageId: image.id, attempts, nextAttemptAt, lastError },
      'every cloud provider failed: replication retries later',
    );
    return done(
      { replication: { status: 'RETRYING', attempts, nextAttemptAt, lastError, ...released } },
      'retrying',
      null,
    );
  }

  /**
   * A check found the image's cloud copy holding other bytes than its sha256. It is flagged and
   * counted; with a good local original (`requeue`) it is queued to be replicated again, due now
   * with fresh attempts, another provider tried first. Without one nothing better exists: the
   * altered copy stays what the image shows.
   */
  async markAltered(image: ImageRecord, o: { requeue: boolean }): Promise<void> {
    const now = this.deps.clock();
    if (
      !(await this.deps.store.updateImage(image.id, {
        cloudAlteredAt: now,
        cloudVerifiedAt: null,
        ...(o.requeue ? { replication: FRESH_REPLICATION } : {}),
      }))
    )
      return;
    this.deps.events?.onAltered?.(image.service);
    this.deps.log.warn(
      { imageId: image.id, service: image.service, requeued: o.requeue },
      o.requeue
        ? 'the cloud copy was changed at its host: the image is replicated again from its local original'
        : 'the cloud copy was changed at its host, and no local original matches its sha256: nothing holds the original bytes',
    );
    if (o.requeue) this.kick();
  }

  /** The altered copy, replaced now, goes where its provider allows deletion (unless another image shows it). */
  private async dropAlteredCopy(image: ImageRecord, newUrl: string): Promise<void> {
    const old = image.cloudUrl;
    if (!old || old === newUrl || image.service === 'LOCAL' || (await this.deps.store.cloudUrlInUse(old, ''))) return;
    await this.deps.onOrphanedCopy?.(image, image.service, { url: old, deleteUrl: image.deleteUrl, providerId: null });
  }

  /** The local thumbnail as an upload named after its original, or null when there is none to read. */
  private async thumbnailFile(image: ImageRecord, originalSha256: string): Promise<UploadFile | null> {
    if (!image.thumbnailKey) return null;
    let data: Buffer;
    try {
      data = await this.deps.readLocal(image.thumbnailKey);
    } catch (err) {
      this.deps.log.warn(
        { err, imageId: image.id },
        'the local thumbnail could not be read: only the original is uploaded',
      );
      return null;
    }
    const format = thumbnailFormatOf(image.thumbnailKey);
    return {
      data,
      fileName: image.thumbnailKey.split('/').at(-1) as string,
      mimeType: THUMBNAIL_MIME_TYPES[format],
      sha256: sha256Of(data),
      ownerId: image.userId,
      thumbnailOf: originalSha256,
    };
  }

  /** Extends the lease `leaseOwner` holds on an image by a full lease; false when it no longer holds it. */
  private renewLease(id: string, leaseOwner: string): Promise<boolean> {
    const leaseUntil = new Date(this.deps.clock().getTime() + this.deps.options.leaseMs);
    return this.deps.store.updateImage(id, { replication: { leaseUntil } }, { leaseOwner });
  }

  /**
   * The upload succeeded but the record could not take it: the image was deleted meanwhile, or
   * its lease was lost (this process was paused past it) and another worker replicated it. Either
   * way the new copies (original and thumbnail) are nobody's and are deleted where the provider
   * allows, unless some image shows that very URL (a provider that stores the same bytes under one URL).
   */
  private async lostTheLease(image: ImageRecord, provider: ProviderName, copies: CloudCopy[]): Promise<ImageRecord> {
    const [current] = await this.deps.store.getImagesByIds([image.id]);
    for (const copy of copies) {
      if (current && (current.cloudUrl === copy.url || current.thumbnailCloudUrl === copy.url)) continue;
      if (await this.deps.store.cloudUrlInUse(copy.url, '')) continue;
      this.deps.log.warn(
        { imageId: image.id, provider, deleted: !current },
        current
          ? 'another worker replicated this image first: the extra cloud copy is deleted'
          : 'image deleted while it was uploaded: the new cloud copy is deleted',
      );
      await this.deps.onOrphanedCopy?.(image, provider, copy);
    }
    return current ?? image;
  }

  /** Makes an image due now with fresh attempts (an admin's requeue), and wakes the worker. */
  async requeue(image: ImageRecord): Promise<ImageRecord> {
    await this.deps.store.updateImage(image.id, { replication: FRESH_REPLICATION });
    this.kick();
    const [updated] = await this.deps.store.getImagesByIds([image.id]);
    return updated ?? image;
  }

  /**
   * The admin switch for images that have no cloud copy and are not queued: LOCAL_ONLY ones
   * (replication gave up, or the seed chatbot's `cloud_url = url` images read in place) become
   * PENDING with fresh attempts, a page at a time, and the worker is woken once at the end.
   */
  async requeueLocalOnly(
    o: { dryRun: boolean },
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ scanned: number; queued: number }> {
    let scanned = 0;
    let queued = 0;
    let total = 0;
    for await (const page of walkImages(this.deps.store, null, {}, (n) => (total = n))) {
      for (const image of page) {
        scanned++;
        if (image.replication.status === 'LOCAL_ONLY' && image.localKey !== null) {
          // No worker claims a LOCAL_ONLY image, so only another requeue could race this write (harmless).
          // One without a local original (cleaned up) has nothing to upload and is left alone.
          if (o.dryRun || (await this.deps.store.updateImage(image.id, { replication: FRESH_REPLICATION }))) queued++;
        }
        onProgress?.(scanned, total);
      }
    }
    if (queued > 0 && !o.dryRun) this.kick();
    this.deps.log.info({ scanned, queued, dryRun: o.dryRun }, 'local-only images requeued for replication');
    return { scanned, queued };
  }

  /** Exponential backoff with half jitter, capped (jitteredBackoff in poller.ts). */
  backoff(attempts: number): number {
    const { backoffBaseMs, backoffCapMs } = this.deps.options;
    return jitteredBackoff(attempts, backoffBaseMs, backoffCapMs, this.deps.random);
  }

  /** One pass: claim due images with a lease and replicate them. Returns how many were worked on. */
  async runOnce(): Promise<number> {
    const { options, instanceId } = this.deps;
    const claimed = await this.deps.store.claimDueImages({
      now: this.deps.clock(),
      leaseOwner: instanceId,
      leaseMs: options.leaseMs,
      limit: options.batchSize,
    });
    for (const image of claimed) {
      try {
        // The batch was leased at once: before its turn each image's lease is renewed, and one
        // that expired and was taken by another worker meanwhile is left to that worker.
        if (!(await this.renewLease(image.id, instanceId))) continue;
        await this.replicate(image, instanceId);
      } catch (err) {
        // The lease expires and another pass takes the image again: nothing is lost.
        this.deps.log.error({ err, imageId: image.id }, 'replication pass failed for an image');
      }
    }
    return claimed.length;
  }
}

/** Due now, with fresh attempts and no lease: what a requeue, an altered copy and requeue-local-only write. */
const FRESH_REPLICATION: Readonly<Replication> = Object.freeze({
  status: 'PENDING',
  attempts: 0,
  nextAttemptAt: null,
  lastError: null,
  leaseOwner: null,
  leaseUntil: null,
});

const sha256Of = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function successPatch(result: ChainSuccess, attempts: number, now: Date): ImagePatch {
  const { copy, provider } = result;
  return {
    cloudUrl: copy.url,
    thumbnailCloudUrl: result.thumbnail?.url ?? null,
    cloudAlteredAt: null,
    // The provider answered with the URL of the bytes it was sent.
    cloudVerifiedAt: now,
    deleteUrl: copy.deleteUrl,
    service: provider,
    replication: {
      status: 'REPLICATED',
      attempts,
      nextAttemptAt: null,
      lastError: null,
      leaseOwner: null,
      leaseUntil: null,
    },
  };
}

/**
 * What restore and cleanup call when a cloud copy holds other bytes than its sha256: replication
 * flags it (and, with `requeue`, makes a new copy from the good local original); without any
 * provider enabled the flag alone is stored.
 */
export function alteredCopyMarker(d: {
  replication: ReplicationService | undefined;
  store: Pick<ImageStore, 'updateImage'>;
  clock: () => Date;
  events: ReplicationEvents;
}): (image: ImageRecord, o: { requeue: boolean }) => Promise<void> {
  return async (image, o) => {
    if (d.replication) return d.replication.markAltered(image, o);
    if (await d.store.updateImage(image.id, { cloudAlteredAt: d.clock(), cloudVerifiedAt: null }))
      d.events.onAltered?.(image.service);
  };
}

/**
 * The replication worker's settings (REPLICATION_*). Unless set, the lease is long enough for a
 * whole chain run: every provider, every attempt, the backoffs.
 */
export function replicationOptions(
  config: Pick<Config, 'cloud' | 'replication'>,
  providers: number,
): ReplicationOptions {
  const { leaseMs, maxAttempts, backoffBaseMs, backoffCapMs, pollMs } = config.replication;
  const { timeoutMs, attempts } = config.cloud;
  return {
    leaseMs: leaseMs ?? Math.max(60_000, 3 * timeoutMs * attempts * Math.max(1, providers)),
    maxAttempts,
    batchSize: 8,
    backoffBaseMs,
    backoffCapMs,
    pollMs,
  };
}
