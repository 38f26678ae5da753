import type { Logger } from 'pino';
import { BadUserInputError, ForbiddenError } from '../domain/errors.js';
import type { ImageRecord } from '../domain/types.js';
import type { Viewer } from '../domain/viewer.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { walkImages } from './walk.js';

export interface CleanupInput {
  olderThanDays: number;
  dryRun?: boolean | null;
}

export interface CleanupResult {
  /** Local originals removed (or, in a dry run, that would be). */
  deleted: number;
  /** Old, but no cloud copy that lasts: kept. */
  keptNoCloudCopy: number;
  bytesFreed: number;
  /** Originals the record no longer keeps but whose file could not be removed (logged; reconcile removes them later). */
  failed: number;
}

export const MAX_RETENTION_DAYS = 36_500;

/**
 * cleanupLocalImages: removes local originals older than a number of days, only where a cloud
 * copy holds the image (REPLICATED) and will keep holding it. Thumbnails stay, so lists keep
 * loading fast. The record is updated before the file goes: a crash in between leaves a file no
 * record points to (reconcile removes it), never a record pointing at a missing file.
 */
export class CleanupService {
  constructor(
    private readonly deps: {
      store: MetadataStore;
      files: { stat(key: string): Promise<{ size: number } | null>; delete(key: string): Promise<boolean> };
      clock: () => Date;
      log: Logger;
      /** Services whose cloud copies expire (ImgBB with IMGBB_EXPIRATION): never the only copy. */
      expiringServices: readonly string[];
    },
  ) {}

  async cleanup(viewer: Viewer, input: CleanupInput, onProgress?: (done: number, total: number) => void): Promise<CleanupResult> {
    if (!viewer.isAdmin) throw new ForbiddenError('cleanupLocalImages is for admins only (a token whose roles include "admin").');
    const days = input.olderThanDays;
    if (!Number.isInteger(days) || days < 0 || days > MAX_RETENTION_DAYS) {
      throw new BadUserInputError(`olderThanDays must be a whole number of days from 0 to ${MAX_RETENTION_DAYS}; got ${days}.`);
    }
    const dryRun = input.dryRun ?? false;
    const cutoff = new Date(this.deps.clock().getTime() - days * 86_400_000);
    const result: CleanupResult = { deleted: 0, keptNoCloudCopy: 0, bytesFreed: 0, failed: 0 };
    let done = 0;
    let total = 0;
    for await (const page of walkImages(this.deps.store, null, { uploadedBefore: cutoff }, (n) => (total = n))) {
      for (const image of page) {
        await this.cleanOne(image, dryRun, result);
        onProgress?.(++done, total);
      }
    }
    this.deps.log.info({ ...result, olderThanDays: days, dryRun }, 'local cleanup finished');
    return result;
  }

  private async cleanOne(image: ImageRecord, dryRun: boolean, result: CleanupResult): Promise<void> {
    const key = image.localKey;
    if (key === null) return; // cleaned before
    const safe = image.replication.status === 'REPLICATED' && image.cloudUrl !== null && !this.deps.expiringServices.includes(image.service);
    if (!safe) {
      result.keptNoCloudCopy++;
      return;
    }
    const size = (await this.deps.files.stat(key))?.size ?? 0;
    if (!dryRun) {
      // A record deleted meanwhile is left to its deletion.
      if (!(await this.deps.store.updateImage(image.id, { localKey: null, evictedKey: key }))) return;
      try {
        await this.deps.files.delete(key);
      } catch (err) {
        this.deps.log.error({ err, key }, 'could not remove a cleaned-up original; reconcile will');
        result.failed++;
        return;
      }
    }
    result.deleted++;
    result.bytesFreed += size;
  }
}
