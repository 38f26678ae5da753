import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Page, PageRequest } from '../../domain/cursor.js';
import { NotFoundError, StoreBusyError } from '../../domain/errors.js';
import { STORAGE_SERVICES } from '../../domain/types.js';
import type {
  Conversation,
  DeletionJob,
  ImageFilter,
  ImageRecord,
  Message,
  OwnerScope,
  StorageService,
  StorageStats,
} from '../../domain/types.js';
import type { Change, ChangeKind, NewChange, WakeWaiter } from '../change-log.js';
import type { ClaimArgs, ImagePatch, ImageSlice, MetadataStore } from '../metadata-store.js';
import { DUE_DELETIONS, UPSERT_DELETION, deletionParams, toDeletion, type DeletionRow } from './deletions.js';
import { Checkpointer, SAFETY_AUTOCHECKPOINT_PAGES, type CheckpointResult } from './checkpointer.js';
import { migrate } from './migrations.js';
import { groupBy, imageFilterWhere, toPage, whereClause } from './queries.js';
import {
  conversationParams,
  imageInsertParams,
  messageParams,
  patchAssignments,
  toConversation,
  toImage,
  toMessage,
  type ConversationRow,
  type ImageRow,
  type MessageRow,
} from './rows.js';

/**
 * Ids travel as one JSON array parameter expanded by json_each, so a batch of any size is a
 * single prepared statement: no per-size SQL, and no limit on bound variables to chunk around.
 */
const IN_IDS = 'IN (SELECT value FROM json_each(?))';

const MESSAGE_COLUMNS = 'id, conversation_id, user_id, role, content, created_at';

/** Columns of an image insert; the parent's ids come from the message row (see imageInsertParams). */
const INSERT_IMAGE = `
  INSERT INTO images (id, message_id, conversation_id, user_id, position, local_key, evicted_key, thumbnail_key, cloud_url, thumbnail_cloud_url, cloud_verified_at, cloud_altered_at, delete_url,
    caption, size, mime_type, width, height, generated, service, sha256, placeholder, uploaded_at,
    repl_status, repl_attempts, repl_next_attempt_at, repl_last_error, lease_owner, lease_until)
  SELECT @id, m.id, m.conversation_id, m.user_id,
    (SELECT COALESCE(MAX(position) + 1, 0) FROM images WHERE message_id = m.id),
    @local_key, @evicted_key, @thumbnail_key, @cloud_url, @thumbnail_cloud_url, @cloud_verified_at, @cloud_altered_at, @delete_url, @caption, @size, @mime_type, @width, @height, @generated,
    @service, @sha256, @placeholder, @uploaded_at, @repl_status, @repl_attempts, @repl_next_attempt_at,
    @repl_last_error, @lease_owner, @lease_until
  FROM messages m WHERE m.id = @message_id`;

/**
 * MetadataStore over one SQLite file (better-sqlite3). Calls are synchronous underneath; the
 * port is async so the MongoDB adapter fits the same shape. WAL lets several processes share
 * the file, and readers never wait for a writer.
 *
 * A write that finds another process holding the write lock does not wait inside SQLite:
 * better-sqlite3's busy timeout is a synchronous sleep that would freeze the event loop (every
 * request, /healthz included) for as long as the other process holds the lock. SQLite's busy
 * timeout is off once the store is open (it is kept for the start, when nothing is served yet),
 * and SQLITE_BUSY is retried here with timers, for up to `busyTimeoutMs`; after that the call
 * fails with StoreBusyError (SERVICE_UNAVAILABLE, retryable).
 */
const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** How long a change stays in the log, and how many appends go between prunes. */
const CHANGE_RETENTION_MS = 60 * 60 * 1000;
const CHANGE_PRUNE_EVERY = 500;
/** Changes read per query by a tail. */
const CHANGE_PAGE = 500;

interface ChangeRow {
  seq: number;
  at: number;
  kind: ChangeKind;
  conversation_id: string;
  user_id: string;
  message_id: string;
  image_id: string | null;
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED')
  );
}

/**
 * With these, the store's WAL checkpoints run on a worker thread (checkpointer.ts) instead of in
 * whichever commit crosses SQLite's threshold: what the server does. Without them (tests, tools),
 * SQLite checkpoints as it always does.
 */
export interface SqliteCheckpointOptions {
  onError(message: string): void;
  intervalMs?: number;
  onCheckpoint?(r: CheckpointResult): void;
}

export class SqliteMetadataStore implements MetadataStore {
  readonly kind = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly claimTx: (args: ClaimArgs) => ImageRecord[];
  private readonly claimDeletionsTx: (args: ClaimArgs) => DeletionJob[];
  private readonly beginDeletionTx: (job: DeletionJob) => boolean;
  private readonly takeBudgetTx: (provider: string, windowStart: number, limit: number) => number | null;

  private readonly busyTimeoutMs: number;
  private readonly appendTx: (
    rows: {
      at: number;
      kind: string;
      conversationId: string;
      userId: string;
      messageId: string;
      imageId: string | null;
    }[],
  ) => void;
  private appendsSincePrune = 0;
  private readonly checkpoints: SqliteCheckpointOptions | undefined;
  private checkpointer: Checkpointer | null = null;

  constructor(options: { path: string; busyTimeoutMs?: number; checkpoints?: SqliteCheckpointOptions }) {
    this.busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    this.checkpoints = options.path === ':memory:' || options.path === '' ? undefined : options.checkpoints;
    if (options.path !== ':memory:' && options.path !== '') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path, { timeout: 5000 });
    // busy_timeout first: switching to WAL takes a lock another process may hold.
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable across application crashes in WAL mode; only a power loss may drop the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    const claim = this.db.transaction((args: ClaimArgs) => this.claimInTransaction(args));
    // IMMEDIATE takes the write lock before the SELECT, so a second claimer (in this or another
    // process) waits and then sees the leases just written instead of the same free rows.
    this.claimTx = (args) => claim.immediate(args);
    const claimDeletions = this.db.transaction((args: ClaimArgs) => this.claimDeletionsInTransaction(args));
    this.claimDeletionsTx = (args) => claimDeletions.immediate(args);
    // One transaction: the record disappears exactly when the job that finishes its deletion appears.
    const begin = this.db.transaction((job: DeletionJob) => {
      if (this.stmt('DELETE FROM images WHERE id = ?').run(job.imageId).changes === 0) return false;
      this.stmt(UPSERT_DELETION).run(deletionParams(job));
      return true;
    });
    this.beginDeletionTx = (job) => begin.immediate(job);
    // One statement counts or refuses atomically (RETURNING: no row when the window is spent).
    // The first upload of a window drops the provider's earlier ones, in the same transaction.
    const take = this.db.transaction((provider: string, windowStart: number, limit: number) => {
      const used = this.stmt<number>(
        `
        INSERT INTO provider_budgets (provider, window_start, used) VALUES (@provider, @windowStart, 1)
        ON CONFLICT (provider, window_start) DO UPDATE SET used = used + 1 WHERE used < @limit
        RETURNING used`,
      )
        .pluck()
        .get({ provider, windowStart, limit });
      if (used === 1)
        this.stmt('DELETE FROM provider_budgets WHERE provider = ? AND window_start < ?').run(provider, windowStart);
      return used ?? null;
    });
    this.takeBudgetTx = (provider, windowStart, limit) => take.immediate(provider, windowStart, limit);
    this.appendTx = this.db.transaction(
      (
        rows: {
          at: number;
          kind: string;
          conversationId: string;
          userId: string;
          messageId: string;
          imageId: string | null;
        }[],
      ) => {
        const insert = this.stmt(
          'INSERT INTO changes (at, kind, conversation_id, user_id, message_id, image_id) VALUES (@at, @kind, @conversationId, @userId, @messageId, @imageId)',
        );
        for (const row of rows) insert.run(row);
      },
    );
  }

  /** Prepared once per SQL text and reused; dynamic queries have a small finite set of shapes. */
  private stmt<R = unknown>(sql: string): Database.Statement<unknown[], R> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s as Database.Statement<unknown[], R>;
  }

  /**
   * One page of `table`, newest first by (`sortColumn`, id), with the count of every row the
   * conditions match: the keyset cursor's condition applies to the page, not to the count.
   */
  private newestFirstPage<Row, T>(
    table: 'conversations' | 'images',
    sortColumn: 'updated_at' | 'uploaded_at',
    where: string[],
    params: unknown[],
    page: PageRequest,
    map: (row: Row) => T,
  ): Page<T> {
    const total =
      this.stmt<number>(`SELECT COUNT(*) FROM ${table} ${whereClause(where)}`)
        .pluck()
        .get(...params) ?? 0;
    const pageWhere = page.after ? [...where, `(${sortColumn}, id) < (?, ?)`] : where;
    const pageParams = page.after ? [...params, page.after.t, page.after.id] : params;
    const rows = this.stmt<Row>(
      `SELECT * FROM ${table} ${whereClause(pageWhere)} ORDER BY ${sortColumn} DESC, id DESC LIMIT ?`,
    ).all(...pageParams, page.first + 1);
    return toPage(rows.map(map), page.first, total);
  }

  async init(): Promise<void> {
    migrate(this.db);
    // From here on a held lock is waited for by busy() below, off the event loop.
    this.db.pragma('busy_timeout = 0');
    if (this.checkpoints && !this.checkpointer) {
      this.db.pragma(`wal_autocheckpoint = ${SAFETY_AUTOCHECKPOINT_PAGES}`);
      this.checkpointer = new Checkpointer({ path: this.db.name, ...this.checkpoints });
    }
  }

  /**
   * Runs `fn` (one statement or one whole transaction), retrying it while another connection
   * holds the lock it needs: after 5, 10, 20 ... ms, at most 100 ms apart, until busyTimeoutMs
   * has passed. A transaction that hit SQLITE_BUSY was rolled back, so it runs again whole.
   */
  private async busy<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    for (let delay = 5; ; delay = Math.min(100, delay * 2)) {
      try {
        return fn();
      } catch (e) {
        if (!isBusy(e)) throw e;
        if (Date.now() + delay > deadline) {
          throw new StoreBusyError(
            `The metadata store is locked by another process and stayed locked for ${this.busyTimeoutMs} ms (SQLITE_BUSY_TIMEOUT_MS): retry shortly.`,
            { cause: e },
          );
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async ping(): Promise<void> {
    return this.busy(() => {
      this.stmt('SELECT 1').get();
    });
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    this.checkpointer = null;
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  async createConversation(conversation: Conversation): Promise<void> {
    return this.busy(() => {
      this.stmt(
        'INSERT INTO conversations (id, user_id, title, created_at, updated_at) VALUES (@id, @user_id, @title, @created_at, @updated_at)',
      ).run(conversationParams(conversation));
    });
  }

  async getConversationsByIds(ids: readonly string[]): Promise<Conversation[]> {
    return this.busy(() => {
      if (ids.length === 0) return [];
      return this.stmt<ConversationRow>(`SELECT * FROM conversations WHERE id ${IN_IDS}`)
        .all(JSON.stringify(ids))
        .map(toConversation);
    });
  }

  async listConversations(owner: OwnerScope, page: PageRequest): Promise<Page<Conversation>> {
    return this.busy(() => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (owner !== null) {
        where.push('user_id = ?');
        params.push(owner);
      }
      return this.newestFirstPage<ConversationRow, Conversation>(
        'conversations',
        'updated_at',
        where,
        params,
        page,
        toConversation,
      );
    });
  }

  async addMessage(message: Message): Promise<void> {
    return this.busy(() => {
      this.db.transaction(() => {
        const bumped = this.stmt('UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?').run(
          message.createdAt.getTime(),
          message.conversationId,
        );
        if (bumped.changes === 0) throw new NotFoundError('Conversation', message.conversationId);
        this.stmt(
          `INSERT INTO messages (${MESSAGE_COLUMNS}) VALUES (@id, @conversation_id, @user_id, @role, @content, @created_at)`,
        ).run(messageParams(message));
        for (const image of message.images) this.stmt(INSERT_IMAGE).run(imageInsertParams(message.id, image));
      })();
    });
  }

  async getMessagesByIds(ids: readonly string[]): Promise<Message[]> {
    return this.busy(() => {
      if (ids.length === 0) return [];
      const rows = this.stmt<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id ${IN_IDS}`).all(
        JSON.stringify(ids),
      );
      return this.withImages(rows);
    });
  }

  async listMessagesOfConversations(
    conversationIds: readonly string[],
    page: PageRequest,
  ): Promise<Map<string, Page<Message>>> {
    return this.busy(() => {
      const ids = [...new Set(conversationIds)];
      const result = new Map<string, Page<Message>>();
      if (ids.length === 0) return result;
      const json = JSON.stringify(ids);
      const cursor = page.after ? 'AND (created_at, id) > (?, ?)' : '';
      const cursorParams = page.after ? [page.after.t, page.after.id] : [];
      // One statement for every conversation: number each conversation's rows after the cursor
      // and keep first + 1 of them, the extra one only telling whether a next page exists.
      const rows = this.stmt<MessageRow>(
        `
        WITH ranked AS (
          SELECT ${MESSAGE_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY created_at, id) AS rn
          FROM messages WHERE conversation_id ${IN_IDS} ${cursor}
        )
        SELECT ${MESSAGE_COLUMNS} FROM ranked WHERE rn <= ? ORDER BY conversation_id, created_at, id`,
      ).all(json, ...cursorParams, page.first + 1);
      const totals = new Map(
        this.stmt<{ conversation_id: string; n: number }>(
          `SELECT conversation_id, COUNT(*) AS n FROM messages WHERE conversation_id ${IN_IDS} GROUP BY conversation_id`,
        )
          .all(json)
          .map((r) => [r.conversation_id, r.n]),
      );
      const byConversation = groupBy(this.withImages(rows), (m) => m.conversationId);
      for (const id of ids) result.set(id, toPage(byConversation.get(id) ?? [], page.first, totals.get(id) ?? 0));
      return result;
    });
  }

  async addImage(messageId: string, image: ImageRecord): Promise<void> {
    return this.busy(() => {
      const inserted = this.stmt(INSERT_IMAGE).run(imageInsertParams(messageId, image));
      if (inserted.changes === 0) throw new NotFoundError('Message', messageId);
    });
  }

  async findImageByFileKey(key: string): Promise<ImageRecord | null> {
    return this.busy(() => {
      const row = this.stmt<ImageRow>(
        'SELECT * FROM images WHERE local_key = ? UNION ALL SELECT * FROM images WHERE thumbnail_key = ? UNION ALL SELECT * FROM images WHERE evicted_key = ? LIMIT 1',
      ).get(key, key, key);
      return row ? toImage(row) : null;
    });
  }

  async getImagesByIds(ids: readonly string[]): Promise<ImageRecord[]> {
    return this.busy(() => {
      if (ids.length === 0) return [];
      return this.stmt<ImageRow>(`SELECT * FROM images WHERE id ${IN_IDS}`).all(JSON.stringify(ids)).map(toImage);
    });
  }

  async updateImage(id: string, patch: ImagePatch, guard?: { leaseOwner: string }): Promise<boolean> {
    return this.busy(() => {
      const { columns, values } = patchAssignments(patch);
      const where = guard ? 'id = ? AND lease_owner = ?' : 'id = ?';
      const whereParams = guard ? [id, guard.leaseOwner] : [id];
      if (columns.length === 0) {
        // Nothing to write; still answer whether the record exists (and is held) as a write would.
        return this.stmt(`SELECT 1 FROM images WHERE ${where}`).get(...whereParams) !== undefined;
      }
      const set = columns.map((c) => `${c} = ?`).join(', ');
      return this.stmt(`UPDATE images SET ${set} WHERE ${where}`).run(...values, ...whereParams).changes > 0;
    });
  }

  async removeImage(id: string): Promise<boolean> {
    return this.busy(() => {
      return this.stmt('DELETE FROM images WHERE id = ?').run(id).changes > 0;
    });
  }

  async listImages(owner: OwnerScope, filter: ImageFilter, page: PageRequest): Promise<Page<ImageRecord>> {
    return this.busy(() => {
      const { where, params } = imageFilterWhere(owner, filter);
      return this.newestFirstPage<ImageRow, ImageRecord>('images', 'uploaded_at', where, params, page, toImage);
    });
  }

  async scanImages(owner: OwnerScope, filter: ImageFilter, after: string | null, limit: number): Promise<ImageSlice> {
    return this.busy(() => {
      const { where, params } = imageFilterWhere(owner, filter);
      if (after !== null) {
        where.push('id > ?');
        params.push(after);
      }
      // By id: the primary key (or images_user_id for an owner) serves the range and the order.
      const rows = this.stmt<ImageRow>(`SELECT * FROM images ${whereClause(where)} ORDER BY id LIMIT ?`).all(
        ...params,
        limit,
      );
      return { items: rows.map(toImage), next: rows.length === limit ? rows.at(-1)!.id : null };
    });
  }

  async countOwnerlessImages(): Promise<number> {
    return 0;
  }

  async countImagesByConversation(conversationIds: readonly string[]): Promise<Map<string, number>> {
    return this.busy(() => {
      const counts = new Map<string, number>(conversationIds.map((id) => [id, 0]));
      if (conversationIds.length === 0) return counts;
      const rows = this.stmt<{ conversation_id: string; n: number }>(
        `SELECT conversation_id, COUNT(*) AS n FROM images WHERE conversation_id ${IN_IDS} GROUP BY conversation_id`,
      ).all(JSON.stringify(conversationIds));
      for (const r of rows) counts.set(r.conversation_id, r.n);
      return counts;
    });
  }

  async storageStats(owner: OwnerScope): Promise<StorageStats> {
    return this.busy(() => {
      const where = whereClause(owner === null ? [] : ['user_id = ?']);
      const params = owner === null ? [] : [owner];
      const totals = this.stmt<{
        imageCount: number;
        totalBytes: number;
        localBytes: number;
        pendingReplication: number;
      }>(
        `
        SELECT COUNT(*) AS imageCount,
          COALESCE(SUM(size), 0) AS totalBytes,
          COALESCE(SUM(size) FILTER (WHERE local_key IS NOT NULL), 0) AS localBytes,
          COUNT(*) FILTER (WHERE repl_status IN ('PENDING', 'RETRYING')) AS pendingReplication
        FROM images ${where}`,
      ).get(...params)!;
      const byService = this.stmt<{ service: StorageService; count: number; bytes: number }>(
        `SELECT service, COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes FROM images ${where} GROUP BY service`,
      )
        .all(...params)
        .sort((a, b) => STORAGE_SERVICES.indexOf(a.service) - STORAGE_SERVICES.indexOf(b.service));
      return { ...totals, byService };
    });
  }

  async cloudUrlInUse(cloudUrl: string, exceptImageId: string): Promise<boolean> {
    return this.busy(() => {
      // The original's copy or the thumbnail's: twins (the same bytes of one owner) share both.
      return (
        this.stmt(
          'SELECT 1 FROM images WHERE cloud_url = @url AND id <> @id UNION ALL SELECT 1 FROM images WHERE thumbnail_cloud_url = @url AND id <> @id LIMIT 1',
        ).get({
          url: cloudUrl,
          id: exceptImageId,
        }) !== undefined
      );
    });
  }

  async findReplicatedBySha256(userId: string, sha256: string): Promise<ImageRecord | null> {
    return this.busy(() => {
      const row = this.stmt<ImageRow>(
        `
        SELECT * FROM images
        WHERE user_id = ? AND sha256 = ? AND repl_status = 'REPLICATED' AND cloud_url IS NOT NULL
        ORDER BY uploaded_at DESC, id DESC LIMIT 1`,
      ).get(userId, sha256);
      return row ? toImage(row) : null;
    });
  }

  async claimDueImages(args: ClaimArgs): Promise<ImageRecord[]> {
    return this.busy(() => {
      if (args.limit <= 0) return [];
      return this.claimTx(args);
    });
  }

  private claimInTransaction({ now, leaseOwner, leaseMs, limit }: ClaimArgs): ImageRecord[] {
    const t = now.getTime();
    // Oldest due first: never-scheduled (null) retries before scheduled ones, then upload order.
    const due = this.stmt<ImageRow>(
      `
      SELECT * FROM images
      WHERE repl_status IN ('PENDING', 'RETRYING')
        AND (repl_next_attempt_at IS NULL OR repl_next_attempt_at <= ?)
        AND (lease_until IS NULL OR lease_until <= ?)
      ORDER BY COALESCE(repl_next_attempt_at, 0), uploaded_at, id
      LIMIT ?`,
    ).all(t, t, limit);
    if (due.length === 0) return [];
    const leaseUntil = t + leaseMs;
    this.stmt(`UPDATE images SET lease_owner = ?, lease_until = ? WHERE id ${IN_IDS}`).run(
      leaseOwner,
      leaseUntil,
      JSON.stringify(due.map((r) => r.id)),
    );
    return due.map((r) => toImage({ ...r, lease_owner: leaseOwner, lease_until: leaseUntil }));
  }

  async beginDeletion(job: DeletionJob): Promise<boolean> {
    return this.busy(() => {
      return this.beginDeletionTx(job);
    });
  }

  async enqueueDeletion(job: DeletionJob): Promise<void> {
    return this.busy(() => {
      this.stmt(UPSERT_DELETION).run(deletionParams(job));
    });
  }

  async claimDueDeletions(args: ClaimArgs): Promise<DeletionJob[]> {
    return this.busy(() => {
      if (args.limit <= 0) return [];
      return this.claimDeletionsTx(args);
    });
  }

  async updateDeletion(job: DeletionJob, guard?: { leaseOwner: string }): Promise<boolean> {
    return this.busy(() => {
      const p = deletionParams(job);
      const where = guard ? 'image_id = @image_id AND lease_owner = @guard' : 'image_id = @image_id';
      return (
        this.stmt(
          `
          UPDATE image_deletions SET local_keys = @local_keys, cloud_service = @cloud_service, cloud_url = @cloud_url,
            cloud_delete_url = @cloud_delete_url, cloud_deleted = @cloud_deleted, attempts = @attempts,
            next_attempt_at = @next_attempt_at, last_error = @last_error, lease_owner = @lease_owner, lease_until = @lease_until
          WHERE ${where}`,
        ).run({ ...p, guard: guard?.leaseOwner ?? null }).changes > 0
      );
    });
  }

  async finishDeletion(imageId: string): Promise<void> {
    return this.busy(() => {
      this.stmt('DELETE FROM image_deletions WHERE image_id = ?').run(imageId);
    });
  }

  async takeBudget(provider: string, windowStart: Date, limit: number): Promise<number | null> {
    return this.busy(() => {
      return this.takeBudgetTx(provider, windowStart.getTime(), limit);
    });
  }

  async budgetUsed(provider: string, windowStart: Date): Promise<number> {
    return this.busy(() => {
      return (
        this.stmt<number>('SELECT used FROM provider_budgets WHERE provider = ? AND window_start = ?')
          .pluck()
          .get(provider, windowStart.getTime()) ?? 0
      );
    });
  }

  async countPendingReplication(): Promise<number> {
    return this.busy(() => {
      // images_replication_due (repl_status, repl_next_attempt_at) serves this.
      return (
        this.stmt<number>("SELECT COUNT(*) FROM images WHERE repl_status IN ('PENDING', 'RETRYING')").pluck().get() ?? 0
      );
    });
  }

  async appendChanges(changes: readonly NewChange[]): Promise<void> {
    if (changes.length === 0) return;
    const at = Date.now();
    await this.busy(() =>
      this.appendTx(
        changes.map((c) => ({
          at,
          kind: c.kind,
          conversationId: c.conversationId,
          userId: c.userId,
          messageId: c.messageId,
          imageId: c.imageId,
        })),
      ),
    );
    // Now and then, changes older than CHANGE_RETENTION_MS go: a reader is never that far behind.
    if (++this.appendsSincePrune >= CHANGE_PRUNE_EVERY) {
      this.appendsSincePrune = 0;
      await this.busy(() => this.stmt('DELETE FROM changes WHERE at < ?').run(at - CHANGE_RETENTION_MS));
    }
  }

  async *tailChanges(o: {
    signal: AbortSignal;
    pollMs: number;
    wake: WakeWaiter;
    after?: string | null;
  }): AsyncIterable<Change> {
    let after = o.after
      ? Number(o.after)
      : await this.busy(() => this.stmt<number>('SELECT COALESCE(MAX(seq), 0) FROM changes').pluck().get() ?? 0);
    while (!o.signal.aborted) {
      const rows = await this.busy(() =>
        this.stmt<ChangeRow>('SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?').all(after, CHANGE_PAGE),
      );
      for (const r of rows) {
        after = r.seq;
        yield {
          cursor: String(r.seq),
          at: new Date(r.at),
          kind: r.kind,
          conversationId: r.conversation_id,
          userId: r.user_id,
          messageId: r.message_id,
          imageId: r.image_id,
        };
      }
      if (rows.length < CHANGE_PAGE) await o.wake.wait(o.pollMs, o.signal);
    }
  }

  async countPendingDeletions(): Promise<number> {
    return this.busy(() => {
      return this.stmt<number>('SELECT COUNT(*) FROM image_deletions').pluck().get() ?? 0;
    });
  }

  private claimDeletionsInTransaction({ now, leaseOwner, leaseMs, limit }: ClaimArgs): DeletionJob[] {
    const t = now.getTime();
    const due = this.stmt<DeletionRow>(DUE_DELETIONS).all(t, t, limit);
    if (due.length === 0) return [];
    const leaseUntil = t + leaseMs;
    this.stmt(`UPDATE image_deletions SET lease_owner = ?, lease_until = ? WHERE image_id ${IN_IDS}`).run(
      leaseOwner,
      leaseUntil,
      JSON.stringify(due.map((r) => r.image_id)),
    );
    return due.map((r) => toDeletion({ ...r, lease_owner: leaseOwner, lease_until: leaseUntil }));
  }

  /** Attaches images to message rows with one query for all of them, each message's in insertion order. */
  private withImages(rows: MessageRow[]): Message[] {
    if (rows.length === 0) return [];
    const images = this.stmt<ImageRow>(`SELECT * FROM images WHERE message_id ${IN_IDS} ORDER BY message_id, position`)
      .all(JSON.stringify(rows.map((r) => r.id)))
      .map(toImage);
    const byMessage = groupBy(images, (i) => i.messageId);
    return rows.map((r) => toMessage(r, byMessage.get(r.id) ?? []));
  }
}
