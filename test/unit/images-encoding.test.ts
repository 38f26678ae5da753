/**
 * The pieces of src/images/process.ts that choose how an accepted image is encoded: which PNGs
 * are too dense to be flat graphics (cannotBeFlat), the settings of each encoder, and the
 * blur-up placeholder's size.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cannotBeFlat,
  encoder,
  PLACEHOLDER_SIZE,
  processImage,
  Q_MAX,
  type ProcessOptions,
} from '../../src/images/process.js';
import { probeImage, type ImageProbe } from '../../src/images/validate.js';
import { fixture, noise } from './images-crafted.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-encoding-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function png(width: number, height: number, o: Partial<ImageProbe> = {}): ImageProbe {
  return {
    format: 'png',
    mimeType: 'image/png',
    width,
    height,
    pages: 1,
    hasAlpha: false,
    orientation: null,
    isAnimated: false,
    ...o,
  };
}

describe('cannotBeFlat: a PNG too dense to be flat graphics', () => {
  // Flat graphics hold under 0.6 × 3 bytes per pixel, with a 5% margin: 1.89 bytes per pixel.
  // 300 × 300 = 90,000 pixels: 170,100 bytes.
  it('is a still opaque PNG of 65,536 pixels or more over 1.89 bytes per pixel', async () => {
    expect(await cannotBeFlat(Buffer.alloc(170_101), png(300, 300))).toBe(true);
    expect(await cannotBeFlat(Buffer.alloc(170_100), png(300, 300))).toBe(false);
    expect(await cannotBeFlat(Buffer.alloc(100_000), png(300, 300))).toBe(false);
  });

  it('counts the bytes of a temp file by path, as it does a buffer', async () => {
    const dense = join(dir, 'dense.part');
    const light = join(dir, 'light.part');
    await writeFile(dense, Buffer.alloc(170_101));
    await writeFile(light, Buffer.alloc(170_100));
    expect(await cannotBeFlat(dense, png(300, 300))).toBe(true);
    expect(await cannotBeFlat(light, png(300, 300))).toBe(false);
  });

  it('starts at 65,536 pixels (256 × 256): a smaller image is left to flatShare, however dense', async () => {
    const bytes = Buffer.alloc(1_000_000);
    expect(await cannotBeFlat(bytes, png(256, 256))).toBe(true);
    expect(await cannotBeFlat(bytes, png(255, 257))).toBe(false);
    // Both sides of the product count: a tall or a wide image of the same pixels is alike.
    expect(await cannotBeFlat(bytes, png(64, 1024))).toBe(true);
    expect(await cannotBeFlat(bytes, png(1024, 64))).toBe(true);
  });

  it('is never said of a PNG with alpha, an animation, or another format', async () => {
    const bytes = Buffer.alloc(1_000_000);
    expect(await cannotBeFlat(bytes, png(300, 300, { hasAlpha: true }))).toBe(false);
    expect(await cannotBeFlat(bytes, png(300, 300, { pages: 2, isAnimated: true }))).toBe(false);
    for (const format of ['jpeg', 'webp', 'gif', 'avif', 'tiff'] as const) {
      expect(await cannotBeFlat(bytes, png(300, 300, { format }))).toBe(false);
    }
  });
});

/** A photo's pixels, opaque, and the same with a smooth alpha gradient. */
async function photo() {
  const opaque = await sharp(await fixture('chelsea.png'))
    .removeAlpha()
    .png()
    .toBuffer();
  const { width, height } = await sharp(opaque).metadata();
  const alpha = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) alpha[y * width + x] = Math.round((x / width) * 255);
  const rgba = await sharp(opaque)
    .joinChannel(alpha, { raw: { width, height, channels: 1 } })
    .png()
    .toBuffer();
  return { opaque, rgba, width, height };
}

async function alphaOf(image: Buffer): Promise<Buffer> {
  return sharp(image).ensureAlpha().extractChannel(3).raw().toBuffer();
}

function meanError(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

describe('encoder: the settings of each output format', () => {
  it('JPEG: optimised Huffman tables, smaller than the same quality without them', async () => {
    const { opaque } = await photo();
    const ours = await encoder(sharp(opaque), 'jpeg', 80, true).toBuffer();
    const plain = await sharp(opaque).jpeg({ quality: 80, optimiseCoding: false }).toBuffer();
    expect((await sharp(ours).metadata()).format).toBe('jpeg');
    expect(ours.length).toBeLessThan(plain.length);
  });

  it('PNG: adaptive filtering, smaller for a photo than without it', async () => {
    const { opaque } = await photo();
    const ours = await encoder(sharp(opaque), 'png', 85, true).toBuffer();
    const unfiltered = await sharp(opaque).png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
    expect((await sharp(ours).metadata()).format).toBe('png');
    expect(ours.length).toBeLessThan(unfiltered.length);
  });

  it('WebP and AVIF: the quality asked for is the quality used', async () => {
    const { opaque } = await photo();
    for (const format of ['webp', 'avif'] as const) {
      const low = await encoder(sharp(opaque), format, 30, true).toBuffer();
      const high = await encoder(sharp(opaque), format, 80, true).toBuffer();
      expect((await sharp(low).metadata()).format).toBe(format === 'avif' ? 'heif' : 'webp');
      expect(low.length).toBeLessThan(high.length);
    }
  });

  it('WebP keeps alpha at quality 80 or more even when the colours go lower', async () => {
    const { rgba } = await photo();
    const source = await alphaOf(rgba);
    const ours = await alphaOf(await encoder(sharp(rgba), 'webp', 40, true).toBuffer());
    const alphaAt40 = await alphaOf(await sharp(rgba).webp({ quality: 40, alphaQuality: 40 }).toBuffer());
    expect(meanError(ours, source)).toBeLessThan(meanError(alphaAt40, source));
  });
});

describe('the blur-up placeholder', () => {
  it('is a WebP within PLACEHOLDER_SIZE on its longer edge, in the image’s proportions', async () => {
    const input = await sharp(noise(600 * 400 * 3), { raw: { width: 600, height: 400, channels: 3 } })
      .png()
      .toBuffer();
    const options = { maxInputPixels: 100_000_000, imageMaxKb: 500, thumbnailSize: 64 };
    const out = await processImage(input, await probeImage(input, options), options);
    const prefix = 'data:image/webp;base64,';
    expect(out.placeholder.startsWith(prefix)).toBe(true);
    const meta = await sharp(Buffer.from(out.placeholder.slice(prefix.length), 'base64')).metadata();
    expect(meta.format).toBe('webp');
    expect({ width: meta.width, height: meta.height }).toEqual({ width: PLACEHOLDER_SIZE, height: 11 });
  });
});

const OPTIONS: ProcessOptions = { maxInputPixels: 100_000_000, imageMaxKb: 500, thumbnailSize: 64 };

async function ingest(input: Buffer, o: Partial<ProcessOptions> = {}) {
  const options = { ...OPTIONS, ...o };
  return processImage(input, await probeImage(input, options), options);
}

describe('processImage: the first encode', () => {
  it('re-encodes an AVIF as AVIF at its own quality, below the JPEG and WebP start of Q_MAX', async () => {
    const { opaque } = await photo();
    const avif = await sharp(opaque).avif({ quality: 90, effort: 2 }).toBuffer();
    const out = await ingest(avif);
    expect(out.format).toBe('avif');
    expect(out.encodes).toBe(1);
    const atQMax = await encoder(sharp(avif), 'avif', Q_MAX, true).toBuffer();
    expect(out.size).toBeLessThan(atQMax.length);
  });

  it('lets the size search start from a first attempt in the lossy format instead of encoding it again', async () => {
    // The same pixels as lossless WebP (kept as WebP: its first attempt is the search's first
    // step) and as TIFF (kept as PNG: its first attempt is a PNG, so the search starts afresh).
    const raw = { raw: { width: 160, height: 160, channels: 4 as const } };
    const data = noise(160 * 160 * 4);
    const webp = await sharp(data, raw).webp({ lossless: true }).toBuffer();
    const tiff = await sharp(data, raw).tiff({ compression: 'lzw' }).toBuffer();
    const fromWebp = await ingest(webp, { imageMaxKb: 20 });
    const fromTiff = await ingest(tiff, { imageMaxKb: 20 });
    expect(fromWebp.format).toBe('webp');
    expect(fromWebp.encodes).toBeGreaterThan(1);
    expect(fromTiff.encodes).toBe(fromWebp.encodes + 1);
    expect(fromWebp.data.equals(fromTiff.data)).toBe(true);
  });
});
