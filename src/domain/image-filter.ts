import type { ImageFilter, ImageRecord } from './types.js';

/**
 * Whether an image matches a filter, with the stores' semantics: sizes inclusive, uploadedAfter
 * inclusive, uploadedBefore exclusive, null or missing fields meaning "any". For a store that
 * narrows by index first and applies the rest to the records (MongoDB's scanImages).
 */
export function matchesImageFilter(image: ImageRecord, f: ImageFilter): boolean {
  if (f.conversationId != null && image.conversationId !== f.conversationId) return false;
  if (f.generated != null && image.generated !== f.generated) return false;
  if (f.service != null && image.service !== f.service) return false;
  if (f.minSize != null && image.size < f.minSize) return false;
  if (f.maxSize != null && image.size > f.maxSize) return false;
  if (f.uploadedAfter != null && image.uploadedAt.getTime() < f.uploadedAfter.getTime()) return false;
  if (f.uploadedBefore != null && image.uploadedAt.getTime() >= f.uploadedBefore.getTime()) return false;
  return true;
}
