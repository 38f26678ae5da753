import sharp from 'sharp';

/**
 * A thumbnail made again from a stored original (restore, reconcile). Stored originals are
 * already upright and sRGB, so this is the thumbnail step of processImage on its own: WebP,
 * longest side `size`, never enlarged, first frame of an animation.
 */
export async function thumbnailOf(input: Buffer | string, o: { maxInputPixels: number; size: number }): Promise<Buffer> {
  return sharp(input, { limitInputPixels: o.maxInputPixels, failOn: 'truncated' })
    .resize(o.size, o.size, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75, alphaQuality: 80 })
    .toBuffer();
}
