import { MongoClient, type Collection, type Db, type Document } from 'mongodb';
import type { Page, PageArgs } from '../../domain/cursor.js';
import { NotFoundError } from '../../domain/errors.js';
import { STORAGE_SERVICES, type Conversation, type ImageFilter, type ImageRecord, type Message, type OwnerScope, type StorageStats } from '../../domain/types.js';
import type { ClaimArgs, ImagePatch, MetadataStore } from '../metadata-store.js';
import {
  anyIdForm,
  conversationToDoc,
  docToConversation,
  docToImage,
  docToMessage,
  idString,
  imageIdOf,

  imageToDoc,
  messageToDoc,
  toObjectId,
  type ConversationDoc,
  type ImageDoc,
  type MessageDoc,
} from './documents.js';
import { dueForReplication, imageFieldsMatch, keysetAfter, messagesWithImagesMatch, ownerFilter } from './queries.js';

const PATCH_FIELDS: Record<string, string> = {
  localKey: 'url',
  thumbnailKey: 'thumbnail_url',
  cloudUrl: 'cloud_url',
  deleteUrl: 'delete_url',
  caption: 'caption',
  placeholder: 'placeholder',
};
const REPLICATION_FIELDS: Record<string, string> = {
  status: 'status',
  attempts: 'attempts',
  nextAttemptAt: 'next_attempt_at',
  lastError: 'last_error',
  leaseOwner: 'lease_owner',
  leaseUntil: 'lease_until',
};

/**
 * MetadataStore over MongoDB, in the document shape the existing chatbot writes. Needs
 * MongoDB 5.0 or newer ($setWindowFields). Each port method is a constant number of queries.
 */
export class MongoMetadataStore implements MetadataStore {
  readonly kind = 'mongo' as const;
  private readonly client: MongoClient;
  private readonly ownsClient: boolean;
  private readonly db: Db;
  private readonly conversations: Collection<ConversationDoc>;
  private readonly messages: Collection<MessageDoc>;

  constructor(options: { uri: string; dbName: string; client?: MongoClient }) {
    this.ownsClient = !options.client;
    this.client = options.client ?? new MongoClient(options.uri, { serverSelectionTimeoutMS: 10_000 });
    this.db = this.client.db(options.dbName);
    this.conversations = this.db.collection<ConversationDoc>('conversations');
    this.messages = this.db.collection<MessageDoc>('messages');
  }

  async init(): Promise<void> {
    await this.client.connect();
    await this.messages.createIndexes([
      { key: { conversation_id: 1, created_at: 1, _id: 1 } },
      { key: { 'images._id': 1 } },
      { key: { 'images.replication.status': 1, 'images.replication.next_attempt_at': 1 } },
      { key: { user_id: 1, 'images.sha256': 1 } },
      { key: { 'images.url': 1 } },
      { key: { 'images.thumbnail_url': 1 } },
    ]);
    await this.conversations.createIndexes([{ key: { user_id: 1, updated_at: -1, _id: -1 } }, { key: { updated_at: -1, _id: -1 } }]);
    await this.backfillLegacyImageIds();
  }

  /**
   * Images written by the older app have no `_id`; readers derive one from the message id and
   * the file name. Writing that same id into them lets every id-based query (image(id),
   * updates, deletes) find them. The older app ignores the extra field. Idempotent.
   */
  private async backfillLegacyImageIds(): Promise<void> {
    const legacy = this.messages.find({ images: { $elemMatch: { _id: { $exists: false } } } }, { projection: { images: 1 } });
    for await (const doc of legacy) {
      const messageId = idString(doc._id);
      for (const [index, image] of (doc.images ?? []).entries()) {
        if (image._id !== undefined) continue;
        await this.messages.updateOne(
          { _id: doc._id },
          { $set: { 'images.$[legacy]._id': toObjectId(imageIdOf(image, messageId, index)) } },
          { arrayFilters: [{ 'legacy._id': { $exists: false }, 'legacy.url': image.url ?? null }] },
        );
      }
    }
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
    return (await this.conversations.find({ _id: { $in: anyIdForm(ids) } }).toArray()).map(docToConversation);
  }

  async listConversations(owner: OwnerScope, page: PageArgs): Promise<Page<Conversation>> {
    const filter = ownerFilter(owner);
    const [rows, totalCount] = await Promise.all([
      this.conversations
        .find({ ...filter, ...keysetAfter('updated_at', '_id', page.after, -1) })
        .sort({ updated_at: -1, _id: -1 })
        .limit(page.first + 1)
        .toArray(),
      this.conversations.countDocuments(filter),
    ]);
    return toPage(rows.map(docToConversation), page.first, totalCount);
  }

  async addMessage(message: Message): Promise<void> {
    const [conversation] = await this.conversations.find({ _id: { $in: anyIdForm([message.conversationId]) } }).limit(1).toArray();
    if (!conversation) throw new NotFoundError('Conversation', message.conversationId);
    await this.messages.insertOne(messageToDoc({ ...message, conversationId: idString(conversation._id) }));
    await this.conversations.updateOne({ _id: conversation._id }, { $set: { updated_at: message.createdAt } });
  }

  async getMessagesByIds(ids: readonly string[]): Promise<Message[]> {
    if (ids.length === 0) return [];
    return (await this.messages.find({ _id: { $in: anyIdForm(ids) } }).toArray()).map(docToMessage);
  }

  async listMessagesOfConversations(conversationIds: readonly string[], page: PageArgs): Promise<Map<string, Page<Message>>> {
    const ids = [...new Set(conversationIds)];
    const result = new Map<string, Page<Message>>();
    if (ids.length === 0) return result;
    const match = { conversation_id: { $in: anyIdForm(ids) } };
    const [rows, totals] = await Promise.all([
      // Numbered per conversation after the cursor; first + 1 kept, the extra one telling hasNextPage.
      this.messages
        .aggregate<MessageDoc>([
          { $match: { ...match, ...keysetAfter('created_at', '_id', page.after, 1) } },
          { $setWindowFields: { partitionBy: '$conversation_id', sortBy: { created_at: 1, _id: 1 }, output: { rn: { $documentNumber: {} } } } },
          { $match: { rn: { $lte: page.first + 1 } } },
          { $sort: { conversation_id: 1, created_at: 1, _id: 1 } },
          { $unset: 'rn' },
        ])
        .toArray(),
      this.messages.aggregate<{ _id: unknown; n: number }>([{ $match: match }, { $group: { _id: '$conversation_id', n: { $sum: 1 } } }]).toArray(),
    ]);
    const byConversation = new Map<string, Message[]>();
    for (const m of rows.map(docToMessage)) byConversation.set(m.conversationId, [...(byConversation.get(m.conversationId) ?? []), m]);
    const totalOf = new Map(totals.map((t) => [idString(t._id as string), t.n]));
    for (const id of ids) result.set(id, toPage(byConversation.get(id) ?? [], page.first, totalOf.get(id) ?? 0));
    return result;
  }

  async addImage(messageId: string, image: ImageRecord): Promise<void> {
    const res = await this.messages.updateOne({ _id: { $in: anyIdForm([messageId]) } }, { $push: { images: imageToDoc(image) } });
    if (res.matchedCount === 0) throw new NotFoundError('Message', messageId);
  }

  async getImagesByIds(ids: readonly string[]): Promise<ImageRecord[]> {
    if (ids.length === 0) return [];
    const wanted = new Set(ids);
    const docs = await this.messages.find({ 'images._id': { $in: anyIdForm(ids) } }).toArray();
    return docs.flatMap((d) => docToMessage(d).images.filter((i) => wanted.has(i.id)));
  }

  async updateImage(id: string, patch: ImagePatch, guard?: { leaseOwner: string }): Promise<boolean> {
    const set: Document = {};
    for (const [key, field] of Object.entries(PATCH_FIELDS)) {
      if (key in patch) set[`images.$[img].${field}`] = (patch as Record<string, unknown>)[key];
    }
    if (patch.service !== undefined) set['images.$[img].service'] = patch.service.toLowerCase();
    for (const [key, field] of Object.entries(REPLICATION_FIELDS)) {
      if (patch.replication && key in patch.replication) set[`images.$[img].replication.${field}`] = (patch.replication as Record<string, unknown>)[key];
    }
    const oid = toObjectId(id);
    const filter = guard ? { images: { $elemMatch: { _id: oid, 'replication.lease_owner': guard.leaseOwner } } } : { 'images._id': oid };
    if (Object.keys(set).length === 0) return (await this.messages.countDocuments(filter, { limit: 1 })) > 0;
    const res = await this.messages.updateOne(filter, { $set: set }, { arrayFilters: [{ 'img._id': oid }] });
    return res.matchedCount > 0;
  }

  async removeImage(id: string): Promise<boolean> {
    const oid = toObjectId(id);
    const res = await this.messages.updateOne({ 'images._id': oid }, { $pull: { images: { _id: oid } } });
    return res.modifiedCount > 0;
  }

  async listImages(owner: OwnerScope, filter: ImageFilter, page: PageArgs): Promise<Page<ImageRecord>> {
    const [out] = await this.messages
      .aggregate<{ items: (MessageDoc & { images: ImageDoc })[]; total: { n: number }[] }>([
        { $match: messagesWithImagesMatch(owner, filter) },
        { $unwind: '$images' },
        { $match: imageFieldsMatch(filter) },
        {
          $facet: {
            items: [
              { $match: keysetAfter('images.uploaded_at', 'images._id', page.after, -1) },
              { $sort: { 'images.uploaded_at': -1, 'images._id': -1 } },
              { $limit: page.first + 1 },
            ],
            total: [{ $count: 'n' }],
          },
        },
      ])
      .toArray();
    const items = (out?.items ?? []).map((row) => docToImage(row.images, docToMessage({ ...row, images: [] }), 0));
    return toPage(items, page.first, out?.total[0]?.n ?? 0);
  }

  async countImagesByConversation(conversationIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.messages
      .aggregate<{ _id: unknown; n: number }>([
        { $match: { conversation_id: { $in: anyIdForm(conversationIds) } } },
        { $group: { _id: '$conversation_id', n: { $sum: { $size: { $ifNull: ['$images', []] } } } } },
      ])
      .toArray();
    const counts = new Map(rows.map((r) => [idString(r._id as string), r.n]));
    return new Map(conversationIds.map((id) => [id, counts.get(id) ?? 0]));
  }

  async storageStats(owner: OwnerScope): Promise<StorageStats> {
    const rows = await this.messages
      .aggregate<{ _id: string | null; count: number; bytes: number; localBytes: number; pending: number }>([
        { $match: { ...ownerFilter(owner), 'images.0': { $exists: true } } },
        { $unwind: '$images' },
        {
          $group: {
            _id: { $ifNull: ['$images.service', 'local'] },
            count: { $sum: 1 },
            bytes: { $sum: { $ifNull: ['$images.size', 0] } },
            localBytes: { $sum: { $cond: [{ $ifNull: ['$images.url', false] }, { $ifNull: ['$images.size', 0] }, 0] } },
            pending: { $sum: { $cond: [{ $in: ['$images.replication.status', ['PENDING', 'RETRYING']] }, 1, 0] } },
          },
        },
      ])
      .toArray();
    const stats: StorageStats = { imageCount: 0, totalBytes: 0, localBytes: 0, byService: [], pendingReplication: 0 };
    for (const service of STORAGE_SERVICES) {
      const row = rows.find((r) => String(r._id).toUpperCase() === service);
      if (!row) continue;
      stats.byService.push({ service, count: row.count, bytes: row.bytes });
      stats.imageCount += row.count;
      stats.totalBytes += row.bytes;
      stats.localBytes += row.localBytes;
      stats.pendingReplication += row.pending;
    }
    return stats;
  }

  async findImageByFileKey(key: string): Promise<ImageRecord | null> {
    const doc = await this.messages.findOne({ $or: [{ 'images.url': key }, { 'images.thumbnail_url': key }] });
    if (!doc) return null;
    return docToMessage(doc).images.find((i) => i.localKey === key || i.thumbnailKey === key) ?? null;
  }

  async findReplicatedBySha256(userId: string, sha256: string): Promise<ImageRecord | null> {
    const [row] = await this.messages
      .aggregate<MessageDoc & { images: ImageDoc }>([
        { $match: { user_id: userId, 'images.sha256': sha256 } },
        { $unwind: '$images' },
        { $match: { 'images.sha256': sha256, 'images.replication.status': 'REPLICATED', 'images.cloud_url': { $nin: [null, ''] } } },
        { $sort: { 'images.uploaded_at': -1, 'images._id': -1 } },
        { $limit: 1 },
      ])
      .toArray();
    return row ? docToImage(row.images, docToMessage({ ...row, images: [] }), 0) : null;
  }

  async claimDueImages(args: ClaimArgs): Promise<ImageRecord[]> {
    const candidates = await this.messages
      .aggregate<{ _id: unknown; image: ImageDoc }>([
        { $match: { 'images.replication.status': { $in: ['PENDING', 'RETRYING'] } } },
        { $unwind: '$images' },
        { $match: dueForReplication(args.now, 'images.') },
        { $sort: { 'images.replication.next_attempt_at': 1, 'images.uploaded_at': 1 } },
        // More than asked for: some will be taken by a concurrent claimer.
        { $limit: args.limit * 3 },
        { $project: { image: '$images' } },
      ])
      .toArray();
    const leaseUntil = new Date(args.now.getTime() + args.leaseMs);
    const claimed: { messageId: unknown; imageId: string }[] = [];
    for (const c of candidates) {
      if (claimed.length >= args.limit || c.image._id === undefined) continue;
      // The due condition is repeated inside $elemMatch, so of two concurrent claimers only the
      // first update matches: the document-level write is atomic.
      const res = await this.messages.updateOne(
        { _id: c._id as string, images: { $elemMatch: { _id: c.image._id, ...dueForReplication(args.now) } } },
        { $set: { 'images.$.replication.lease_owner': args.leaseOwner, 'images.$.replication.lease_until': leaseUntil } },
      );
      if (res.modifiedCount === 1) claimed.push({ messageId: c._id, imageId: idString(c.image._id) });
    }
    if (claimed.length === 0) return [];
    const docs = await this.messages.find({ _id: { $in: claimed.map((c) => c.messageId as string) } }).toArray();
    const ids = new Set(claimed.map((c) => c.imageId));
    return docs.flatMap((d) => docToMessage(d).images.filter((i) => ids.has(i.id)));
  }
}

function toPage<T>(rows: T[], first: number, totalCount: number): Page<T> {
  return { items: rows.slice(0, first), hasNextPage: rows.length > first, totalCount };
}

