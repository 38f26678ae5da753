import sharp from 'sharp';

/**
 * The thumbnail step, shared by uploads (processImage) and by restore and reconcile, which make
 * a missing thumbnail again from a stored original: WebP, longest side `size`, never enlarged.
 * WebP effort 2: at 256 px from a 1 MP image it takes 10 ms against effort 4's 17.6 (the default
 * of libvips) for 3% more bytes (10.7 vs 10.4 KB), time every upload waits for.
 */
export function toThumbnail(pixels: sharp.Sharp, size: number, effort = 2): sharp.Sharp {
  return pixels
    .resize(size, size, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75, alphaQuality: 80, effort });
}

/** Formats a thumbnail key may name: ours are WebP; the seed chatbot's keep the original's format. */
export type ThumbnailFormat = 'webp' | 'jpeg' | 'png';

/** The format a thumbnail's key names by its extension (WebP for anything else). */
export function thumbnailFormatOf(key: string): ThumbnailFormat {
  const ext = key.split('.').at(-1)?.toLowerCase();
  return ext === 'jpg' || ext === 'jpeg' ? 'jpeg' : ext === 'png' ? 'png' : 'webp';
}

export const THUMBNAIL_MIME_TYPES: Record<ThumbnailFormat, string> = {
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  png: 'image/png',
};

/**
 * A thumbnail made again from a stored original. Stored originals are already upright and sRGB,
 * so this is the thumbnail step alone, of the first frame of an animation, at the same effort as
 * an upload's (a restore after a disk loss makes thousands of these).
 */
export async function thumbnailOf(
  input: Buffer | string,
  o: { maxInputPixels: number; size: number; format?: ThumbnailFormat },
): Promise<Buffer> {
  const pixels = sharp(input, { limitInputPixels: o.maxInputPixels, failOn: 'truncated' });
  // A seed thumbnail's key says .jpg or .png: the bytes made again under it must be what it says.
  if (o.format === 'jpeg')
    return pixels.resize(o.size, o.size, { fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 85 }).toBuffer();
  if (o.format === 'png')
    return pixels.resize(o.size, o.size, { fit: 'inside', withoutEnlargement: true }).png().toBuffer();
  return toThumbnail(pixels, o.size).toBuffer();
}
