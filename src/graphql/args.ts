import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../domain/cursor.js';
import { BadUserInputError } from '../domain/errors.js';
import { isValidId } from '../domain/ids.js';
import type { ConnectionShape, PageArgs } from './types/pagination.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** Validates `first` and `after` of a connection field. */
export function pageArgs(args: PageArgs): PageRequest {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  const after = args.after;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be between 1 and ${MAX_PAGE_SIZE}; got ${first}.`);
  }
  return { first, after: after == null ? null : decodeCursor(after) };
}

/** What an id argument of `kind` is described as in the schema: the shape parseId checks, and `more`. */
export function idArgDescription(kind: string, more?: string): string {
  return `Id of the ${kind}: 24 hex characters (malformed: BAD_USER_INPUT).${more ? ` ${more}` : ''}`;
}

export function parseId(kind: string, id: string): string {
  if (!isValidId(id)) {
    throw new BadUserInputError(
      `Malformed ${kind} id "${id.length > 40 ? `${id.slice(0, 40)}…` : id}": ids are 24 hexadecimal characters.`,
    );
  }
  return id;
}

/** Turns a store page into a connection, with cursors from each node's sort key. */
export function toConnection<T extends { id: string }>(page: Page<T>, sortKey: (node: T) => Date): ConnectionShape<T> {
  const edges = page.items.map((node) => ({ node, cursor: encodeCursor({ t: sortKey(node).getTime(), id: node.id }) }));
  return {
    edges,
    totalCount: page.totalCount,
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
