import { createHash } from 'node:crypto';
import type { Cursor, Page, PageRequest } from '../../src/domain/cursor.js';
import { createIdGenerator } from '../../src/domain/ids.js';
import type { Conversation, ImageRecord, Message, Replication } from '../../src/domain/types.js';
import type { CleanupResult } from '../../src/maintenance/cleanup.js';

/** FILE_URL_SECRET of every server, CLI and core the tests start (at least 32 characters). */
export const TEST_FILE_URL_SECRET = 'test-secret-test-secret-test-secret!';

/** 2026-01-01T00:00:00Z: every test date is an offset from it, so runs are reproducible. */
export const BASE_MS = Date.UTC(2026, 0, 1);

export function at(offsetMs: number): Date {
  return new Date(BASE_MS + offsetMs);
}

let sequence = 0;

/**
 * ObjectId-shaped ids whose "random" part is a hash of a counter: deterministic, yet not in
 * creation order, so a store that sorted by insertion order instead of by id would be caught.
 */
export const newId = createIdGenerator(
  () => new Date(BASE_MS),
  (n) => createHash('sha256').update(`id-${++sequence}`).digest().subarray(0, n),
);

export function makeConversation(o: Partial<Conversation> = {}): Conversation {
  return { id: newId(), userId: 'alice', title: 'A conversation', createdAt: at(0), updatedAt: at(0), ...o };
}

export function makeMessage(conversation: Pick<Conversation, 'id' | 'userId'>, o: Partial<Message> = {}): Message {
  return {
    id: newId(),
    conversationId: conversation.id,
    userId: conversation.userId,
    role: 'USER',
    content: 'Draw me a lighthouse at dusk',
    createdAt: at(1000),
    images: [],
    ...o,
  };
}

export type ImageOverrides = Partial<Omit<ImageRecord, 'replication'>> & { replication?: Partial<Replication> };

/** An image belonging to `message` (its ids are copied so the record is consistent). */
export function makeImage(
  message: Pick<Message, 'id' | 'conversationId' | 'userId'>,
  o: ImageOverrides = {},
): ImageRecord {
  const id = o.id ?? newId();
  const { replication, ...rest } = o;
  return {
    id,
    messageId: message.id,
    conversationId: message.conversationId,
    userId: message.userId,
    localKey: `uploads/img_20260101_000000_${id.slice(-8)}.png`,
    evictedKey: null,
    thumbnailKey: `thumbnails/thumb_img_20260101_000000_${id.slice(-8)}.webp`,
    cloudUrl: null,
    thumbnailCloudUrl: null,
    cloudAlteredAt: null,
    cloudVerifiedAt: null,
    deleteUrl: null,
    caption: null,
    size: 1000,
    mimeType: 'image/png',
    width: 640,
    height: 480,
    generated: false,
    service: 'LOCAL',
    sha256: createHash('sha256').update(id).digest('hex'),
    placeholder: null,
    uploadedAt: at(2000),
    ...rest,
    replication: {
      status: 'PENDING',
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      leaseOwner: null,
      leaseUntil: null,
      ...replication,
    },
  };
}

/** Deterministic shuffle (reversed interleave), so inserts do not arrive in sort order. */
export function scramble<T>(items: readonly T[]): T[] {
  const odd = items.filter((_, i) => i % 2 === 1);
  const even = items.filter((_, i) => i % 2 === 0);
  return [...odd.reverse(), ...even];
}

/**
 * Follows `after` cursors from the first page to the last and returns every page, so a test
 * can check the concatenation, each page's totalCount and where hasNextPage turns false.
 */
export async function walkPages<T>(
  first: number,
  fetch: (page: PageRequest) => Promise<Page<T>>,
  cursorOf: (item: T) => Cursor,
): Promise<Page<T>[]> {
  const pages: Page<T>[] = [];
  let after: Cursor | null = null;
  for (;;) {
    const page = await fetch({ first, after });
    pages.push(page);
    const last = page.items.at(-1);
    if (!page.hasNextPage || !last) return pages;
    if (pages.length > 1000)
      throw new Error('walkPages: the store keeps answering hasNextPage, cursor does not advance');
    after = cursorOf(last);
  }
}

/** Comparators of the port's three orderings, to compute what a listing must return. */
export const byTimeAscId =
  <T extends { id: string }>(time: (x: T) => Date) =>
  (a: T, b: T) =>
    time(a).getTime() - time(b).getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
export const byTimeDescId =
  <T extends { id: string }>(time: (x: T) => Date) =>
  (a: T, b: T) =>
    byTimeAscId(time)(b, a);

/** The hex sha256 of some bytes, as records and cloud copies carry it. */
export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/**
 * A cleanup pass that found nothing to do, spelled out here rather than taken from the code, so
 * a test comparing against it checks the code's counts (spread it and set what a test expects).
 */
export const NOTHING_CLEANED: CleanupResult = {
  deleted: 0,
  thumbnailsDeleted: 0,
  keptNoCloudCopy: 0,
  verifiedCloudCopies: 0,
  keptUnverifiedCloudCopy: 0,
  alteredCloudCopies: 0,
  bytesFreed: 0,
  failed: 0,
};
