import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * How often the checkpointer copies the write-ahead log into the database file. An upload
 * writes about 15 pages (the image row and its indexes), so at 40 uploads a second the log
 * holds a few hundred pages between two checkpoints.
 */
export const CHECKPOINT_INTERVAL_MS = 250;

/**
 * What the store's own connection keeps of SQLite's automatic checkpoint: only a safety net
 * (40 MB of log at 4 KiB pages) for a checkpointer that has stopped. Left at SQLite's default
 * of 1,000 pages, the commit that crosses it runs the checkpoint itself, fsyncs included, on
 * the event loop: measured on 2,000 inserts of an image, 1% of commits took 8 to 36 ms.
 */
export const SAFETY_AUTOCHECKPOINT_PAGES = 10_000;

/** One PASSIVE checkpoint's result, as `PRAGMA wal_checkpoint` reports it. */
export interface CheckpointResult {
  busy: number;
  /** Frames in the log. */
  log: number;
  /** Frames of them now copied into the database file. */
  checkpointed: number;
}

// Plain JavaScript run by the worker (eval: the same code from src/ under the tests and from
// dist/ in production). Its own connection; PASSIVE never waits for a lock nor blocks a writer,
// and a checkpoint with nothing to copy does no I/O.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (workerData.report) parentPort.postMessage({ busy: r.busy, log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message || e) });
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Runs SQLite's WAL checkpoints on a worker thread with its own connection, so that no commit
 * of the server's (an upload's record, a replication lease) pays for one on the event loop.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(o: {
    path: string;
    intervalMs?: number;
    /** Called after each checkpoint (tests). */
    onCheckpoint?: (r: CheckpointResult) => void;
    onError: (message: string) => void;
  }) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        path: o.path,
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        intervalMs: o.intervalMs ?? CHECKPOINT_INTERVAL_MS,
        report: o.onCheckpoint !== undefined,
      },
    });
    // A timer of the worker's own must not keep the server's process alive.
    this.worker.unref();
    this.worker.on('message', (m: CheckpointResult | { error: string }) => {
      if ('error' in m) o.onError(m.error);
      else o.onCheckpoint?.(m);
    });
    this.worker.on('error', (e) => o.onError(e.message));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Stops the worker after the checkpoint it may be running, and closes its connection. */
  async stop(): Promise<void> {
    // Referenced again while it stops: waiting on an unreferenced worker's exit keeps nothing
    // alive, so a process with no other work (a CLI command closing its store) would end here,
    // in the middle of the await, before printing its result.
    this.worker.ref();
    this.worker.postMessage('stop');
    // A worker stuck in a checkpoint (a hung disk) is ended rather than waited for forever.
    const stuck = setTimeout(() => void this.worker.terminate(), 5000);
    stuck.unref();
    await this.exited;
    clearTimeout(stuck);
  }
}
