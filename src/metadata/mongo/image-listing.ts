import type { Document } from 'mongodb';
import type { PageRequest } from '../../domain/cursor.js';
import type { ImageFilter } from '../../domain/types.js';
import { idMatch, idString } from './documents.js';
import {
  imageMessagesMatch,
  imageView,
  imageViewMatch,
  keysetAfter,
  UNWIND_IMAGES,
  type MessageScope,
} from './queries.js';

/**
 * The `images` listing on MongoDB, newest first, read through an index instead of sorting all
 * of an owner's images on every page.
 *
 * Images are elements of message documents, so no index orders them one by one. The listing
 * reads time windows instead, newest first: each window is a range on a multikey index over
 * `images.uploaded_at` (with the owner or the conversation in front), and only the messages
 * holding an image in that range are read, unwound and sorted. The first window ends at the
 * cursor (or at the filter's `uploadedBefore`, or has no end) and reaches an hour back; each
 * next one lies just below the last and is four times as long, until the page is full or the
 * windows reach the oldest possible date (or `uploadedAfter`); the one that would reach below
 * 1970 reaches the oldest date at once. Windows are disjoint and each is
 * sorted, so the page is exactly the newest first + 1 images after the cursor, as a sort of all
 * of them would give. A page costs the images in the windows read plus a round trip per window:
 * a dense history fills a page from one window, a sparse one (or an empty one) at most 12.
 *
 * Which stored `uploaded_at` a window matches: this server writes BSON dates; the seed chatbot
 * writes ISO strings, most without a zone (read as UTC, as documents.ts reads them); some data
 * holds milliseconds. A range matches one BSON type only, so each window has one range per type,
 * the string range two days wider on each side (zone offsets and separators shift a string
 * against its instant), and the exact window is then applied to the date as read (`v.at`).
 * An image whose `uploaded_at` is missing or is no readable date (no version of the seed writes
 * one; hand-made data might) is not in this listing; every other read sees it.
 */

export const FIRST_WINDOW_MS = 3_600_000;
export const WINDOW_GROWTH = 4;
/** The range of a JavaScript (and BSON) date. */
export const MIN_DATE = new Date(-8.64e15);
export const MAX_DATE = new Date(8.64e15);
const STRING_SLACK_MS = 2 * 86_400_000;

/** A window of `v.at`: from (inclusive) to `to`, inclusive only for the first window. */
export interface TimeWindow {
  from: Date;
  to: Date;
  toInclusive: boolean;
}

/**
 * The windows a listing reads, newest first, until one reaches `floor`. The first one starts
 * at the earlier of `top` and `now`, so an unbounded listing looks back from the present.
 */
export function* listingWindows(top: Date, floor: Date, now: Date): Generator<TimeWindow> {
  let to = top;
  let toInclusive = true;
  let length = FIRST_WINDOW_MS;
  let anchor = Math.min(top.getTime(), now.getTime());
  for (;;) {
    // Dates before 1970 are no upload's: a window that would reach below the epoch goes to the floor.
    const fromMs = anchor - length < 0 ? floor.getTime() : Math.max(anchor - length, floor.getTime());
    const from = new Date(fromMs);
    yield { from, to, toInclusive };
    if (fromMs <= floor.getTime()) return;
    to = from;
    toInclusive = false;
    anchor = fromMs;
    length *= WINDOW_GROWTH;
  }
}

/** An ISO string bound for a string range; beyond four-digit years, the ends of all strings. */
function isoBound(ms: number, side: 'low' | 'high'): string {
  const d = new Date(Math.min(Math.max(ms, MIN_DATE.getTime()), MAX_DATE.getTime()));
  const year = d.getUTCFullYear();
  if (year < 1) return side === 'low' ? '' : '\u{10ffff}';
  if (year > 9999) return side === 'low' ? '' : '\u{10ffff}';
  return d.toISOString();
}

/** The elements whose stored uploaded_at may fall in the window, one index range per BSON type. */
export function windowRanges(w: TimeWindow): Document[] {
  const upper = w.toInclusive ? '$lte' : '$lt';
  return [
    { images: { $elemMatch: { uploaded_at: { $gte: w.from, [upper]: w.to } } } },
    {
      images: {
        $elemMatch: {
          uploaded_at: {
            $gte: isoBound(w.from.getTime() - STRING_SLACK_MS, 'low'),
            $lte: isoBound(w.to.getTime() + STRING_SLACK_MS, 'high'),
          },
        },
      },
    },
    { images: { $elemMatch: { uploaded_at: { $gte: w.from.getTime(), [upper]: w.to.getTime() } } } },
  ];
}

/**
 * The scope as separate conjunctions, each served by its own index: the owner's messages by
 * (user_id, images.uploaded_at), the seed's messages without user_id by (conversation_id,
 * images.uploaded_at), an admin's by images.uploaded_at alone.
 */
export function scopeBranches(scope: MessageScope | null, filter: ImageFilter): Document[] {
  const conversation = filter.conversationId != null ? { conversation_id: idMatch([filter.conversationId]) } : {};
  if (scope === null) return [conversation];
  const own = { user_id: idMatch([scope.owner]), ...conversation };
  if (scope.conversations.length === 0) return [own];
  // A conversation filter narrows the seed branch to that conversation, only when it is the owner's:
  // messages without user_id are the owner's through their conversation, never through the filter.
  const conversations =
    filter.conversationId != null
      ? scope.conversations.filter((c) => idString(c) === filter.conversationId)
      : scope.conversations;
  return conversations.length === 0 ? [own] : [own, { user_id: null, conversation_id: { $in: conversations } }];
}

/** Every (scope branch × type range) pair, so the planner gives each its index bounds. */
export function windowMatch(scope: MessageScope | null, filter: ImageFilter, w: TimeWindow): Document {
  const branches = scopeBranches(scope, filter).flatMap((b) => windowRanges(w).map((r) => ({ ...b, ...r })));
  return { $or: branches };
}

/** The images of one window after the cursor, newest first, at most `limit`, as rows of `images` unwound. */
export function windowPipeline(
  scope: MessageScope | null,
  filter: ImageFilter,
  w: TimeWindow,
  after: PageRequest['after'],
  limit: number,
): Document[] {
  const exact = { 'v.at': { $gte: w.from, [w.toInclusive ? '$lte' : '$lt']: w.to } };
  return [
    { $match: windowMatch(scope, filter, w) },
    UNWIND_IMAGES,
    { $project: { conversation_id: 1, user_id: 1, created_at: 1, images: 1, image_index: 1, v: imageView() } },
    { $match: { $and: [imageViewMatch(filter), exact, keysetAfter('v.at', 'images._id', after, -1)] } },
    { $sort: { 'v.at': -1, 'images._id': -1 } },
    { $limit: limit },
  ];
}

/**
 * The count of every image matching the filter, ignoring the page: `[{ n }]`, or none when there
 * are none. It reads every image of the scope, which is why the store keeps its answer a while.
 */
export function countImagesPipeline(scope: MessageScope | null, filter: ImageFilter): Document[] {
  return [
    { $match: imageMessagesMatch(scope, filter) },
    { $unwind: '$images' },
    { $project: { v: imageView() } },
    { $match: imageViewMatch(filter) },
    { $count: 'n' },
  ];
}

/**
 * A page of rows (first + 1, the extra telling hasNextPage), reading windows until it is full.
 * `aggregate` runs one pipeline; `now` only decides where an unbounded listing starts looking.
 */
export async function listImageRows<Row>(
  scope: MessageScope | null,
  filter: ImageFilter,
  page: PageRequest,
  now: Date,
  aggregate: (pipeline: Document[]) => Promise<Row[]>,
): Promise<Row[]> {
  const before = filter.uploadedBefore ?? null;
  const cursorAt = page.after ? new Date(page.after.t) : null;
  const top = new Date(Math.min(cursorAt?.getTime() ?? MAX_DATE.getTime(), before?.getTime() ?? MAX_DATE.getTime()));
  const floor = filter.uploadedAfter ?? MIN_DATE;
  if (top.getTime() < floor.getTime()) return [];
  const rows: Row[] = [];
  const want = page.first + 1;
  for (const w of listingWindows(top, floor, now)) {
    rows.push(...(await aggregate(windowPipeline(scope, filter, w, page.after, want - rows.length))));
    if (rows.length >= want) break;
  }
  return rows;
}
