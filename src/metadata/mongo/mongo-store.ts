import type { Change, NewChange, WakeWaiter } from '../change-log.js';
import { MongoChanges } from './changes.js';
import { MongoClient, type Collection, type Db, type Document } from 'mongodb';
import type { Page, PageRequest } from '../../domain/cursor.js';
import { NotFoundError } from '../../domain/errors.js';
import type {
  Conversation,
  DeletionJob,
  ImageFilter,
  ImageRecord,
  Message,
  OwnerScope,
  StorageStats,
} from '../../domain/types.js';
import { matchesImageFilter } from '../../domain/image-filter.js';
import type { ClaimArgs, ImagePatch, ImageSlice, MetadataStore } from '../metadata-store.js';
import {
  anyIdForm,
  conversationToDoc,
  docToConversation,
  docToImage,
  docToMessage,
  idMatch,
  idString,
  imagesOf,
  imageToDoc,
  messageOwners,
  messageToDoc,
  parentOf,
  type ConversationDoc,
  type Id,
  type ImageDoc,
  type MessageDoc,
} from './documents.js';
import { MongoBudgets } from './budgets.js';
import { MongoDeletions } from './deletions.js';
import { CONVERSATION_INDEXES, ensureIndexes, MESSAGE_INDEXES } from './indexes.js';
import { InvalidatedCache } from './stats-cache.js';
import { countImagesPipeline, listImageRows } from './image-listing.js';
import { adoptLegacyOps, elementsOf, missingFieldsSet, type ImageElement } from './legacy.js';
import {
  claimCandidatesPipeline,
  claimFilter,
  cloudUrlInUseFilter,
  fileKeyForms,
  fileKeyMatch,
  decodeScanCursor,
  encodeScanCursor,
  imageCountsPipelines,
  pullImageUpdate,
  pushImageUpdate,
  imageMessagesMatch,
  scanIdMatch,
  keysetAfter,
  leaseUpdate,
  messageCountsPipeline,
  messagesPagePipeline,
  pendingReplicationPipeline,
  conversationOwnerMatch,
  patchSet,
  type MessageScope,
  replicatedTwinPipeline,
  statsFromRows,
  storageStatsPipeline,
  type StorageStatsRow,
} from './queries.js';

/** An image row of an aggregation that unwound `images`. */
type UnwoundRow = Omit<MessageDoc, 'images'> & { images: ImageDoc | null; image_index: number };

/** Rounds of claiming when a concurrent claimer took candidates first. */
const CLAIM_ROUNDS = 5;

/** How long another process's writes may take to show in storageStats (this process's show at once). */
export const STATS_TTL_MS = 30_000;
/** The cache key of the admin's (whole-store) statistics; owner ids are never empty. */
const ALL_OWNERS = '';

/**
 * MetadataStore over MongoDB, in the document shape the existing chatbot writes (see
 * documents.ts and legacy.ts for how its older documents are read and completed). Each port
 * method costs a constant number of queries. Needs MongoDB 5.0 or newer ($setWindowFields).
 */
export class MongoMetadataStore implements MetadataStore {
  readonly kind = 'mongo' as const;
  private readonly client: MongoClient;
  /** A client passed in belongs to the caller, who closes it. */
  private readonly ownsClient: boolean;
  private readonly db: Db;
  private readonly conversations: Collection<ConversationDoc>;
  private readonly messages: Collection<MessageDoc>;
  private readonly deletions: MongoDeletions;
  private readonly budgets: MongoBudgets;
  private readonly changes: MongoChanges;

  /** LEGACY_DEFAULT_OWNER: owner of the seed's documents that name none. */
  private readonly defaultOwner: string | null;
  /** storageStats per owner scope; every image write of this process drops them (see stats-cache.ts). */
  private readonly stats: InvalidatedCache<string, StorageStats>;
  /** The totals of `images` listings per owner and filter, kept and dropped as `stats`. */
  private readonly counts: InvalidatedCache<string, number>;

  constructor(options: {
    uri: string;
    dbName: string;
    client?: MongoClient;
    legacyDefaultOwner?: string | null;
    statsTtlMs?: number;
  }) {
    this.stats = new InvalidatedCache(options.statsTtlMs ?? STATS_TTL_MS);
    this.counts = new InvalidatedCache(options.statsTtlMs ?? STATS_TTL_MS);
    this.ownsClient = !options.client;
    this.defaultOwner = options.legacyDefaultOwner ?? null;
    this.client = options.client ?? new MongoClient(options.uri, { serverSelectionTimeoutMS: 10_000 });
    this.db = this.client.db(options.dbName);
    this.conversations = this.db.collection<ConversationDoc>('conversations');
    this.messages = this.db.collection<MessageDoc>('messages');
    this.deletions = new MongoDeletions(this.db);
    this.budgets = new MongoBudgets(this.db);
    this.changes = new MongoChanges(this.db);
  }

  async init(): Promise<void> {
    await this.client.connect();
    await ensureIndexes(this.messages, MESSAGE_INDEXES);
    await ensureIndexes(this.conversations, CONVERSATION_INDEXES);
    await this.deletions.init();
    await this.changes.init();
  }

  appendChanges(changes: readonly NewChange[]): Promise<void> {
    return this.changes.append(changes);
  }

  tailChanges(o: {
    signal: AbortSignal;
    pollMs: number;
    wake: WakeWaiter;
    after?: string | null;
  }): AsyncIterable<Change> {
    return this.changes.tail(o);
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  async createConversation(conversation: Conversation): Promise<void> {
    await this.conversations.insertOne(conversationToDoc(conversation));
  }

  async getConversationsByIds(ids: readonly string[]): Promise<Conversation[]> {
    if (ids.length === 0) return [];
    const docs = await this.conversations.find({ _id: idMatch(ids) }).toArray();
    return docs.map((d) => docToConversation(d, this.defaultOwner));
  }

  async listConversations(owner: OwnerScope, page: PageRequest): Promise<Page<Conversation>> {
    const filter = conversationOwnerMatch(owner, this.defaultOwner);
    const [docs, totalCount] = await Promise.all([
      this.conversations
        .find({ ...filter, ...keysetAfter('updated_at', '_id', page.after, -1) })
        .sort({ updated_at: -1, _id: -1 })
        .limit(page.first + 1)
        .toArray(),
      this.conversations.countDocuments(filter),
    ]);
    return toPage(
      docs.map((d) => docToConversation(d, this.defaultOwner)),
      page.first,
      totalCount,
    );
  }

  async addMessage(message: Message): Promise<void> {
    const [conversation, sibling] = await Promise.all([
      this.conversations.findOneAndUpdate(
        { _id: idMatch([message.conversationId]) },
        { $max: { updated_at: message.createdAt } },
        { projection: { _id: 1 } },
      ),
      // The older app may hold conversation_id as a string: new messages follow what is there.
      this.messages.findOne(
        { conversation_id: idMatch([message.conversationId]) },
        { projection: { conversation_id: 1 } },
      ),
    ]);
    if (!conversation) throw new NotFoundError('Conversation', message.conversationId);
    await this.messages.insertOne(messageToDoc(message, (sibling?.conversation_id ?? conversation._id) as Id));
    if (message.images.length > 0) this.invalidateCounts();
  }

  async getMessagesByIds(ids: readonly string[]): Promise<Message[]> {
    if (ids.length === 0) return [];
    const docs = await this.messages.find({ _id: idMatch(ids) }).toArray();
    await this.adopt(docs.flatMap(elementsOf));
    const ownerOf = await this.ownersOf(docs);
    return docs.map((d) => docToMessage(d, ownerOf(d)));
  }

  async listMessagesOfConversations(
    conversationIds: readonly string[],
    page: PageRequest,
  ): Promise<Map<string, Page<Message>>> {
    const ids = [...new Set(conversationIds)];
    const result = new Map<string, Page<Message>>();
    if (ids.length === 0) return result;
    const [docs, counts] = await Promise.all([
      this.messages
        .aggregate<MessageDoc>(messagesPagePipeline(this.messages.collectionName, ids, page), { allowDiskUse: true })
        .toArray(),
      this.messages.aggregate<{ _id: string; n: number }>(messageCountsPipeline(ids)).toArray(),
    ]);
    await this.adopt(docs.flatMap(elementsOf));
    const ownerOf = await this.ownersOf(docs);
    const byConversation = new Map<string, Message[]>();
    for (const m of docs.map((d) => docToMessage(d, ownerOf(d)))) {
      const list = byConversation.get(m.conversationId);
      if (list) list.push(m);
      else byConversation.set(m.conversationId, [m]);
    }
    const totals = new Map(counts.map((c) => [c._id, c.n]));
    for (const id of ids) result.set(id, toPage(byConversation.get(id) ?? [], page.first, totals.get(id) ?? 0));
    return result;
  }

  async addImage(messageId: string, image: ImageRecord): Promise<void> {
    const found =
      (await this.messages.updateOne({ _id: idMatch([messageId]) }, pushImageUpdate(imageToDoc(image)))).matchedCount >
      0;
    this.invalidateCounts();
    if (!found) throw new NotFoundError('Message', messageId);
  }

  async getImagesByIds(ids: readonly string[]): Promise<ImageRecord[]> {
    if (ids.length === 0) return [];
    const wanted = new Set(ids);
    const docs = await this.messages.find({ 'images._id': idMatch(ids) }).toArray();
    const ownerOf = await this.ownersOf(docs);
    return docs.flatMap((d) => docToMessage(d, ownerOf(d)).images.filter((i) => wanted.has(i.id)));
  }

  async updateImage(id: string, patch: ImagePatch, guard?: { leaseOwner: string }): Promise<boolean> {
    const _id = idMatch([id]);
    const held = guard ? { 'replication.lease_owner': guard.leaseOwner } : {};
    const set = patchSet(patch, 'images.$');
    if (Object.keys(set).length === 0)
      return (await this.messages.countDocuments({ images: { $elemMatch: { _id, ...held } } }, { limit: 1 })) > 0;
    // A legacy element has no `replication` object: it is completed first (below), never patched half-shaped.
    // Statistics are dropped after the write, so a read racing it cannot keep what it read before.
    const apply = async () => {
      const matched =
        (
          await this.messages.updateOne(
            { images: { $elemMatch: { _id, replication: { $type: 'object' }, ...held } } },
            { $set: set },
          )
        ).matchedCount > 0;
      this.invalidateCounts();
      return matched;
    };
    if (await apply()) return true;
    // A lease lives in `replication`, so a guarded update cannot concern a legacy element.
    if (guard) return false;
    await this.completeLegacyImage(id);
    return apply();
  }

  /** Writes the defaults a legacy element lacks (see legacy.ts); a no-op when there is none with this id. */
  private async completeLegacyImage(id: string): Promise<void> {
    const doc = await this.messages.findOne({ images: { $elemMatch: { _id: idMatch([id]), replication: null } } });
    if (!doc) return;
    const message = docToMessage(doc, (await this.ownersOf([doc]))(doc));
    const index = message.images.findIndex((i) => i.id === id);
    const stored = imagesOf(doc)[index];
    if (!stored || stored._id == null) return;
    await this.messages.updateOne(
      { _id: doc._id, images: { $elemMatch: { _id: stored._id, replication: null } } },
      { $set: missingFieldsSet(stored, message.images[index]!, 'images.$') },
    );
  }

  async removeImage(id: string): Promise<boolean> {
    const _id = idMatch([id]);
    const removed = (await this.messages.updateOne({ 'images._id': _id }, pullImageUpdate(_id.$in))).modifiedCount > 0;
    this.invalidateCounts();
    return removed;
  }

  /**
   * A page by time windows over the uploaded_at indexes (image-listing.ts); the total is kept
   * like storageStats (see STATS_TTL_MS), since counting reads every image of the scope.
   */
  async listImages(owner: OwnerScope, filter: ImageFilter, page: PageRequest): Promise<Page<ImageRecord>> {
    const scope = await this.scope(owner);
    const [rows, totalCount] = await Promise.all([
      listImageRows(scope, filter, page, new Date(), (pipeline) =>
        this.messages.aggregate<UnwoundRow>(pipeline, { allowDiskUse: true }).toArray(),
      ),
      this.counts.get(`${owner ?? ALL_OWNERS}\n${JSON.stringify(filter)}`, async () => {
        const [row] = await this.messages
          .aggregate<{ n: number }>(countImagesPipeline(scope, filter), { allowDiskUse: true })
          .toArray();
        return row?.n ?? 0;
      }),
    ]);
    await this.adopt(
      rows.flatMap((r) => (r.images ? [{ messageId: r._id, index: r.image_index, image: r.images }] : [])),
    );
    const ownerOf = await this.ownersOf(rows);
    return toPage(
      rows.map((r) => docToImage(r.images ?? {}, parentOf(r, ownerOf(r)), r.image_index)),
      page.first,
      totalCount,
    );
  }

  /**
   * Messages by `_id` (the primary index), `limit` at a time, their images filtered here: the
   * owner and the conversation narrow the messages in the query, the rest of the filter (fields
   * that legacy documents may hold as strings or not at all) is applied to the records as read.
   */
  async scanImages(owner: OwnerScope, filter: ImageFilter, after: string | null, limit: number): Promise<ImageSlice> {
    const scope = await this.scope(owner);
    let cursor = decodeScanCursor(after);
    for (;;) {
      const query: Document = { ...imageMessagesMatch(scope, filter), _id: scanIdMatch(cursor) };
      const docs = await this.messages.find(query).sort({ _id: 1 }).limit(limit).toArray();
      await this.adopt(docs.flatMap(elementsOf));
      const ownerOf = await this.ownersOf(docs);
      const items = docs.flatMap((d) =>
        docToMessage(d, ownerOf(d)).images.filter((i) => matchesImageFilter(i, filter)),
      );
      if (docs.length === limit)
        return { items, next: encodeScanCursor({ phase: cursor.phase, last: idString(docs.at(-1)!._id) }) };
      if (cursor.phase === 'objectId') return { items, next: null };
      // The strings are done: the ObjectIds come next, in this slice when it has room.
      cursor = { phase: 'objectId', last: null };
      if (items.length > 0 || docs.length > 0) return { items, next: encodeScanCursor(cursor) };
    }
  }

  /**
   * The conversations of messages without `user_id` are looked up a thousand at a time (a
   * conversation id may be stored as a string where the conversation's `_id` is an ObjectId,
   * which a $lookup would not match); the images of those messages whose conversation names no
   * owner, or is missing, are counted.
   */
  async countOwnerlessImages(): Promise<number> {
    if (this.defaultOwner) return 0;
    const ids = (await this.messages.distinct('conversation_id', {
      user_id: null,
      'images.0': { $exists: true },
    })) as Id[];
    const ownerless: Id[] = [];
    for (let i = 0; i < ids.length; i += 1000) {
      const batch = ids.slice(i, i + 1000);
      const owned = await this.conversations
        .find({ _id: idMatch(batch.map(idString)), user_id: { $ne: null } }, { projection: { _id: 1 } })
        .toArray();
      const known = new Set(owned.map((c) => idString(c._id)));
      for (const id of batch) if (!known.has(idString(id))) ownerless.push(id);
    }
    if (ownerless.length === 0) return 0;
    const [row] = await this.messages
      .aggregate<{ n: number }>([
        { $match: { user_id: null, conversation_id: { $in: ownerless } } },
        { $group: { _id: null, n: { $sum: { $cond: [{ $isArray: '$images' }, { $size: '$images' }, 0] } } } },
      ])
      .toArray();
    return row?.n ?? 0;
  }

  async countImagesByConversation(conversationIds: readonly string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>(conversationIds.map((id) => [id, 0]));
    if (conversationIds.length === 0) return counts;
    const { counted, measured } = imageCountsPipelines(conversationIds);
    const rows = (
      await Promise.all([counted, measured].map((p) => this.messages.aggregate<{ _id: Id; n: number }>(p).toArray()))
    ).flat();
    // A conversation whose messages hold its id in both forms has a row per form.
    for (const r of rows) {
      const id = idString(r._id);
      if (counts.has(id)) counts.set(id, counts.get(id)! + r.n);
    }
    return counts;
  }

  /** Cached: see STATS_TTL_MS. Each answer is a fresh copy, so a caller may change it. */
  async storageStats(owner: OwnerScope): Promise<StorageStats> {
    const stats = await this.stats.get(owner ?? ALL_OWNERS, () => this.computeStorageStats(owner));
    return { ...stats, byService: stats.byService.map((s) => ({ ...s })) };
  }

  private async computeStorageStats(owner: OwnerScope): Promise<StorageStats> {
    const rows = await this.messages
      .aggregate<StorageStatsRow>(storageStatsPipeline(await this.scope(owner)), { allowDiskUse: true })
      .toArray();
    return statsFromRows(rows);
  }

  async findImageByFileKey(key: string): Promise<ImageRecord | null> {
    const doc = await this.messages.findOne(fileKeyMatch(key));
    if (!doc) return null;
    await this.adopt(elementsOf(doc));
    const forms = new Set(fileKeyForms(key));
    return (
      docToMessage(doc, (await this.ownersOf([doc]))(doc)).images.find(
        (i) => forms.has(i.localKey ?? '') || forms.has(i.thumbnailKey ?? '') || forms.has(i.evictedKey ?? ''),
      ) ?? null
    );
  }

  async cloudUrlInUse(cloudUrl: string, exceptImageId: string): Promise<boolean> {
    const filter = cloudUrlInUseFilter(cloudUrl, idMatch([exceptImageId]).$in);
    return (await this.messages.countDocuments(filter, { limit: 1 })) > 0;
  }

  async findReplicatedBySha256(userId: string, sha256: string): Promise<ImageRecord | null> {
    // Legacy images read with sha256 '': their bytes are unknown, never a match.
    if (!sha256) return null;
    const [row] = await this.messages.aggregate<UnwoundRow>(replicatedTwinPipeline(userId, sha256)).toArray();
    return row ? docToImage(row.images ?? {}, parentOf(row, (await this.ownersOf([row]))(row)), row.image_index) : null;
  }

  /**
   * Finds due images, then leases each with its own conditional update (see claimFilter): an
   * image a concurrent claimer took meanwhile no longer matches and is skipped. When some were
   * lost, another round looks for more, so an empty answer means the queue had nothing due.
   */
  async claimDueImages({ now, leaseOwner, leaseMs, limit }: ClaimArgs): Promise<ImageRecord[]> {
    const lease = leaseUpdate(leaseOwner, new Date(now.getTime() + leaseMs));
    const claimed = new Map<string, ImageRecord>();
    for (let round = 0; round < CLAIM_ROUNDS && claimed.size < limit; round++) {
      const candidates = (
        await this.messages
          .aggregate<{ _id: Id; image_id: Id }>(claimCandidatesPipeline(now, 2 * (limit - claimed.size)))
          .toArray()
      ).filter((c) => !claimed.has(idString(c.image_id)));
      if (candidates.length === 0) break;
      let lost = 0;
      while (candidates.length > 0 && claimed.size < limit) {
        // At most as many at once as are still wanted, so `limit` is never exceeded.
        const batch = candidates.splice(0, limit - claimed.size);
        const docs = await Promise.all(
          batch.map((c) =>
            this.messages.findOneAndUpdate(claimFilter(c._id, c.image_id, now), lease, { returnDocument: 'after' }),
          ),
        );
        const ownerOf = await this.ownersOf(docs.filter((d) => d !== null));
        docs.forEach((doc, i) => {
          const imageId = idString(batch[i]!.image_id);
          const image = doc ? docToMessage(doc, ownerOf(doc)).images.find((img) => img.id === imageId) : undefined;
          if (image) claimed.set(imageId, image);
          else lost++;
        });
      }
      if (lost === 0) break;
    }
    return [...claimed.values()];
  }

  beginDeletion(job: DeletionJob): Promise<boolean> {
    return this.deletions.begin(job, (id) => this.removeImage(id));
  }

  async enqueueDeletion(job: DeletionJob): Promise<void> {
    await this.deletions.enqueue(job);
  }

  claimDueDeletions(args: ClaimArgs): Promise<DeletionJob[]> {
    return args.limit <= 0 ? Promise.resolve([]) : this.deletions.claimDue(args);
  }

  updateDeletion(job: DeletionJob, guard?: { leaseOwner: string }): Promise<boolean> {
    return this.deletions.update(job, guard);
  }

  finishDeletion(imageId: string): Promise<void> {
    return this.deletions.finish(imageId);
  }

  countPendingDeletions(): Promise<number> {
    return this.deletions.count();
  }

  async countPendingReplication(): Promise<number> {
    const [row] = await this.messages.aggregate<{ n: number }>(pendingReplicationPipeline()).toArray();
    return row?.n ?? 0;
  }

  takeBudget(provider: string, windowStart: Date, limit: number): Promise<number | null> {
    return this.budgets.take(provider, windowStart, limit);
  }

  budgetUsed(provider: string, windowStart: Date): Promise<number> {
    return this.budgets.used(provider, windowStart);
  }

  /** This process wrote an image: cached statistics and totals are stale. */
  private invalidateCounts(): void {
    this.stats.invalidate();
    this.counts.invalidate();
  }

  /**
   * The owners of messages that name none (the seed chatbot's): their conversation's, in one
   * query for all of them; LEGACY_DEFAULT_OWNER (else NO_OWNER) when the conversation names none
   * either, or is missing. Messages with a `user_id` cost nothing.
   */
  private async ownersOf(
    docs: readonly Pick<MessageDoc, 'user_id' | 'conversation_id'>[],
  ): Promise<(d: Pick<MessageDoc, 'user_id' | 'conversation_id'>) => string | undefined> {
    const wanted = [...new Set(docs.filter((d) => d.user_id == null).map((d) => idString(d.conversation_id)))];
    if (wanted.length === 0) return () => undefined;
    const conversations = await this.conversations
      .find({ _id: idMatch(wanted) }, { projection: { user_id: 1 } })
      .toArray();
    return messageOwners(conversations, this.defaultOwner);
  }

  /** An owner-scoped read as messageOwnerMatch needs it: the ids of the owner's conversations, in every stored form. */
  private async scope(owner: OwnerScope): Promise<MessageScope | null> {
    if (owner === null) return null;
    const docs = await this.conversations
      .find(conversationOwnerMatch(owner, this.defaultOwner), { projection: { _id: 1 } })
      .toArray();
    return { owner, conversations: anyIdForm(docs.map((d) => idString(d._id))) };
  }

  /**
   * Writes the derived `_id` into the elements read without one, so the ids just handed out can
   * be looked up by index. Best effort: a failure (a read-only user, say) leaves the reads as they
   * were, with the same derived ids, and the next read tries again.
   */
  private async adopt(elements: readonly ImageElement[]): Promise<void> {
    const ops = adoptLegacyOps(elements);
    if (ops.length === 0) return;
    try {
      await this.messages.bulkWrite(ops, { ordered: false });
    } catch {
      // See above: reads never fail because a legacy document could not be completed.
    }
  }
}

/** Rows were fetched with first + 1: the extra row only says a next page exists. */
function toPage<T>(rows: T[], first: number, totalCount: number): Page<T> {
  return { items: rows.slice(0, first), hasNextPage: rows.length > first, totalCount };
}
