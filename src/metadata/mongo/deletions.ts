import { randomUUID } from 'node:crypto';
import type { Collection, Db, IndexSpecification } from 'mongodb';
import type { DeletionJob } from '../../domain/types.js';
import type { ClaimArgs } from '../metadata-store.js';
import { SERVICE_TO_DOC } from './documents.js';
import { DOC_TO_SERVICE } from './documents.js';
import { ensureIndexes } from './indexes.js';

/** `image_deletions`: one document per deletion in progress, keyed by the image id. */
export interface DeletionDoc {
  _id: string;
  user_id: string;
  local_keys: string[];
  cloud: { service: string; url: string; delete_url: string } | null;
  cloud_deleted: boolean;
  requested_at: Date;
  attempts: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: Date | null;
  /** Set while the begin that inserted the job has not yet removed the record; see MongoDeletions.begin. */
  begin_token?: string;
}

export function deletionToDoc(j: DeletionJob): DeletionDoc {
  return {
    _id: j.imageId,
    user_id: j.userId,
    local_keys: j.localKeys,
    cloud: j.cloud
      ? { service: SERVICE_TO_DOC[j.cloud.service], url: j.cloud.url, delete_url: j.cloud.deleteUrl }
      : null,
    cloud_deleted: j.cloudDeleted,
    requested_at: j.requestedAt,
    attempts: j.attempts,
    next_attempt_at: j.nextAttemptAt,
    last_error: j.lastError,
    lease_owner: j.leaseOwner,
    lease_until: j.leaseUntil,
  };
}

export function docToDeletion(d: DeletionDoc): DeletionJob {
  return {
    imageId: d._id,
    userId: d.user_id,
    localKeys: d.local_keys,
    cloud: d.cloud
      ? { service: DOC_TO_SERVICE[d.cloud.service] ?? 'LOCAL', url: d.cloud.url, deleteUrl: d.cloud.delete_url }
      : null,
    cloudDeleted: d.cloud_deleted,
    requestedAt: d.requested_at,
    attempts: d.attempts,
    nextAttemptAt: d.next_attempt_at,
    lastError: d.last_error,
    leaseOwner: d.lease_owner,
    leaseUntil: d.lease_until,
  };
}

/**
 * Deletion jobs on MongoDB. Without a multi-document transaction (a standalone server has none)
 * the job is written before the image is pulled from its message: a crash in between leaves a
 * job whose worker pass pulls the image again (idempotent), never files without a job.
 */
export const DELETION_INDEXES: readonly IndexSpecification[] = [{ next_attempt_at: 1 }];

export class MongoDeletions {
  readonly collection: Collection<DeletionDoc>;

  constructor(db: Db) {
    this.collection = db.collection<DeletionDoc>('image_deletions');
  }

  async init(): Promise<void> {
    await ensureIndexes(this.collection, DELETION_INDEXES);
  }

  async begin(job: DeletionJob, removeImage: (id: string) => Promise<boolean>): Promise<boolean> {
    const { _id, ...fields } = deletionToDoc(job);
    const token = randomUUID();
    const written = await this.collection.updateOne(
      { _id },
      { $setOnInsert: { ...fields, begin_token: token } },
      { upsert: true },
    );
    if (await removeImage(_id)) {
      // This call removed the record, so the job is its own (as on SQLite). The job may have been
      // inserted by a concurrent deleter that lost the race for the record: writing it whole, by
      // upsert, restores it should that deleter have withdrawn it already, and clearing the token
      // stops that deleter from withdrawing it later.
      await this.collection.updateOne({ _id }, { $set: fields, $unset: { begin_token: '' } }, { upsert: true });
      return true;
    }
    // The record was already gone. A job this call inserted is withdrawn, unless the deleter that
    // removed the record has taken it over meanwhile.
    if (written.upsertedCount > 0) await this.collection.deleteOne({ _id, begin_token: token });
    return false;
  }

  async enqueue(job: DeletionJob): Promise<void> {
    const { _id, ...fields } = deletionToDoc(job);
    await this.collection.updateOne({ _id }, { $set: fields }, { upsert: true });
  }

  async claimDue({ now, leaseOwner, leaseMs, limit }: ClaimArgs): Promise<DeletionJob[]> {
    const due = {
      $and: [
        { $or: [{ next_attempt_at: null }, { next_attempt_at: { $lte: now } }] },
        { $or: [{ lease_until: null }, { lease_until: { $lte: now } }] },
      ],
    };
    const leaseUntil = new Date(now.getTime() + leaseMs);
    const claimed: DeletionJob[] = [];
    // One conditional update per job: a job another claimer leased meanwhile no longer matches.
    // A claimed job is the worker's: clearing begin_token stops a stalled begin from withdrawing it.
    while (claimed.length < limit) {
      // Never the same job twice in one claim, even with a zero lease (as on SQLite).
      const filter = claimed.length > 0 ? { $and: [due, { _id: { $nin: claimed.map((j) => j.imageId) } }] } : due;
      const doc = await this.collection.findOneAndUpdate(
        filter,
        { $set: { lease_owner: leaseOwner, lease_until: leaseUntil }, $unset: { begin_token: '' } },
        { returnDocument: 'after', sort: { next_attempt_at: 1, requested_at: 1 } },
      );
      if (!doc) break;
      claimed.push(docToDeletion(doc));
    }
    return claimed;
  }

  async update(job: DeletionJob, guard?: { leaseOwner: string }): Promise<boolean> {
    const { _id, ...fields } = deletionToDoc(job);
    const filter = guard ? { _id, lease_owner: guard.leaseOwner } : { _id };
    return (await this.collection.updateOne(filter, { $set: fields })).matchedCount > 0;
  }

  async finish(imageId: string): Promise<void> {
    await this.collection.deleteOne({ _id: imageId });
  }

  count(): Promise<number> {
    return this.collection.countDocuments();
  }
}
