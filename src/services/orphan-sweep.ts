import type { Logger } from 'pino';
import type { ImageRecord } from '../domain/types.js';
import { sameFileKey } from '../storage/local-file-store.js';
import type { MetadataStore } from '../store/metadata-store.js';

/**
 * Whether the record keeps this file: as its original or thumbnail. A file at the key of an
 * original that cleanup evicted is an orphan too (a cleanup or restore interrupted mid-way).
 */
function isReferenced(image: ImageRecord | null, key: string): boolean {
  if (!image) return false;
  return sameFileKey(image.localKey, key) || sameFileKey(image.thumbnailKey, key);
}

/** What the sweep needs of the local file store. */
export interface SweepFiles {
  listKeys(): AsyncIterable<{ key: string; size: number; mtime: Date }>;
  delete(key: string): Promise<boolean>;
  /** Moves the file aside (under STORAGE_DIR/.quarantine) instead of deleting it. */
  quarantine?(key: string): Promise<void>;
}

export interface SweepResult {
  scanned: number;
  removed: string[];
  /** Files without a record that are too young to judge: an upload may still be writing its record. */
  keptRecent: number;
  /** Orphans that could not be removed or moved (logged); the next pass tries again. */
  failed: number;
}

/**
 * How old an unrecorded file or a temp file must be before it counts as left behind: far above
 * any upload in flight (UPLOAD_IDLE_TIMEOUT_MS is 30 s), even in another instance sharing STORAGE_DIR.
 */
export const ORPHAN_MIN_AGE_MS = 3_600_000;

/**
 * An upload writes its files, then its record. A process killed between the two leaves files
 * no record points to. This removes them once they are older than `olderThanMs`
 * (ORPHAN_MIN_AGE_MS at start), so an upload in flight in another instance sharing STORAGE_DIR is never
 * touched. It runs at start; the reconcile pass of the CLI does the same and more.
 */
export async function sweepOrphanFiles(deps: {
  files: SweepFiles;
  store: Pick<MetadataStore, 'findImageByFileKey'>;
  now: Date;
  olderThanMs: number;
  log?: Logger;
  /** Move orphans aside instead of deleting them. */
  quarantine?: boolean;
  /** Report orphans, touch nothing. */
  dryRun?: boolean;
}): Promise<SweepResult> {
  const cutoff = deps.now.getTime() - deps.olderThanMs;
  const result: SweepResult = { scanned: 0, removed: [], keptRecent: 0, failed: 0 };
  for await (const file of deps.files.listKeys()) {
    result.scanned++;
    if (isReferenced(await deps.store.findImageByFileKey(file.key), file.key)) continue;
    if (file.mtime.getTime() > cutoff) {
      result.keptRecent++;
      continue;
    }
    if (deps.dryRun) {
      result.removed.push(file.key);
      continue;
    }
    // One file that cannot be removed (permissions, say) must not stop the pass.
    try {
      if (deps.quarantine && deps.files.quarantine) {
        await deps.files.quarantine(file.key);
        result.removed.push(file.key);
        deps.log?.warn({ key: file.key, bytes: file.size }, 'moved a file no image record points to into .quarantine');
      } else if (await deps.files.delete(file.key)) {
        result.removed.push(file.key);
        deps.log?.warn({ key: file.key, bytes: file.size }, 'removed a file no image record points to (left by an interrupted upload)');
      }
    } catch (err) {
      result.failed++;
      deps.log?.error({ err, key: file.key }, 'could not remove a file no image record points to; the next pass tries again');
    }
  }
  return result;
}
