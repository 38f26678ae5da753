import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/metadata/sqlite/migrations.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { at, makeConversation, makeImage, makeMessage } from '../support/factories.js';
import { metadataStoreContract } from './metadata-store.contract.js';
import { drain, expectDisjointAndComplete, seedQueue } from './replication.contract.js';

const run = promisify(execFile);

metadataStoreContract('MetadataStore contract: SqliteMetadataStore on a file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'his-sqlite-contract-'));
  return {
    store: new SqliteMetadataStore({ path: join(dir, 'metadata.sqlite') }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('SqliteMetadataStore on its file', () => {
  let dir: string;
  let path: string;
  const opened: SqliteMetadataStore[] = [];
  const open = async (p = path) => {
    const store = new SqliteMetadataStore({ path: p });
    opened.push(store);
    await store.init();
    return store;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'his-sqlite-'));
    path = join(dir, 'metadata.sqlite');
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a missing parent directory and keeps the data after reopening', async () => {
    const nested = join(dir, 'a', 'b', 'metadata.sqlite');
    const first = await open(nested);
    const conversation = makeConversation();
    const message = makeMessage(conversation);
    const withImage = { ...message, images: [makeImage(message)] };
    await first.createConversation(conversation);
    await first.addMessage(withImage);
    await first.close();

    const second = await open(nested);
    expect(await second.getMessagesByIds([message.id])).toEqual([withImage]);
    expect(await second.getConversationsByIds([conversation.id])).toEqual([
      { ...conversation, updatedAt: message.createdAt },
    ]);
  });

  it('records the schema version in user_version and leaves the file in WAL mode', async () => {
    await open();
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
    expect((await stat(`${path}-wal`)).isFile()).toBe(true);
  });

  it('migrating to version 4 counts every REPLICATED copy so far as made by this server, and nothing else', async () => {
    // A file as version 3 left it: no cloud_verified_at column.
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    for (const m of MIGRATIONS.slice(0, 3)) raw.exec(m);
    raw.pragma('user_version = 3');
    raw.prepare("INSERT INTO conversations VALUES ('c', 'u', NULL, 1, 1)").run();
    raw.prepare("INSERT INTO messages VALUES ('m', 'c', 'u', 'USER', '', 1)").run();
    const insert =
      raw.prepare(`INSERT INTO images (id, message_id, conversation_id, user_id, position, local_key, cloud_url, size, mime_type, width, height,
      generated, service, sha256, uploaded_at, repl_status) VALUES (?, 'm', 'c', 'u', ?, 'uploads/a.png', ?, 1, 'image/png', 1, 1, 0, 'LOCAL', '', ?, ?)`);
    insert.run('replicated', 0, 'https://i.postimg.cc/a/a.png', 1000, 'REPLICATED');
    insert.run('retrying', 1, 'https://i.postimg.cc/b/b.png', 2000, 'RETRYING');
    insert.run('pending', 2, null, 3000, 'PENDING');
    raw.close();
    const store = await open();
    const images = new Map(
      (await store.getImagesByIds(['replicated', 'retrying', 'pending'])).map((i) => [i.id, i.cloudVerifiedAt]),
    );
    expect(images).toEqual(
      new Map([
        ['replicated', new Date(1000)],
        ['retrying', null],
        ['pending', null],
      ]),
    );
  });

  it('refuses a file written by a newer schema instead of guessing', async () => {
    await (await open()).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    await expect(open()).rejects.toThrow(/newer/);
  });

  it('enforces foreign keys: a message needs its conversation', async () => {
    const store = await open();
    const orphan = makeMessage({ id: makeConversation().id, userId: 'alice' });
    await expect(store.addMessage(orphan)).rejects.toThrow();
    expect(await store.getMessagesByIds([orphan.id])).toEqual([]);
  });

  it('works in memory', async () => {
    const store = await open(':memory:');
    const conversation = makeConversation();
    await store.createConversation(conversation);
    expect(await store.getConversationsByIds([conversation.id])).toEqual([conversation]);
  });

  it('ping fails once closed', async () => {
    const store = await open();
    await store.close();
    await expect(store.ping()).rejects.toThrow();
  });

  it('two instances on the same file never claim the same image', async () => {
    const a = await open();
    const b = await open();
    const due = await seedQueue(
      a,
      Array.from({ length: 40 }, () => ({})),
    );
    const now = at(60_000);

    const whole = await Promise.all([
      a.claimDueImages({ now, leaseOwner: 'a', leaseMs: 1000, limit: 25 }),
      b.claimDueImages({ now, leaseOwner: 'b', leaseMs: 1000, limit: 25 }),
    ]);
    expect(whole.map((batch) => batch.length).sort()).toEqual([15, 25]);
    expectDisjointAndComplete(
      whole.map((batch) => batch.map((i) => i.id)),
      due,
    );

    const later = at(61_000);
    const drained = await Promise.all([drain(a, 'a2', 3, later), drain(b, 'b2', 3, later)]);
    expectDisjointAndComplete(drained, due);
  });

  it('claimers in separate processes never claim the same image', async () => {
    const store = await open();
    const due = await seedQueue(
      store,
      Array.from({ length: 300 }, () => ({})),
    );
    const storeModule = resolve('src/metadata/sqlite/sqlite-store.ts');
    // Each child waits for a common start instant so the claims really overlap in time.
    const startAt = Date.now() + 3000;
    const child = `
      const { SqliteMetadataStore } = await import(${JSON.stringify(storeModule)});
      const store = new SqliteMetadataStore({ path: process.env.DB_PATH });
      await store.init();
      await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.START_AT) - Date.now())));
      const ids = [];
      for (;;) {
        const batch = await store.claimDueImages({ now: new Date(${at(60_000).getTime()}), leaseOwner: process.env.OWNER, leaseMs: 60000, limit: 2 });
        if (batch.length === 0) break;
        ids.push(...batch.map((i) => i.id));
      }
      await store.close();
      process.stdout.write(JSON.stringify(ids));
    `;
    const claims = await Promise.all(
      ['p1', 'p2', 'p3'].map(async (owner) => {
        const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
          env: { ...process.env, DB_PATH: path, OWNER: owner, START_AT: String(startAt) },
        });
        return JSON.parse(stdout) as string[];
      }),
    );
    expectDisjointAndComplete(claims, due);
    const stored = await store.getImagesByIds(due.map((i) => i.id));
    const owners = new Map(claims.flatMap((ids, n) => ids.map((id) => [id, `p${n + 1}`])));
    for (const image of stored) expect(image.replication.leaseOwner).toBe(owners.get(image.id));
  });

  it('processes sharing the file share one upload budget: together they take exactly the limit', async () => {
    const store = await open();
    const storeModule = resolve('src/metadata/sqlite/sqlite-store.ts');
    const startAt = Date.now() + 3000;
    const window = at(3_600_000).getTime();
    const child = `
      const { SqliteMetadataStore } = await import(${JSON.stringify(storeModule)});
      const store = new SqliteMetadataStore({ path: process.env.DB_PATH });
      await store.init();
      await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.START_AT) - Date.now())));
      let taken = 0;
      for (let i = 0; i < 60; i++) if ((await store.takeBudget('POSTIMAGES', new Date(${window}), 100)) !== null) taken++;
      await store.close();
      process.stdout.write(String(taken));
    `;
    const taken = await Promise.all(
      ['p1', 'p2', 'p3'].map(async () => {
        const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], {
          env: { ...process.env, DB_PATH: path, START_AT: String(startAt) },
        });
        return Number(stdout);
      }),
    );
    // 180 tries against a limit of 100.
    expect(taken.reduce((a, b) => a + b, 0)).toBe(100);
    expect(await store.budgetUsed('POSTIMAGES', new Date(window))).toBe(100);
  });

  it("drops a provider's earlier budget windows when a new one starts", async () => {
    const store = await open();
    await store.takeBudget('IMGBB', at(0), 5);
    await store.takeBudget('POSTIMAGES', at(0), 5);
    await store.takeBudget('IMGBB', at(60_000), 5);
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT provider, window_start FROM provider_budgets ORDER BY provider').all();
    db.close();
    expect(rows).toEqual([
      { provider: 'IMGBB', window_start: at(60_000).getTime() },
      { provider: 'POSTIMAGES', window_start: at(0).getTime() },
    ]);
  });
});
