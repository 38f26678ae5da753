import { BadUserInputError } from './errors.js';

/**
 * A keyset cursor: the sort timestamp and the id of the last row of a page.
 * Ordering is always (timestamp, id), so pages are stable when timestamps are equal.
 */
export interface Cursor {
  /** Milliseconds since the epoch of the row's sort key. */
  t: number;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.t, c.id]), 'utf8').toString('base64url');
}

export function decodeCursor(s: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    throw new BadUserInputError(
      `Malformed cursor "${truncate(s)}": pass an endCursor or edge cursor returned by this API.`,
    );
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'number' ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    parsed[1].length === 0 ||
    parsed[1].length > 64
  ) {
    throw new BadUserInputError(
      `Malformed cursor "${truncate(s)}": pass an endCursor or edge cursor returned by this API.`,
    );
  }
  return { t: parsed[0], id: parsed[1] };
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export interface PageRequest {
  /** 1..100, validated before it reaches a store. */
  first: number;
  after: Cursor | null;
}

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
  /** Count of every row matching the query, ignoring `first` and `after`. */
  totalCount: number;
}
