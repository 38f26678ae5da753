import type { Logger } from 'pino';
import { thumbnailEvicted, type ImageRecord } from '../domain/types.js';
import { sameFileKey } from '../files/local-file-store.js';
import type { ImageStore } from '../metadata/metadata-store.js';
import type { FileSweeping } from '../files/ports.js';

/**
 * Whether the record keeps this file: as its original or thumbnail. A file at the key of an
 * original that cleanup evicted is an orphan too (a cleanup or restore interrupted mid-way), and
 * so is one at the key of a thumbnail cleanup evicted with it (s3 holds both).
 */
function isReferenced(image: ImageRecord | null, key: string): boolean {
  if (!image) return false;
  return sameFileKey(image.localKey, key) || (sameFileKey(image.thumbnailKey, key) && !thumbnailEvicted(image));
}

/** What the sweep needs of the local file store (quarantine only when asked to move files aside). */
export type SweepFiles = Omit<FileSweeping, 'cleanupTemp' | 'quarantine'> & Partial<Pick<FileSweeping, 'quarantine'>>;

export interface SweepResult {
  scanned: number;
  /** Files this server wrote for an upload that never stored its record: removed (or, with `quarantine`, moved aside). */
  removed: string[];
  /**
   * Files no record keeps that this server cannot show it wrote (another app's, a restore of an
   * old backup, ours from before the write journal): never deleted. Listed; with `quarantine`,
   * moved to STORAGE_DIR/.quarantine.
   */
  unrecorded: string[];
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
 * An upload notes its keys in the write journal, writes its files, then its record. A process
 * killed between the two leaves files no record points to, and the note naming them. This
 * removes such files once they are older than `olderThanMs` (ORPHAN_MIN_AGE_MS at start), so an
 * upload in flight in another instance sharing STORAGE_DIR is never touched, and then the notes.
 *
 * A file without a record and without a note is not the server's to delete, whatever its name
 * (the seed chatbot uses the same `img_…` names): a PDF a user uploaded to the older app, a
 * thumbnail its records do not name. It is reported, and moved to `.quarantine` only when the
 * operator asks (`quarantine`, the CLI's `reconcile --quarantine`). It runs at start; the
 * reconcile pass of the CLI does the same and more.
 */
export async function sweepOrphanFiles(deps: {
  files: SweepFiles;
  store: Pick<ImageStore, 'findImageByFileKey'>;
  now: Date;
  olderThanMs: number;
  log?: Logger;
  /** Move orphans, and files the server did not write, aside instead of deleting or keeping them. */
  quarantine?: boolean;
  /** Report, touch nothing. */
  dryRun?: boolean;
}): Promise<SweepResult> {
  const cutoff = deps.now.getTime() - deps.olderThanMs;
  const result: SweepResult = { scanned: 0, removed: [], unrecorded: [], keptRecent: 0, failed: 0 };
  // Only notes older than the cutoff: a younger one may belong to an upload still in flight.
  const notes: { keys: string[]; remove(): Promise<void> }[] = [];
  for await (const note of deps.files.listJournal()) if (note.mtime.getTime() <= cutoff) notes.push(note);
  const written = new Set(notes.flatMap((n) => n.keys));
  const stuck = new Set<string>();

  for await (const file of deps.files.listKeys()) {
    result.scanned++;
    if (isReferenced(await deps.store.findImageByFileKey(file.key), file.key)) continue;
    if (file.mtime.getTime() > cutoff) {
      result.keptRecent++;
      continue;
    }
    const ours = written.has(file.key);
    if (!ours && !deps.quarantine) {
      result.unrecorded.push(file.key);
      continue;
    }
    if (deps.dryRun) {
      (ours ? result.removed : result.unrecorded).push(file.key);
      continue;
    }
    // One file that cannot be removed (permissions, say) must not stop the pass.
    try {
      if (deps.quarantine && deps.files.quarantine) {
        await deps.files.quarantine(file.key);
        (ours ? result.removed : result.unrecorded).push(file.key);
        deps.log?.warn({ key: file.key, bytes: file.size }, 'moved a file no image record points to into .quarantine');
      } else if (await deps.files.delete(file.key)) {
        result.removed.push(file.key);
        deps.log?.warn(
          { key: file.key, bytes: file.size },
          'removed a file this server wrote for an upload that never stored its record',
        );
      }
    } catch (err) {
      result.failed++;
      stuck.add(file.key);
      deps.log?.error(
        { err, key: file.key },
        'could not remove a file no image record points to; the next pass tries again',
      );
    }
  }
  if (!deps.dryRun) {
    // A note is done with once none of its files is left to remove.
    for (const note of notes) if (!note.keys.some((k) => stuck.has(k))) await note.remove();
  }
  if (result.unrecorded.length > 0 && !deps.quarantine) {
    deps.log?.warn(
      { count: result.unrecorded.length, first: result.unrecorded.slice(0, 10) },
      'files no image record points to, which this server did not write, are kept: `hybrid-image-store reconcile --quarantine` moves them to .quarantine',
    );
  }
  return result;
}
