/**
 * The change log: what happened to the images and messages of each conversation, in order,
 * for live updates (GraphQL subscriptions) on every server sharing one store. Written by the
 * store decorator in src/events/recording-store.ts after each write it reports; read by the
 * feed in src/events/feed.ts, one reader per process.
 *
 * Both adapters implement it: SQLite as a table with an AUTOINCREMENT sequence (SQLite commits
 * one writer at a time, so sequence order is commit order and a reader never skips a row that
 * commits later), MongoDB as a capped collection read with a tailable cursor (natural order,
 * which MongoDB keeps free of holes for capped collections, on a standalone server as on a
 * replica set).
 */
export type ChangeKind = 'MESSAGE_ADDED' | 'IMAGE_ADDED' | 'IMAGE_CHANGED' | 'IMAGE_DELETED';

export interface NewChange {
  kind: ChangeKind;
  conversationId: string;
  /** The owner of the conversation (the feed checks nothing with it; it is for operators). */
  userId: string;
  messageId: string;
  /** Null for MESSAGE_ADDED. */
  imageId: string | null;
}

export interface Change extends NewChange {
  /** Opaque, increasing in the order changes are read. */
  cursor: string;
  at: Date;
}

export interface ChangeLog {
  /** Appends changes, in order, as one write. */
  appendChanges(changes: readonly NewChange[]): Promise<void>;
  /**
   * Changes appended after the one `after` names (a `cursor` it yielded before), or after this
   * call started, in order, until `signal` aborts. `wake` is called by this process's own
   * appends, so a reader that polls can look at once.
   */
  tailChanges(o: {
    signal: AbortSignal;
    pollMs: number;
    wake: WakeWaiter;
    after?: string | null;
  }): AsyncIterable<Change>;
}

/** What a reader of the log waits on between reads: a WakeSignal, or the feed's gate in front of one. */
export interface WakeWaiter {
  /** Resolves on the next wake, after `ms`, or when `signal` aborts, whichever is first. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * A way for appends in this process to wake a reader that is waiting between polls. A wake while
 * no one waits is kept for the next wait, which then returns at once: an append made while the
 * reader was still reading (after its query, before it waits again) is not left for the poll.
 */
export class WakeSignal implements WakeWaiter {
  private waiters: (() => void)[] = [];
  private pending = false;

  wake(): void {
    if (this.waiters.length === 0) {
      this.pending = true;
      return;
    }
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  /** Resolves on the next wake, after `ms`, or when `signal` aborts, whichever is first. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.push(done);
    });
  }
}
