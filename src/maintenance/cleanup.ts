import { unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import { BadUserInputError, ForbiddenError, messageOf } from '../domain/errors.js';
import type { ImageRecord } from '../domain/types.js';
import type { Viewer } from '../domain/viewer.js';
import type { ImageStore, ImageQueries } from '../metadata/metadata-store.js';
import { walkImages } from '../metadata/walk.js';
import type { LocalFiles } from '../files/ports.js';

export interface CleanupInput {
  olderThanDays: number;
  dryRun?: boolean | null;
}

export interface CleanupResult {
  /** Local originals removed (or, in a dry run, that would be). */
  deleted: number;
  /** Local thumbnails removed with their original, their cloud copy held by a provider that keeps thumbnails (s3). */
  thumbnailsDeleted: number;
  /** Old, but no cloud copy that lasts: kept. */
  keptNoCloudCopy: number;
  /** Recorded cloud copies this server had not made, downloaded and found to hold the local file's bytes. */
  verifiedCloudCopies: number;
  /** Old, with a recorded cloud copy this server had not made that was unreachable or held other bytes: kept. */
  keptUnverifiedCloudCopy: number;
  /** Cloud copies found holding other bytes than the local original (changed at the host): flagged, replicated again, original kept. */
  alteredCloudCopies: number;
  bytesFreed: number;
  /** Originals the record no longer keeps but whose file could not be removed (logged; reconcile removes them later). */
  failed: number;
}

export const MAX_RETENTION_DAYS = 36_500;

/**
 * cleanupLocalImages: removes local originals older than a number of days, only where a cloud
 * copy holds the image (REPLICATED) and will keep holding it. Thumbnails stay, so lists keep
 * loading fast, unless the provider holds a copy of the thumbnail too (s3), uploaded by this server. A cloud copy this server did not make itself (the seed chatbot's, an import's:
 * `cloudVerifiedAt` null) is only a URL someone wrote down: it is downloaded first, and the
 * original goes only when the download's SHA-256 is the local file's. The record is updated before the file goes: a crash in between leaves a file no
 * record points to (reconcile removes it), never a record pointing at a missing file.
 */
export class CleanupService {
  constructor(
    private readonly deps: {
      store: ImageStore & ImageQueries;
      files: Pick<LocalFiles, 'stat' | 'delete' | 'absolutePath' | 'tempPath'>;
      /** Downloads a cloud copy (the restore's policy: allowed origins, size and time limits) into `path`. */
      download: (url: string, path: string) => Promise<{ bytes: number; sha256: string }>;
      sha256File: (path: string) => Promise<string>;
      clock: () => Date;
      log: Logger;
      /** Services whose cloud copies expire (ImgBB with IMGBB_EXPIRATION): never the only copy. */
      expiringServices: readonly string[];
      /** Services that may change what they store (PostImages re-encodes): their copy is checked before it becomes the only one. */
      alteringServices: readonly string[];
      /** A checked copy held other bytes than the good local original: flag it and replicate again. */
      onAltered: (image: ImageRecord) => Promise<void>;
    },
  ) {}

  async cleanup(
    viewer: Viewer,
    input: CleanupInput,
    onProgress?: (done: number, total: number) => void,
  ): Promise<CleanupResult> {
    if (!viewer.isAdmin)
      throw new ForbiddenError('cleanupLocalImages is for admins only (a token whose roles include "admin").');
    const days = input.olderThanDays;
    if (!Number.isInteger(days) || days < 0 || days > MAX_RETENTION_DAYS) {
      throw new BadUserInputError(
        `olderThanDays must be a whole number of days from 0 to ${MAX_RETENTION_DAYS}; got ${days}.`,
      );
    }
    const dryRun = input.dryRun ?? false;
    const cutoff = new Date(this.deps.clock().getTime() - days * 86_400_000);
    const result: CleanupResult = {
      deleted: 0,
      thumbnailsDeleted: 0,
      keptNoCloudCopy: 0,
      verifiedCloudCopies: 0,
      keptUnverifiedCloudCopy: 0,
      alteredCloudCopies: 0,
      bytesFreed: 0,
      failed: 0,
    };
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
    const safe =
      image.replication.status === 'REPLICATED' &&
      image.cloudUrl !== null &&
      !this.deps.expiringServices.includes(image.service);
    if (!safe) {
      result.keptNoCloudCopy++;
      return;
    }
    const size = (await this.deps.files.stat(key))?.size ?? 0;
    let verified: { sha256: string } | null = null;
    if (image.cloudVerifiedAt === null || this.deps.alteringServices.includes(image.service)) {
      // Checked against the local file: without one there is nothing to compare, and nothing is removed.
      const checked = await this.check(image, key, image.cloudUrl as string);
      if (checked === 'altered') {
        result.alteredCloudCopies++;
        if (!dryRun) await this.deps.onAltered(image);
        return;
      }
      if (checked === null) {
        result.keptUnverifiedCloudCopy++;
        return;
      }
      verified = checked;
      if (image.cloudVerifiedAt === null) result.verifiedCloudCopies++;
    }
    // The thumbnail goes too when the same provider holds a copy of it that this server uploaded
    // (s3); otherwise it stays, so lists keep loading from this server.
    const thumbKey = image.thumbnailCloudUrl !== null && image.cloudVerifiedAt !== null ? image.thumbnailKey : null;
    const thumbSize = thumbKey ? ((await this.deps.files.stat(thumbKey))?.size ?? null) : null;
    if (!dryRun) {
      const checked = verified
        ? { cloudVerifiedAt: this.deps.clock(), ...(image.sha256 ? {} : { sha256: verified.sha256 }) }
        : {};
      // A record deleted meanwhile is left to its deletion. thumbnailKey stays: it is the key the
      // thumbnail's /files links name, which now redirect to its cloud copy.
      if (!(await this.deps.store.updateImage(image.id, { localKey: null, evictedKey: key, ...checked }))) return;
      for (const k of thumbSize === null ? [key] : [key, thumbKey as string]) {
        try {
          await this.deps.files.delete(k);
        } catch (err) {
          this.deps.log.error(
            { err, key: k },
            k === key
              ? 'could not remove a cleaned-up original; reconcile will'
              : 'could not remove a cleaned-up thumbnail; reconcile will',
          );
          result.failed++;
          return;
        }
      }
    }
    result.deleted++;
    result.bytesFreed += size;
    if (thumbSize !== null) {
      result.thumbnailsDeleted++;
      result.bytesFreed += thumbSize;
    }
  }

  /**
   * Downloads a cloud copy this server did not make (or one on a host that may change it) and
   * compares it with the local original (and the recorded digest, when there is one). The digest
   * on success; 'altered' when the local original is good and the copy holds other bytes; null
   * when the copy cannot be trusted to be the only one for another reason.
   */
  private async check(image: ImageRecord, key: string, url: string): Promise<{ sha256: string } | 'altered' | null> {
    const temp = this.deps.files.tempPath();
    try {
      const [got, local] = await Promise.all([
        this.deps.download(url, temp),
        this.deps.sha256File(this.deps.files.absolutePath(key)),
      ]);
      if (got.sha256 === local && (!image.sha256 || image.sha256 === local)) return { sha256: local };
      if (image.sha256 === local) {
        this.deps.log.warn(
          { imageId: image.id, service: image.service },
          'the cloud copy holds other bytes than the local original (changed at the host): the original is kept',
        );
        return 'altered';
      }
      this.deps.log.warn(
        { imageId: image.id },
        'the recorded cloud copy holds other bytes than the local original: the original is kept',
      );
      return null;
    } catch (err) {
      this.deps.log.warn(
        { imageId: image.id, reason: messageOf(err) },
        'the recorded cloud copy could not be checked: the original is kept',
      );
      return null;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }
}
