import sharp from 'sharp';

/**
 * A thumbnail made again from a stored original (restore, reconcile). Stored originals are
 * already upright and sRGB, so this is the thumbnail step of processImage on its own: WebP,
 * longest side `size`, never enlarged, first frame of an animation. WebP effort 2 instead of the
 * default 4: a restore after a disk loss makes thousands of these, and at 256 px effort 4 costs
 * 40% more CPU (17 vs 12 ms for an 800x600 JPEG) for a few hundred bytes.
 */
export async function thumbnailOf(input: Buffer | string, o: { maxInputPixels: number; size: number }): Promise<Buffer> {
  return sharp(input, { limitInputPixels: o.maxInputPixels, failOn: 'truncated' })
    .resize(o.size, o.size, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75, alphaQuality: 80, effort: 2 })
    .toBuffer();
}
