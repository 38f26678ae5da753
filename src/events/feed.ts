import type { Logger } from 'pino';
import { DomainError } from '../domain/errors.js';
import { WakeSignal, type Change, type ChangeLog, type WakeWaiter } from '../metadata/change-log.js';

/**
 * Raised in a subscriber that fell too far behind: it is ended rather than let memory grow.
 * SERVICE_UNAVAILABLE, as the same subscription may be sent again.
 */
export class SubscriberTooSlowError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE' as const;
}

interface Subscriber {
  conversationId: string;
  queue: Change[];
  /** Set while the consumer waits for the next change. */
  waiting: ((r: IteratorResult<Change>) => void) | null;
  failed: Error | null;
  done: boolean;
}

/**
 * One reader of the change log per process, fanned out to every live subscription of this
 * process by conversation. It reads from the moment the server starts, so a subscription
 * registered before a write sees that write, wherever the write was made: in this process (its
 * own appends wake the reader at once) or in another one sharing the store (seen within
 * `pollMs` on SQLite, as MongoDB's tailable cursor returns it).
 *
 * Each subscriber has a queue of at most `maxQueue` changes; a consumer that falls further
 * behind (a client not reading its socket) is ended with SubscriberTooSlowError.
 *
 * While nobody in this process is subscribed, the reader does not answer this process's own
 * appends: on SQLite it reads only every `pollMs`, to keep its place, so a write nobody listens
 * to costs no read of the log (before, every upload was followed by one; MongoDB's tailable
 * cursor hands over changes as they come either way). The first subscriber wakes it
 * at once, and from then on every append does again, so a change made after a subscription
 * started is delivered as promptly as before. What that first read finds may go back up to one
 * poll before the subscription, as a change from another server could already: a client applies
 * an event for an image it already shows as an update (docs/api.md).
 */
export class ChangeFeed {
  private readonly byConversation = new Map<string, Set<Subscriber>>();
  private readonly abort = new AbortController();
  private reading: Promise<void> | null = null;
  private count = 0;
  /** Woken by the first subscriber, while the reader waits with nobody subscribed. */
  private readonly joined = new WakeSignal();
  /** What the reader waits on: this process's appends while anyone listens, else only the poll or a first subscriber. */
  private readonly readerWake: WakeWaiter = {
    wait: (ms, signal) => (this.count > 0 ? this.o.wake : this.joined).wait(ms, signal),
  };

  constructor(
    private readonly changes: ChangeLog,
    private readonly o: { pollMs: number; wake: WakeSignal; log: Logger; maxQueue: number; retryMs?: number },
  ) {}

  /** Live subscriptions in this process. */
  get size(): number {
    return this.count;
  }

  start(): void {
    this.reading ??= this.read();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.reading;
    for (const set of this.byConversation.values()) for (const s of set) this.end(s);
    this.byConversation.clear();
  }

  /** The changes of one conversation from now on, until the iterator is returned. */
  subscribe(conversationId: string): AsyncIterableIterator<Change> {
    const s: Subscriber = { conversationId, queue: [], waiting: null, failed: null, done: false };
    let set = this.byConversation.get(conversationId);
    if (!set) this.byConversation.set(conversationId, (set = new Set()));
    set.add(s);
    if (++this.count === 1) this.joined.wake();
    const leave = () => {
      if (s.done) return;
      this.end(s);
      const members = this.byConversation.get(conversationId);
      members?.delete(s);
      if (members?.size === 0) this.byConversation.delete(conversationId);
    };
    const iterator: AsyncIterableIterator<Change> = {
      next: () => {
        if (s.failed) {
          const e = s.failed;
          s.failed = null;
          leave();
          return Promise.reject(e);
        }
        const change = s.queue.shift();
        if (change) return Promise.resolve({ value: change, done: false });
        if (s.done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (s.waiting = resolve));
      },
      return: () => {
        leave();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  private end(s: Subscriber): void {
    if (s.done) return;
    s.done = true;
    this.count--;
    s.queue = [];
    const waiting = s.waiting;
    s.waiting = null;
    waiting?.({ value: undefined, done: true });
  }

  private deliver(change: Change): void {
    const set = this.byConversation.get(change.conversationId);
    if (!set) return;
    for (const s of set) {
      if (s.waiting) {
        const waiting = s.waiting;
        s.waiting = null;
        waiting({ value: change, done: false });
      } else if (s.queue.length < this.o.maxQueue) {
        s.queue.push(change);
      } else if (!s.failed) {
        s.failed = new SubscriberTooSlowError(
          `This subscription fell more than ${this.o.maxQueue} updates behind and was ended: read faster, or subscribe again and query what changed.`,
        );
        s.queue = [];
      }
    }
  }

  /** Reads the log for as long as the server runs; a failed read is tried again after `retryMs`. */
  private async read(): Promise<void> {
    const signal = this.abort.signal;
    // After a failure the read goes on from the last change delivered, so none is skipped.
    let after: string | null = null;
    while (!signal.aborted) {
      try {
        for await (const change of this.changes.tailChanges({
          signal,
          pollMs: this.o.pollMs,
          wake: this.readerWake,
          after,
        })) {
          after = change.cursor;
          this.deliver(change);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.o.log.warn({ err }, 'reading the change log failed; live subscribers get no updates until it reads again');
        await this.o.wake.wait(this.o.retryMs ?? 1000, signal);
      }
    }
  }
}
