/**
 * The MongoDB aggregation builders run, not only their shape: mingo evaluates each pipeline in
 * memory over the seed chatbot's documents (test/fixtures/seed-app) and documents this server
 * writes, and the answer must agree with what the mapping layer (documents.ts) reads from the
 * same documents. mingo is not mongod (no indexes, and a few operators differ: it cannot
 * $toString an ObjectId), so this proves what a pipeline computes, not what it costs; the
 * contract suite runs the real store where a mongod is reachable.
 */
import { Aggregator } from 'mingo';
import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { STORAGE_SERVICES, type ImageRecord, type StorageStats } from '../../src/domain/types.js';
import { readExportFile } from '../../src/store/mongo/export-file.js';
import { docToMessage, messageOwners, messageToDoc, type ConversationDoc, type MessageDoc } from '../../src/store/mongo/documents.js';
import { pendingReplicationPipeline, storageStatsPipeline } from '../../src/store/mongo/queries.js';
import { SERVICE_TO_DOC } from '../../src/store/metadata-store.js';
import { at, makeConversation, makeImage, makeMessage } from '../support/factories.js';
import { SEED_APP } from '../support/seed-app.js';

async function docs<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  for await (const e of readExportFile(path)) {
    if (!e.ok) throw new Error(e.reason);
    out.push(e.doc as T);
  }
  return out;
}

const seedMessages = await docs<MessageDoc>(`${SEED_APP}/messages.json`);
const conversations = await docs<ConversationDoc>(`${SEED_APP}/conversations.json`);

/** A message of ours beside the seed's: one image in every replication state, two services. */
function ourMessage(): MessageDoc {
  const conversation = makeConversation({ userId: 'carol' });
  const message = makeMessage(conversation);
  const images = [
    makeImage(message, { uploadedAt: at(1), size: 100, replication: { status: 'PENDING' } }),
    makeImage(message, { uploadedAt: at(2), size: 200, replication: { status: 'RETRYING', attempts: 2 } }),
    makeImage(message, { uploadedAt: at(3), size: 300, replication: { status: 'LOCAL_ONLY' } }),
    makeImage(message, { uploadedAt: at(4), size: 400, service: 'S3', cloudUrl: 'https://bucket.example/k', replication: { status: 'REPLICATED' } }),
    makeImage(message, { uploadedAt: at(5), size: 500, localKey: null, service: 'S3', cloudUrl: 'https://bucket.example/e', replication: { status: 'REPLICATED' } }),
  ];
  return messageToDoc({ ...message, images });
}

const all = [...seedMessages, ourMessage(), ourMessage()];

function records(docsIn: readonly MessageDoc[]): ImageRecord[] {
  const ownerOf = messageOwners(conversations, null);
  return docsIn.flatMap((d) => docToMessage(d, ownerOf(d)).images);
}

/** StorageStats as the domain defines them, from records. */
function expectedStats(images: readonly ImageRecord[]): StorageStats {
  const byService = STORAGE_SERVICES.flatMap((service) => {
    const of = images.filter((i) => i.service === service);
    return of.length === 0 ? [] : [{ service, count: of.length, bytes: of.reduce((n, i) => n + i.size, 0) }];
  });
  return {
    imageCount: images.length,
    totalBytes: images.reduce((n, i) => n + i.size, 0),
    localBytes: images.filter((i) => i.localKey !== null).reduce((n, i) => n + i.size, 0),
    byService,
    pendingReplication: images.filter((i) => i.replication.status === 'PENDING' || i.replication.status === 'RETRYING').length,
  };
}

/** What MongoMetadataStore.storageStats makes of the pipeline's rows. */
function statsFromRows(rows: { _id: string; count: number; bytes: number; localBytes: number; pending: number }[]): StorageStats {
  const stats: StorageStats = { imageCount: 0, totalBytes: 0, localBytes: 0, byService: [], pendingReplication: 0 };
  for (const service of STORAGE_SERVICES) {
    const row = rows.find((r) => r._id === SERVICE_TO_DOC[service]);
    if (!row) continue;
    stats.byService.push({ service, count: row.count, bytes: row.bytes });
    stats.imageCount += row.count;
    stats.totalBytes += row.bytes;
    stats.localBytes += row.localBytes;
    stats.pendingReplication += row.pending;
  }
  return stats;
}

const run = <T>(pipeline: Document[], input: readonly Document[]) => new Aggregator(pipeline).run([...input]) as T[];

describe('MongoDB pipelines, evaluated in memory', () => {
  it('counts the replication queue as the records read it: PENDING and RETRYING only, seed images never', () => {
    const images = records(all);
    const queued = images.filter((i) => i.replication.status === 'PENDING' || i.replication.status === 'RETRYING');
    expect(queued).toHaveLength(4);
    expect(run<{ n: number }>(pendingReplicationPipeline(), all)).toEqual([{ _id: null, n: 4 }]);
    // The seed's own documents have no queue; the pipeline answers nothing rather than a zero row.
    expect(run(pendingReplicationPipeline(), seedMessages)).toEqual([]);
    // A message whose images are all replicated is not counted, though it is in the collection.
    const done = ourMessage();
    for (const i of done.images ?? []) if (i?.replication) i.replication.status = 'REPLICATED';
    expect(run(pendingReplicationPipeline(), [done])).toEqual([]);
  });

  it('computes storage statistics that agree with the records, over seed documents and ours', () => {
    const images = records(all);
    const stats = statsFromRows(run(storageStatsPipeline(null), all));
    expect(stats).toEqual(expectedStats(images));
    expect(stats.byService.map((s) => s.service).sort()).toEqual(['IMGBB', 'LOCAL', 'POSTIMAGES', 'S3']);
    expect(stats.pendingReplication).toBe(4);
  });
});
