import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointResult } from '../../src/metadata/sqlite/checkpointer.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { makeConversation, makeImage, makeMessage } from '../support/factories.js';
import { eventually } from '../support/eventually.js';

/**
 * The server's SQLite store copies its write-ahead log into the database file on a worker
 * thread (src/metadata/sqlite/checkpointer.ts), so that no upload's commit runs a checkpoint,
 * fsyncs included, on the event loop. Real files, a real worker.
 */

const dirs: string[] = [];
const stores: SqliteMetadataStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function open(checkpoints?: { onCheckpoint(r: CheckpointResult): void; onError(m: string): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'his-checkpointer-'));
  dirs.push(dir);
  const path = join(dir, 'metadata.sqlite');
  const store = new SqliteMetadataStore({
    path,
    ...(checkpoints ? { checkpoints: { intervalMs: 20, ...checkpoints } } : {}),
  });
  stores.push(store);
  await store.init();
  return { store, path };
}

async function uploads(store: SqliteMetadataStore, n: number) {
  const conversation = makeConversation({ userId: 'alice' });
  await store.createConversation(conversation);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const message = makeMessage(conversation, { id: (0x1000 + i).toString(16).padStart(24, '0') });
    const image = makeImage(message, { id: (0x9000 + i).toString(16).padStart(24, '0') });
    await store.addMessage({ ...message, images: [image] });
    ids.push(image.id);
  }
  return { conversation, ids };
}

/** The log's state as a second connection sees it: frames in it, and how many are copied back. */
function walState(path: string): { log: number; checkpointed: number } {
  const db = new Database(path);
  try {
    // A NOOP checkpoint does not copy anything: it only reports.
    const [r] = db.pragma('wal_checkpoint(NOOP)') as { log: number; checkpointed: number }[];
    return { log: r!.log, checkpointed: r!.checkpointed };
  } finally {
    db.close();
  }
}

describe('SQLite WAL checkpoints on a worker thread', () => {
  it('copies every committed frame into the database file while the store keeps writing', async () => {
    const seen: CheckpointResult[] = [];
    const errors: string[] = [];
    const { store, path } = await open({ onCheckpoint: (r) => seen.push(r), onError: (m) => errors.push(m) });
    const { ids } = await uploads(store, 60);

    // The worker reports a checkpoint that found frames and copied all of them.
    const last = await eventually(
      () => seen.at(-1),
      (r) => r !== undefined && r.log > 0 && r.checkpointed === r.log,
      5000,
      10,
    );
    expect(last).toMatchObject({ busy: 0 });
    expect(last!.checkpointed).toBe(last!.log);
    expect(last!.log).toBeGreaterThan(0);
    expect(errors).toEqual([]);

    // And the rows are in the file itself: read with the log out of the way, every image is there.
    await store.close();
    stores.length = 0;
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((db.prepare('SELECT id FROM images ORDER BY id').pluck().all() as string[]).sort()).toEqual(
        [...ids].sort(),
      );
    } finally {
      db.close();
    }
  });

  it("leaves the store's own connection only a safety net: its commits stop checkpointing at 1,000 pages", async () => {
    // Without the worker, SQLite's default checkpoints on the commit that passes 1,000 pages, so
    // the log never holds much more. With it and the worker never running (an hour apart), the
    // log keeps every frame: proof that commits no longer run the checkpoint themselves.
    const dir = await mkdtemp(join(tmpdir(), 'his-checkpointer-'));
    dirs.push(dir);
    const path = join(dir, 'metadata.sqlite');
    const store = new SqliteMetadataStore({ path, checkpoints: { intervalMs: 3_600_000, onError: () => {} } });
    stores.push(store);
    await store.init();
    await uploads(store, 150);
    const withWorker = walState(path);
    expect(withWorker.log).toBeGreaterThan(1000);
    expect(withWorker.checkpointed).toBe(0);

    const plain = await open();
    await uploads(plain.store, 150);
    // There a commit past 1,000 pages checkpointed, and the log started again from its beginning.
    const without = walState(plain.path);
    expect(without.log).toBeLessThan(1100);
    expect(withWorker.log).toBeGreaterThan(without.log + 500);
  });

  it('stops its worker on close, and closing twice is harmless', async () => {
    const seen: CheckpointResult[] = [];
    const { store } = await open({ onCheckpoint: (r) => seen.push(r), onError: () => {} });
    await uploads(store, 5);
    await eventually(
      () => seen.length,
      (n) => n > 0,
      5000,
      10,
    );
    await store.close();
    const after = seen.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.length).toBe(after);
    await store.close();
  });
});
