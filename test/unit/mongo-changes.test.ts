/**
 * The MongoDB change log's tail (src/metadata/mongo/changes.ts) over an in-memory stand-in for a
 * capped collection: documents in insertion (natural) order, a tailable cursor that waits for
 * more and can die, as MongoDB's does when the collection wraps. What is tested is this
 * module's own logic: skip what came before the tail, reopen a dead cursor without giving
 * anything twice or missing anything, resume from a cursor. (MongoDB itself runs in the
 * contract suite, where a mongod is available.)
 */
import { ObjectId, type Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { WakeSignal, type Change, type NewChange } from '../../src/metadata/change-log.js';
import { changeToDoc, MongoChanges, type ChangeDoc } from '../../src/metadata/mongo/changes.js';
import { take } from '../support/changes.js';

class FakeCapped {
  docs: ChangeDoc[] = [];
  private waiters: (() => void)[] = [];
  private cursors = new Set<{ dead: boolean; wake: () => void }>();
  opened = 0;

  insert(docs: ChangeDoc[]): void {
    this.docs.push(...docs);
    this.waiters.splice(0).forEach((w) => w());
  }

  /** Kills every open tailable cursor, as a wrap of the capped collection does. */
  killCursors(): void {
    for (const c of this.cursors) {
      c.dead = true;
      c.wake();
    }
  }

  find(filter: { at?: { $gte: Date } }, options: { sort?: { $natural: number }; tailable?: boolean }) {
    if (options.sort?.$natural === -1) return { next: async () => this.docs.at(-1) ?? null };
    this.opened++;
    const min = filter.at?.$gte.getTime() ?? -Infinity;
    const state = { dead: false, closed: false, wake: () => undefined as void };
    this.cursors.add(state);
    const docs = this.docs;
    const waiters = this.waiters;
    return {
      close: async () => {
        state.closed = true;
        state.wake();
      },
      async *[Symbol.asyncIterator]() {
        let i = 0;
        for (;;) {
          while (i < docs.length) {
            // A dead cursor gives nothing more (its next getMore fails).
            if (state.dead || state.closed) return;
            const doc = docs[i++]!;
            if (doc.at.getTime() >= min) yield doc;
          }
          if (state.dead || state.closed) return;
          await new Promise<void>((resolve) => {
            state.wake = resolve;
            waiters.push(resolve);
          });
        }
      },
    };
  }
}

function setup() {
  const capped = new FakeCapped();
  const db = { collection: () => capped } as unknown as Db;
  return { capped, changes: new MongoChanges(db) };
}

let n = 0;
const doc = (at: number): ChangeDoc => {
  const c: NewChange = {
    kind: 'IMAGE_CHANGED',
    conversationId: 'c'.repeat(24),
    userId: 'alice',
    messageId: 'm'.repeat(24),
    imageId: (++n).toString(16).padStart(24, '0'),
  };
  return changeToDoc(c, new Date(at), new ObjectId());
};

describe('the MongoDB change log tail', () => {
  it('skips what the log held when it started, even in the same millisecond, and gives each new change once, in order', async () => {
    const { capped, changes } = setup();
    const t = Date.now();
    capped.insert([doc(t - 3000), doc(t), doc(t)]);
    const abort = new AbortController();
    const tail = changes.tail({ signal: abort.signal, pollMs: 10, wake: new WakeSignal() })[Symbol.asyncIterator]();
    const first = tail.next();
    await new Promise((r) => setTimeout(r, 20));
    const fresh = [doc(t), doc(t + 1), doc(t + 2)];
    capped.insert(fresh);
    const got = [(await first).value as Change, ...(await take(tail, 2))];
    expect(got.map((c) => c.imageId)).toEqual(fresh.map((d) => d.image_id));
    expect(await take(tail, 1, 100)).toEqual([]);
    abort.abort();
  });

  it('reopens a dead cursor without giving a change twice or missing one', async () => {
    const { capped, changes } = setup();
    const t = Date.now();
    const abort = new AbortController();
    const tail = changes.tail({ signal: abort.signal, pollMs: 10, wake: new WakeSignal() })[Symbol.asyncIterator]();
    const pending = tail.next();
    await new Promise((r) => setTimeout(r, 20));
    const before = [doc(t), doc(t + 1)];
    capped.insert(before);
    const got = [(await pending).value as Change, ...(await take(tail, 1))];
    capped.killCursors();
    await new Promise((r) => setTimeout(r, 50));
    const after = [doc(t + 1), doc(t + 2)];
    capped.insert(after);
    got.push(...(await take(tail, 2)));
    expect(capped.opened).toBeGreaterThanOrEqual(2);
    expect(got.map((c) => c.imageId)).toEqual([...before, ...after].map((d) => d.image_id));
    expect(await take(tail, 1, 100)).toEqual([]);
    abort.abort();
  });

  it('resumes after a cursor it gave: the changes after it, none before, also within the same millisecond', async () => {
    const { capped, changes } = setup();
    const t = Date.now();
    const docs = [doc(t), doc(t), doc(t), doc(t + 5)];
    capped.insert(docs);
    const cursor = `${t}:${docs[1]!._id.toHexString()}`;
    const abort = new AbortController();
    const resumedChanges = changes.tail({ signal: abort.signal, pollMs: 10, wake: new WakeSignal(), after: cursor });
    const resumed = resumedChanges[Symbol.asyncIterator]();
    expect((await take(resumed, 2)).map((c) => c.imageId)).toEqual([docs[2]!.image_id, docs[3]!.image_id]);
    abort.abort();
  });

  it('ends quietly when its signal aborts while it waits', async () => {
    const { changes } = setup();
    const abort = new AbortController();
    const tail = changes.tail({ signal: abort.signal, pollMs: 10, wake: new WakeSignal() })[Symbol.asyncIterator]();
    const pending = tail.next();
    setTimeout(() => abort.abort(), 30);
    expect(await pending).toMatchObject({ done: true });
  });
});
