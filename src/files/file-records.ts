import { createHash } from 'node:crypto';
import { thumbnailEvicted } from '../domain/types.js';
import type { ImageStore } from '../metadata/metadata-store.js';
import { THUMBNAIL_MIME_TYPES, thumbnailFormatOf } from '../images/thumbnail.js';
import { sameFileKey } from './local-file-store.js';

/** What GET /files needs to know of the file a key names. */
export interface FileRecord {
  mimeType: string;
  /** The ETag's digest. */
  sha256: string;
  /** Where to send the client when the local file is gone (evicted by cleanup, or lost with the disk). */
  cloudUrl?: string | null;
  /** The local file is gone on purpose. */
  evicted?: boolean;
}

/**
 * Which file of its image a key is: the original (`localKey`), the thumbnail (`thumbnailKey`:
 * WebP for ours, the seed's keep their format; its own ETag; its cloud copy, on s3, once cleanup
 * evicted it) or an original cleanup evicted (`evictedKey`). Null once no record names the key.
 */
export function fileRecords(
  store: Pick<ImageStore, 'findImageByFileKey'>,
): (key: string) => Promise<FileRecord | null> {
  return async (key) => {
    const image = await store.findImageByFileKey(key);
    if (!image) return null;
    const same = (stored: string | null) => sameFileKey(stored, key);
    // Files of the older app have no digest yet: their key (never reused) stands in, so two
    // such files never share an ETag.
    const digest = image.sha256 || `key-${createHash('sha256').update(key).digest('hex')}`;
    if (same(image.localKey)) return { mimeType: image.mimeType, sha256: digest, cloudUrl: image.cloudUrl };
    if (same(image.thumbnailKey)) {
      return {
        mimeType: THUMBNAIL_MIME_TYPES[thumbnailFormatOf(key)],
        sha256: `${digest}-thumb`,
        cloudUrl: image.thumbnailCloudUrl,
        evicted: thumbnailEvicted(image),
      };
    }
    return { mimeType: image.mimeType, sha256: digest, cloudUrl: image.cloudUrl, evicted: true };
  };
}
