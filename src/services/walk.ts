import type { ImageFilter, ImageRecord, OwnerScope } from '../domain/types.js';
import type { MetadataStore } from '../store/metadata-store.js';

export const WALK_PAGE_SIZE = 100;

/**
 * Every image matching `filter`, a page at a time (newest first, keyset-paged), so a pass over
 * 10,000 images never holds more than one page of records. The first page's totalCount is
 * handed to `onTotal` for progress bars.
 */
export async function* walkImages(
  store: Pick<MetadataStore, 'listImages'>,
  owner: OwnerScope,
  filter: ImageFilter,
  onTotal?: (total: number) => void,
): AsyncGenerator<ImageRecord[]> {
  let after: { t: number; id: string } | null = null;
  for (let first = true; ; first = false) {
    const page = await store.listImages(owner, filter, { first: WALK_PAGE_SIZE, after });
    if (first) onTotal?.(page.totalCount);
    if (page.items.length > 0) yield page.items;
    const last = page.items.at(-1);
    if (!page.hasNextPage || !last) return;
    after = { t: last.uploadedAt.getTime(), id: last.id };
  }
}
