import type { Page } from '../../domain/cursor.js';
import type { ImageFilter, OwnerScope } from '../../domain/types.js';

/** Conditions and positional parameters of an image listing, in matching order. */
export function imageFilterWhere(owner: OwnerScope, f: ImageFilter): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, value: unknown) => {
    where.push(clause);
    params.push(value);
  };
  if (owner !== null) add('user_id = ?', owner);
  if (f.conversationId != null) add('conversation_id = ?', f.conversationId);
  if (f.generated != null) add('generated = ?', f.generated ? 1 : 0);
  if (f.service != null) add('service = ?', f.service);
  if (f.minSize != null) add('size >= ?', f.minSize);
  if (f.maxSize != null) add('size <= ?', f.maxSize);
  if (f.uploadedAfter != null) add('uploaded_at >= ?', f.uploadedAfter.getTime());
  if (f.uploadedBefore != null) add('uploaded_at < ?', f.uploadedBefore.getTime());
  return { where, params };
}

export function whereClause(conditions: string[]): string {
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}

/** Rows were fetched with LIMIT first + 1: the extra row only says a next page exists. */
export function toPage<T>(rows: T[], first: number, totalCount: number): Page<T> {
  return { items: rows.slice(0, first), hasNextPage: rows.length > first, totalCount };
}

export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
