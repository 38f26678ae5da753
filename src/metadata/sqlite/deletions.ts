import type { DeletionJob, StorageService } from '../../domain/types.js';
import { dateOrNull, msOrNull } from './rows.js';

export interface DeletionRow {
  image_id: string;
  user_id: string;
  local_keys: string;
  cloud_service: string | null;
  cloud_url: string | null;
  cloud_delete_url: string | null;
  cloud_deleted: number;
  requested_at: number;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  lease_owner: string | null;
  lease_until: number | null;
}

export const UPSERT_DELETION = `
  INSERT INTO image_deletions (image_id, user_id, local_keys, cloud_service, cloud_url, cloud_delete_url, cloud_deleted,
    requested_at, attempts, next_attempt_at, last_error, lease_owner, lease_until)
  VALUES (@image_id, @user_id, @local_keys, @cloud_service, @cloud_url, @cloud_delete_url, @cloud_deleted,
    @requested_at, @attempts, @next_attempt_at, @last_error, @lease_owner, @lease_until)
  ON CONFLICT (image_id) DO UPDATE SET local_keys = excluded.local_keys, cloud_service = excluded.cloud_service,
    cloud_url = excluded.cloud_url, cloud_delete_url = excluded.cloud_delete_url, cloud_deleted = excluded.cloud_deleted,
    attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
    lease_owner = excluded.lease_owner, lease_until = excluded.lease_until`;

export const DUE_DELETIONS = `
  SELECT * FROM image_deletions
  WHERE (next_attempt_at IS NULL OR next_attempt_at <= ?) AND (lease_until IS NULL OR lease_until <= ?)
  ORDER BY COALESCE(next_attempt_at, 0), requested_at, image_id
  LIMIT ?`;

export function deletionParams(j: DeletionJob): DeletionRow {
  return {
    image_id: j.imageId,
    user_id: j.userId,
    local_keys: JSON.stringify(j.localKeys),
    cloud_service: j.cloud?.service ?? null,
    cloud_url: j.cloud?.url ?? null,
    cloud_delete_url: j.cloud?.deleteUrl ?? null,
    cloud_deleted: j.cloudDeleted ? 1 : 0,
    requested_at: j.requestedAt.getTime(),
    attempts: j.attempts,
    next_attempt_at: msOrNull(j.nextAttemptAt),
    last_error: j.lastError,
    lease_owner: j.leaseOwner,
    lease_until: msOrNull(j.leaseUntil),
  };
}

export function toDeletion(r: DeletionRow): DeletionJob {
  return {
    imageId: r.image_id,
    userId: r.user_id,
    localKeys: JSON.parse(r.local_keys) as string[],
    cloud:
      r.cloud_service && r.cloud_url && r.cloud_delete_url
        ? { service: r.cloud_service as StorageService, url: r.cloud_url, deleteUrl: r.cloud_delete_url }
        : null,
    cloudDeleted: r.cloud_deleted === 1,
    requestedAt: new Date(r.requested_at),
    attempts: r.attempts,
    nextAttemptAt: dateOrNull(r.next_attempt_at),
    lastError: r.last_error,
    leaseOwner: r.lease_owner,
    leaseUntil: dateOrNull(r.lease_until),
  };
}
