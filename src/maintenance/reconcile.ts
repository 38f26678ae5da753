import type { Logger } from 'pino';
import type { Viewer } from '../domain/viewer.js';
import type { ImageStore } from '../metadata/metadata-store.js';
import type { FileSweeping } from '../files/ports.js';
import { ORPHAN_MIN_AGE_MS, sweepOrphanFiles } from './orphan-sweep.js';
import type { RestoreResult, RestoreService } from './restore.js';

export interface ReconcileOptions {
  /** Move orphan files, and files no record keeps that the server did not write, to STORAGE_DIR/.quarantine. */
  quarantine?: boolean;
  dryRun?: boolean;
  /** Files younger than this may belong to an upload still writing its record. Default one hour. */
  orphanMinAgeMs?: number;
}

export interface ReconcileResult {
  /**
   * `orphans`: files of uploads that never stored their record (removed, or moved with
   * `quarantine`); `unrecorded`: files no record keeps that the server did not write (kept, or
   * moved with `quarantine`).
   */
  files: {
    scanned: number;
    orphans: string[];
    unrecorded: string[];
    keptRecent: number;
    quarantined: boolean;
    tempFilesRemoved: number;
    failed: number;
  };
  /** Records checked against the disk; missing copies restored from the cloud; `lost` lists those with neither copy. */
  records: RestoreResult;
}

const OPERATOR: Viewer = { userId: 'reconcile', isAdmin: true };

/**
 * Compares STORAGE_DIR with the store, both ways. Files an interrupted upload left (named in
 * the write journal, no record) are removed (or moved aside) once older than an hour, so uploads
 * in flight are safe, and so are temp files that old (left by a killed process); files no record
 * keeps that the server did not write are only reported (or, with `quarantine`, moved aside); records whose local copy is missing or damaged are restored from
 * the cloud; records with neither copy are reported as lost, never dropped.
 */
export class ReconcileService {
  constructor(
    private readonly deps: {
      store: Pick<ImageStore, 'findImageByFileKey'>;
      files: FileSweeping;
      restore: RestoreService;
      clock: () => Date;
      log: Logger;
    },
  ) {}

  async run(
    o: ReconcileOptions = {},
    onProgress?: (phase: 'files' | 'records', done: number, total: number) => void,
  ): Promise<ReconcileResult> {
    const { orphanMinAgeMs = ORPHAN_MIN_AGE_MS, quarantine = false, dryRun = false } = o;
    const sweep = await sweepOrphanFiles({
      files: this.deps.files,
      store: this.deps.store,
      now: this.deps.clock(),
      olderThanMs: orphanMinAgeMs,
      log: this.deps.log,
      quarantine,
      dryRun,
    });
    // Temp files of writes that never finished (a restore or upload whose process was killed).
    const tempFilesRemoved = await this.deps.files.cleanupTemp(orphanMinAgeMs, { dryRun });
    onProgress?.('files', sweep.scanned, sweep.scanned);
    const records = await this.deps.restore.restore(OPERATOR, { dryRun }, (done, total) =>
      onProgress?.('records', done, total),
    );
    for (const lost of records.lost) this.deps.log.error(lost, 'image lost: no local copy and no cloud copy');
    this.deps.log.info(
      {
        orphans: sweep.removed.length,
        unrecorded: sweep.unrecorded.length,
        orphansFailed: sweep.failed,
        tempFilesRemoved,
        keptRecent: sweep.keptRecent,
        restored: records.restored,
        failed: records.failed,
        lost: records.noCloudCopy,
      },
      'reconcile finished',
    );
    return {
      files: {
        scanned: sweep.scanned,
        orphans: sweep.removed,
        unrecorded: sweep.unrecorded,
        keptRecent: sweep.keptRecent,
        quarantined: quarantine,
        tempFilesRemoved,
        failed: sweep.failed,
      },
      records,
    };
  }
}
