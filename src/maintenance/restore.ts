import { unlink } from 'node:fs/promises';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { BadUserInputError, messageOf, NotFoundError } from '../domain/errors.js';
import { redactPaths } from '../domain/redact.js';
import { thumbnailEvicted, type ImageRecord } from '../domain/types.js';
import { ownerScope, visibleOrNotFound, type Viewer } from '../domain/viewer.js';
import type { ConversationStore, ImageStore, ImageQueries } from '../metadata/metadata-store.js';
import { walkImages } from '../metadata/walk.js';
import type { LocalFiles } from '../files/ports.js';

export interface RestoreInput {
  conversationId?: string | null;
  imageIds?: readonly string[] | null;
  dryRun?: boolean | null;
}

export interface RestoreFailure {
  imageId: string;
  reason: string;
}

export interface LostImage {
  imageId: string;
  conversationId: string;
  reason: string;
}

export interface RestoreResult {
  scanned: number;
  restored: number;
  alreadyPresent: number;
  noCloudCopy: number;
  failed: number;
  /** The first MAX_LISTED failures; `failed` counts them all. */
  failures: RestoreFailure[];
  /** Thumbnails made again from the original (local or downloaded). */
  thumbnailsRegenerated: number;
  /** Images whose original cleanup removed on purpose: their thumbnail is checked, the original is not restored. */
  cloudOnly: number;
  /** Images with neither a good local copy nor a cloud copy (the first MAX_LISTED). */
  lost: LostImage[];
}

/** What restore needs of the local files: everything but the upload journal. */
export type RestoreFiles = Omit<LocalFiles, 'journal'>;

export interface RestoreDeps {
  store: ConversationStore & ImageStore & ImageQueries;
  files: RestoreFiles;
  /** Downloads an allowed cloud URL into a temp path, fsync'd; throws with a reason otherwise (src/cloud/download.ts). */
  download: (url: string, path: string) => Promise<{ bytes: number; sha256: string }>;
  sha256File: (path: string) => Promise<string>;
  /** A thumbnail of `input` in the format `key` names (thumbnailFormatOf). */
  thumbnail: (input: string | Buffer, key: string) => Promise<Buffer>;
  concurrency: number;
  log: Logger;
  /** A download held other bytes than the recorded sha256: the copy changed at its host (flag it, count it). */
  onAltered?: (image: ImageRecord) => Promise<void>;
}

export const MAX_LISTED = 100;
const MAX_IMAGE_IDS = 1000;

type Outcome = 'restored' | 'present' | 'noCloud' | 'cloudOnly' | 'gone' | 'altered';

/**
 * restoreImages: for each image in scope whose local copy is missing or does not match its
 * sha256, the cloud copy is downloaded, checked against the recorded sha256, and only then moved
 * into place (temp file, fsync, rename), so a bad download never replaces anything. Missing
 * thumbnails are made again. Running it twice is harmless: the second run finds everything
 * present, so an interrupted restore is resumed by running it again.
 */
export class RestoreService {
  constructor(private readonly deps: RestoreDeps) {}

  async restore(
    viewer: Viewer,
    input: RestoreInput = {},
    onProgress?: (done: number, total: number) => void,
  ): Promise<RestoreResult> {
    const result: RestoreResult = {
      scanned: 0,
      restored: 0,
      alreadyPresent: 0,
      noCloudCopy: 0,
      failed: 0,
      failures: [],
      thumbnailsRegenerated: 0,
      cloudOnly: 0,
      lost: [],
    };
    const dryRun = input.dryRun ?? false;
    const limit = pLimit(Math.max(1, this.deps.concurrency));
    let total = 0;
    if (!dryRun) await this.deps.files.init();
    // Pages overlap: the next page is read and queued while the last of the previous one still
    // downloads, so concurrency never drains at a page boundary. At most two pages are held.
    let previous: Promise<unknown> = Promise.resolve();
    for await (const page of this.scope(viewer, input, (n) => (total = n))) {
      const current = Promise.all(
        page.map((image) =>
          limit(async () => {
            try {
              this.count(result, image, await this.restoreOne(image, dryRun, result));
            } catch (e) {
              result.failed++;
              // The reason reaches the admin's client: no server paths in it (the log keeps them).
              if (result.failures.length < MAX_LISTED)
                result.failures.push({
                  imageId: image.id,
                  reason: redactPaths(messageOf(e)),
                });
              this.deps.log.warn({ imageId: image.id, reason: messageOf(e) }, 'restore of an image failed');
            }
            result.scanned++;
            onProgress?.(result.scanned, total);
          }),
        ),
      );
      await previous;
      previous = current;
    }
    await previous;
    return result;
  }

  private count(result: RestoreResult, image: ImageRecord, outcome: Outcome): void {
    if (outcome === 'restored') result.restored++;
    else if (outcome === 'present') result.alreadyPresent++;
    else if (outcome === 'cloudOnly') result.cloudOnly++;
    else if (outcome === 'noCloud' || outcome === 'altered') {
      result.noCloudCopy++;
      if (result.lost.length < MAX_LISTED) {
        const reason =
          outcome === 'noCloud'
            ? 'no local copy matching its sha256 and no cloud copy'
            : `no local copy matching its sha256, and its cloud copy was found changed at the host (${image.cloudAlteredAt?.toISOString() ?? 'just now'}): nothing holds the original bytes`;
        result.lost.push({ imageId: image.id, conversationId: image.conversationId, reason });
      }
    }
  }

  /** The images to look at, page by page; ids and conversations are checked before any work starts. */
  private async *scope(
    viewer: Viewer,
    input: RestoreInput,
    onTotal: (n: number) => void,
  ): AsyncGenerator<ImageRecord[]> {
    if (input.imageIds) {
      const ids = [...new Set(input.imageIds)];
      if (ids.length > MAX_IMAGE_IDS)
        throw new BadUserInputError(
          `imageIds lists ${ids.length} images; at most ${MAX_IMAGE_IDS} are accepted. Restore by conversationId or without a scope instead.`,
        );
      const found = new Map((await this.deps.store.getImagesByIds(ids)).map((i) => [i.id, i]));
      const images = ids.map((id) => {
        const image = visibleOrNotFound(viewer, 'Image', id, found.get(id));
        if (input.conversationId && image.conversationId !== input.conversationId) throw new NotFoundError('Image', id);
        return image;
      });
      onTotal(images.length);
      for (let i = 0; i < images.length; i += 100) yield images.slice(i, i + 100);
      return;
    }
    if (input.conversationId) {
      const [conversation] = await this.deps.store.getConversationsByIds([input.conversationId]);
      visibleOrNotFound(viewer, 'Conversation', input.conversationId, conversation);
      yield* walkImages(this.deps.store, null, { conversationId: input.conversationId }, onTotal);
      return;
    }
    yield* walkImages(this.deps.store, ownerScope(viewer), {}, onTotal);
  }

  private async restoreOne(image: ImageRecord, dryRun: boolean, result: RestoreResult): Promise<Outcome> {
    if (image.localKey === null) {
      // Cleanup removed the original on purpose; only its thumbnail is kept locally, unless the
      // provider holds the thumbnail too (s3), when cleanup evicted both and nothing is remade.
      if (
        image.thumbnailKey &&
        image.cloudUrl &&
        !thumbnailEvicted(image) &&
        !dryRun &&
        !(await this.deps.files.stat(image.thumbnailKey))
      ) {
        await this.withDownload(
          image,
          image.cloudUrl,
          () => true,
          async (temp) => this.writeThumbnail(image, temp, result),
        );
        if (await this.deletedMeanwhile(image, [image.thumbnailKey])) return 'gone';
      }
      return 'cloudOnly';
    }
    const key = image.localKey;
    if (await this.localCopyGood(image, key)) {
      if (!dryRun && image.thumbnailKey && !(await this.deps.files.stat(image.thumbnailKey))) {
        await this.writeThumbnail(image, this.deps.files.absolutePath(key), result);
        if (await this.deletedMeanwhile(image, [image.thumbnailKey])) return 'gone';
      }
      return 'present';
    }
    if (!image.cloudUrl) return 'noCloud';
    if (dryRun) return image.cloudAlteredAt ? 'altered' : 'restored';
    let moved = false;
    // A copy found altered before is downloaded again (its host may have put it back); if it still
    // differs the image is reported with the others nothing holds, not as a new failure.
    const written = await this.withDownload(
      image,
      image.cloudUrl,
      () => !moved,
      async (temp) => {
        const keys = [key];
        if (image.thumbnailKey && !(await this.deps.files.stat(image.thumbnailKey))) {
          await this.writeThumbnail(image, temp, result);
          keys.push(image.thumbnailKey);
        }
        await this.deps.files.putFromFile(key, temp, { synced: true });
        moved = true;
        return keys;
      },
    );
    if (written === 'altered') return 'altered';
    if (image.cloudAlteredAt) await this.deps.store.updateImage(image.id, { cloudAlteredAt: null });
    return (await this.deletedMeanwhile(image, written)) ? 'gone' : 'restored';
  }

  /**
   * A delete that ran meanwhile removed the record (and maybe the files before we wrote ours):
   * what this restore wrote must not outlive it. True when that happened.
   */
  private async deletedMeanwhile(image: ImageRecord, written: string[]): Promise<boolean> {
    if ((await this.deps.store.getImagesByIds([image.id])).length > 0) return false;
    for (const k of written) await this.deps.files.delete(k).catch(() => undefined);
    this.deps.log.info({ imageId: image.id }, 'image deleted while it was restored; the restored files were removed');
    return true;
  }

  /** Present, and (when a digest is recorded) byte for byte the recorded one. */
  private async localCopyGood(image: ImageRecord, key: string): Promise<boolean> {
    if (!(await this.deps.files.stat(key))) return false;
    // Files of the older app carry no digest: present is all that can be checked.
    if (!image.sha256) return true;
    return (await this.deps.sha256File(this.deps.files.absolutePath(key))) === image.sha256;
  }

  /**
   * Downloads the cloud copy to a temp file, verifies it, and hands it to `use`; the temp file
   * never stays (unless `use` moved it). A copy already flagged as altered that still differs
   * answers 'altered' instead of throwing.
   */
  private async withDownload<T>(
    image: ImageRecord,
    url: string,
    stillThere: () => boolean,
    use: (temp: string) => Promise<T>,
  ): Promise<T | 'altered'> {
    const temp = this.deps.files.tempPath();
    try {
      const got = await this.deps.download(url, temp);
      if (image.sha256 && got.sha256 !== image.sha256) {
        if (image.cloudAlteredAt) return 'altered';
        // Flagged (and counted), so the next restore lists it with the images nothing holds.
        await this.deps.onAltered?.(image);
        // The hash of what was fetched is not shown: a refused body's digest would be an oracle on
        // whatever the URL reached.
        throw new Error(
          'the cloud copy does not match the recorded sha256 (changed at the host?); nothing was written',
        );
      }
      return await use(temp);
    } finally {
      if (stillThere()) await unlink(temp).catch(() => undefined);
    }
  }

  private async writeThumbnail(image: ImageRecord, source: string | Buffer, result: RestoreResult): Promise<void> {
    if (!image.thumbnailKey) return;
    await this.deps.files.put(image.thumbnailKey, await this.deps.thumbnail(source, image.thumbnailKey));
    result.thumbnailsRegenerated++;
  }
}
