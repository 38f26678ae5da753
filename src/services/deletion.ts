import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { AttemptError, messageOf, NotFoundError } from '../domain/errors.js';
import type { DeletionJob, ImageRecord, StorageService } from '../domain/types.js';
import { visibleOrNotFound, type Viewer } from '../domain/viewer.js';
import type { ImageStore, DeletionQueue } from '../metadata/metadata-store.js';
import { jitteredBackoff, PolledService, Poller, withLeaseHeartbeat } from '../workers/poller.js';
import type { LocalFiles } from '../files/ports.js';
import type { Config } from '../config.js';

/** Deletes cloud copies; implemented over the provider chain in app.ts. */
export interface CloudDeleter {
  /** Whether the service's provider is enabled here and offers deletion (ImgBB's API does not). */
  canDelete(service: StorageService): boolean;
  /** Throws on failure; an AttemptError says whether trying later may help, anything else is final. */
  delete(service: StorageService, copy: { url: string; deleteUrl: string }): Promise<void>;
}

export type DeletionFiles = Pick<LocalFiles, 'delete'>;

export interface DeletionOptions {
  leaseMs: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  pollMs: number;
  batchSize: number;
}

export interface DeleteResult {
  deletedImageId: string;
  /** No local file of the image remains. */
  localDeleted: boolean;
  /** A provider confirmed the cloud copy is deleted. */
  cloudDeleted: boolean;
}

/**
 * deleteImage and the worker that finishes deletions. The order survives a crash at any step:
 * (1) the record is swapped for a deletion job in one store write, so the image vanishes from the
 * API and a second delete finds nothing; (2) the cloud copy is deleted where the provider allows;
 * (3) the local original and thumbnail are removed; (4) the job is removed. A crash or a failed
 * step leaves the job, which the worker (this instance after a restart, or another) resumes.
 * Delete URLs stay in the store: they are never logged nor returned.
 */
export class DeletionService extends PolledService {
  protected readonly poller: Poller;

  constructor(
    private readonly deps: {
      store: ImageStore & DeletionQueue;
      files: DeletionFiles;
      cloud: CloudDeleter;
      clock: () => Date;
      random: () => number;
      log: Logger;
      instanceId: string;
      options: DeletionOptions;
    },
  ) {
    super();
    this.poller = new Poller(
      async () => (await this.runOnce()) === deps.options.batchSize,
      deps.options.pollMs,
      (err) => deps.log.error({ err }, 'deletion worker pass failed'),
    );
  }

  async deleteImage(viewer: Viewer, id: string): Promise<DeleteResult> {
    const [found] = await this.deps.store.getImagesByIds([id]);
    const image = visibleOrNotFound(viewer, 'Image', id, found);
    const now = this.deps.clock();
    const job: DeletionJob = {
      imageId: image.id,
      userId: image.userId,
      localKeys: [image.localKey, image.thumbnailKey].filter((k): k is string => k !== null),
      cloud: await this.cloudToDelete(image),
      cloudDeleted: false,
      requestedAt: now,
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      // Held by this call while it works inline, so the worker does not take it at the same time.
      leaseOwner: this.deps.instanceId,
      leaseUntil: new Date(now.getTime() + this.deps.options.leaseMs),
    };
    // The thumbnail's cloud copy is a job of its own, stored first: a crash right after leaves a
    // job whose copy the image still shows, which the worker then keeps (cloudUrlInUse).
    const thumbnailJob = await this.thumbnailJob(image, job);
    if (thumbnailJob) await this.deps.store.enqueueDeletion(thumbnailJob);
    // Someone deleted it between the read and now: the same answer as deleting twice.
    if (!(await this.deps.store.beginDeletion(job))) throw new NotFoundError('Image', id);
    this.deps.log.info({ imageId: image.id, userId: image.userId, service: image.service }, 'image deleted');
    const after = await this.workHeld(job);
    const thumbnail = thumbnailJob ? await this.workHeld(thumbnailJob) : null;
    return {
      deletedImageId: image.id,
      localDeleted: after.localKeys.length === 0,
      cloudDeleted: after.cloudDeleted && (thumbnail?.cloudDeleted ?? true),
    };
  }

  /** The deletion of an image's thumbnail copy (providers that keep thumbnails delete by its URL), or null. */
  private async thumbnailJob(image: ImageRecord, job: DeletionJob): Promise<DeletionJob | null> {
    const url = image.thumbnailCloudUrl;
    if (!url || !this.deps.cloud.canDelete(image.service) || (await this.deps.store.cloudUrlInUse(url, image.id)))
      return null;
    return {
      ...job,
      imageId: `${image.id}:thumbnail`,
      localKeys: [],
      cloud: { service: image.service, url, deleteUrl: url },
    };
  }

  /**
   * A cloud copy no record keeps: made for an image deleted while it was being uploaded, or by a
   * worker that lost its lease to another that replicated the image first. One job per copy.
   */
  async deleteOrphanedCopy(
    image: ImageRecord,
    service: StorageService,
    copy: { url: string; deleteUrl: string | null },
  ): Promise<void> {
    if (!copy.deleteUrl || !this.deps.cloud.canDelete(service)) {
      this.deps.log.error(
        { imageId: image.id, cloudUrl: copy.url, service },
        'a cloud copy was made for an image deleted meanwhile, and its provider offers no deletion: remove it by hand',
      );
      return;
    }
    await this.deps.store.enqueueDeletion({
      imageId: `${image.id}:copy-${createHash('sha256').update(copy.url).digest('hex').slice(0, 16)}`,
      userId: image.userId,
      localKeys: [],
      cloud: { service, url: copy.url, deleteUrl: copy.deleteUrl },
      cloudDeleted: false,
      requestedAt: this.deps.clock(),
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      leaseOwner: null,
      leaseUntil: null,
    });
    this.kick();
  }

  /** One pass: lease due jobs and work on them. Returns how many were taken. */
  async runOnce(): Promise<number> {
    const { instanceId, options } = this.deps;
    const jobs = await this.deps.store.claimDueDeletions({
      now: this.deps.clock(),
      leaseOwner: instanceId,
      leaseMs: options.leaseMs,
      limit: options.batchSize,
    });
    for (const job of jobs) {
      try {
        // Completes a begin that a crash interrupted on MongoDB (job written, record not yet removed).
        // If the record was already gone, a new delete of that image may have been what removed
        // it, taking the job over with its own lease: then the job is that delete's to work.
        // (When this pass removed the record, no other delete can have taken the job.)
        const removedHere = await this.deps.store.removeImage(job.imageId);
        // The batch was leased at once: renewing before its turn also tells whether another
        // worker took this job after its lease ran out while earlier jobs were worked on.
        const renewed = { ...job, leaseUntil: new Date(this.deps.clock().getTime() + options.leaseMs) };
        if (!(await this.deps.store.updateDeletion(renewed, { leaseOwner: instanceId })) && !removedHere) continue;
        await this.workHeld(renewed);
      } catch (err) {
        this.deps.log.error(
          { err, imageId: job.imageId },
          'deletion pass failed for an image; its lease expires and it is tried again',
        );
      }
    }
    return jobs.length;
  }

  /** work(), with the job's lease renewed while it runs (a provider's deletion can be slow). */
  private workHeld(job: DeletionJob): Promise<DeletionJob> {
    const { leaseMs } = this.deps.options;
    const owner = job.leaseOwner;
    if (!owner) return this.work(job);
    return withLeaseHeartbeat(
      leaseMs,
      () =>
        this.deps.store.updateDeletion(
          { ...job, leaseUntil: new Date(this.deps.clock().getTime() + leaseMs) },
          { leaseOwner: owner },
        ),
      () => this.work(job),
      (err) => this.deps.log.warn({ err, imageId: job.imageId }, 'renewing a deletion lease failed'),
    );
  }

  /** Cloud copy, then local files; then the job is finished or rescheduled. Returns the job as left. */
  private async work(job: DeletionJob): Promise<DeletionJob> {
    const errors: string[] = [];
    let { cloud, cloudDeleted } = job;
    // Checked again now, not only when the job was made: the same bytes of the same owner may
    // have been uploaded again since, to the same content-addressed object (s3), by another image.
    if (cloud && (await this.deps.store.cloudUrlInUse(cloud.url, job.imageId))) {
      this.deps.log.info({ imageId: job.imageId }, 'the cloud copy is shown by another image now: kept');
      cloud = null;
    }
    if (cloud) {
      const target = cloud;
      try {
        await this.deps.cloud.delete(target.service, target);
        cloud = null;
        cloudDeleted = true;
      } catch (e) {
        const retryable = e instanceof AttemptError && e.retryable;
        const reason = `cloud: ${messageOf(e)}`;
        if (!retryable) {
          this.deps.log.error(
            { imageId: job.imageId, cloudUrl: target.url, reason },
            'the provider refused to delete the cloud copy; not retried: remove it by hand',
          );
          cloud = null;
        }
        errors.push(reason);
      }
    }
    const localKeys: string[] = [];
    for (const key of job.localKeys) {
      try {
        await this.deps.files.delete(key);
      } catch (e) {
        localKeys.push(key);
        errors.push(`local ${key}: ${messageOf(e)}`);
      }
    }
    const left: DeletionJob = { ...job, cloud, cloudDeleted, localKeys, leaseOwner: null, leaseUntil: null };
    if (!cloud && localKeys.length === 0) {
      await this.deps.store.finishDeletion(job.imageId);
      return left;
    }
    const attempts = job.attempts + 1;
    const { backoffBaseMs, backoffCapMs } = this.deps.options;
    const nextAttemptAt = new Date(
      this.deps.clock().getTime() + jitteredBackoff(attempts, backoffBaseMs, backoffCapMs, this.deps.random),
    );
    const rescheduled = { ...left, attempts, nextAttemptAt, lastError: errors.join('; ') };
    this.deps.log.warn(
      { imageId: job.imageId, attempts, nextAttemptAt, lastError: rescheduled.lastError },
      'deletion incomplete: retried later',
    );
    await this.deps.store.updateDeletion(rescheduled, job.leaseOwner ? { leaseOwner: job.leaseOwner } : undefined);
    return rescheduled;
  }

  /**
   * The cloud copy to delete, or null: none, no deletion offered, or shared. The same bytes of
   * the same owner reuse one cloud copy (see ReplicationService), so a copy another image still
   * shows is kept.
   */
  private async cloudToDelete(image: ImageRecord): Promise<DeletionJob['cloud']> {
    if (!image.cloudUrl || !image.deleteUrl || !this.deps.cloud.canDelete(image.service)) return null;
    const shared = await this.deps.store.cloudUrlInUse(image.cloudUrl, image.id);
    return shared ? null : { service: image.service, url: image.cloudUrl, deleteUrl: image.deleteUrl };
  }
}

/** The deletion worker's settings: a lease long enough for one provider call (CLOUD_TIMEOUT_MS), REPLICATION_* backoff. */
export function deletionOptions(config: Pick<Config, 'cloud' | 'replication'>): DeletionOptions {
  const { leaseMs, backoffBaseMs, backoffCapMs, pollMs } = config.replication;
  return {
    leaseMs: leaseMs ?? Math.max(60_000, 3 * config.cloud.timeoutMs),
    batchSize: 8,
    backoffBaseMs,
    backoffCapMs,
    pollMs,
  };
}
