import type { ImageFilter, ImageRecord, OwnerScope } from '../domain/types.js';
import type { ImageQueries } from './metadata-store.js';

export const WALK_PAGE_SIZE = 100;

/**
 * Every image matching `filter`, a slice at a time in storage order (scanImages), so a pass
 * over 10,000 images never holds more than one slice of records and each slice costs the store
 * one index range read. With `onTotal`, the matching images are counted once first, for
 * progress bars.
 */
export async function* walkImages(
  store: Pick<ImageQueries, 'listImages' | 'scanImages'>,
  owner: OwnerScope,
  filter: ImageFilter,
  onTotal?: (total: number) => void,
): AsyncGenerator<ImageRecord[]> {
  if (onTotal) onTotal((await store.listImages(owner, filter, { first: 1, after: null })).totalCount);
  let after: string | null = null;
  do {
    const slice = await store.scanImages(owner, filter, after, WALK_PAGE_SIZE);
    if (slice.items.length > 0) yield slice.items;
    after = slice.next;
  } while (after !== null);
}
