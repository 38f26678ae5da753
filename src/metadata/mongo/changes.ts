import { ObjectId, type Collection, type Db } from 'mongodb';
import type { Change, ChangeKind, NewChange, WakeWaiter } from '../change-log.js';

/** A document of the `changes` capped collection (src/metadata/change-log.ts). */
export interface ChangeDoc {
  _id: ObjectId;
  at: Date;
  kind: ChangeKind;
  conversation_id: string;
  user_id: string;
  message_id: string;
  image_id: string | null;
}

/** 16 MB: some 80,000 changes, hours of a busy deployment; the oldest are dropped first. */
export const CHANGES_CAPPED_BYTES = 16 * 1024 * 1024;
/**
 * A tail (re)opens at changes this much older than its start or its last change: clocks of
 * servers on one store differ a little. Changes it already delivered are skipped by id.
 */
const CLOCK_SLACK_MS = 5000;

export function changeToDoc(change: NewChange, at: Date, id = new ObjectId()): ChangeDoc {
  return {
    _id: id,
    at,
    kind: change.kind,
    conversation_id: change.conversationId,
    user_id: change.userId,
    message_id: change.messageId,
    image_id: change.imageId,
  };
}

export function docToChange(doc: ChangeDoc): Change {
  return {
    cursor: `${doc.at.getTime()}:${doc._id.toHexString()}`,
    at: doc.at,
    kind: doc.kind,
    conversationId: doc.conversation_id,
    userId: doc.user_id,
    messageId: doc.message_id,
    imageId: doc.image_id,
  };
}

/**
 * The change log on MongoDB: a capped collection, read with a tailable cursor that waits for new
 * documents (awaitData). Capped collections keep insertion order and MongoDB shows a reader no
 * document before those inserted ahead of it are visible, so the tail misses nothing, on a
 * standalone server and on a replica set alike (change streams would need a replica set).
 *
 * A cursor dies when the collection wraps past it or its server goes away: the tail opens a
 * new one from its last change's time minus CLOCK_SLACK_MS and skips what it already gave.
 */
export class MongoChanges {
  readonly collection: Collection<ChangeDoc>;

  constructor(private readonly db: Db) {
    this.collection = db.collection<ChangeDoc>('changes');
  }

  async init(): Promise<void> {
    const exists = await this.db.listCollections({ name: 'changes' }, { nameOnly: true }).hasNext();
    if (!exists) {
      await this.db.createCollection('changes', { capped: true, size: CHANGES_CAPPED_BYTES }).catch((e: unknown) => {
        // Another server created it first.
        if (!(e instanceof Error && /already exists/i.test(e.message))) throw e;
      });
    }
  }

  async append(changes: readonly NewChange[]): Promise<void> {
    if (changes.length === 0) return;
    const at = new Date();
    await this.collection.insertMany(
      changes.map((c) => changeToDoc(c, at)),
      { ordered: true },
    );
  }

  async *tail(o: {
    signal: AbortSignal;
    pollMs: number;
    wake: WakeWaiter;
    after?: string | null;
  }): AsyncIterable<Change> {
    // Everything in natural order up to the change `after` names, or without it up to the newest
    // change in the log now, is older than this tail: skipped, and remembered as seen.
    let from = Date.now();
    let skipThrough: string | null = null;
    if (o.after) {
      const [at, id] = o.after.split(':');
      from = Number(at);
      skipThrough = id ?? null;
    } else {
      const newest = await this.collection
        .find({}, { sort: { $natural: -1 }, limit: 1, projection: { _id: 1, at: 1 } })
        .next();
      if (newest) {
        skipThrough = newest._id.toHexString();
        from = newest.at.getTime();
      }
    }
    const skipUntil = from + CLOCK_SLACK_MS;
    // Ids met at or after `from - 2 × CLOCK_SLACK_MS`: what a reopened cursor would give again.
    const seen = new Map<string, number>();
    while (!o.signal.aborted) {
      const cursor = this.collection.find(
        { at: { $gte: new Date(from - CLOCK_SLACK_MS) } },
        { tailable: true, awaitData: true, maxAwaitTimeMS: Math.max(100, o.pollMs * 10) },
      );
      const close = () => void cursor.close().catch(() => undefined);
      o.signal.addEventListener('abort', close, { once: true });
      try {
        for await (const doc of cursor) {
          const id = doc._id.toHexString();
          const at = doc.at.getTime();
          if (seen.has(id)) continue;
          seen.set(id, at);
          // (A change past the slack means the one to skip through is gone from the log: wrapped.)
          if (skipThrough && at <= skipUntil) {
            if (id === skipThrough) skipThrough = null;
            continue;
          }
          skipThrough = null;
          from = Math.max(from, at);
          for (const [k, t] of seen) if (t < from - 2 * CLOCK_SLACK_MS) seen.delete(k);
          yield docToChange(doc);
        }
      } catch (e) {
        // Closed by the abort while it waited: the end of the tail, not a failure.
        if (o.signal.aborted) return;
        throw e;
      } finally {
        o.signal.removeEventListener('abort', close);
        close();
      }
      // An empty collection gives a dead cursor at once: wait before opening another.
      if (!o.signal.aborted) await o.wake.wait(o.pollMs, o.signal);
    }
  }
}
