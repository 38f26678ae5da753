/**
 * A lossless input (PNG) far over IMAGE_MAX_KB is not re-encoded losslessly first: a PNG comes out
 * at about its input size, so over twice the target it cannot fit, and a 24 MP one costs seconds
 * to compress. The same pixels from a TIFF (kept as PNG too, but not a PNG to begin with) get that
 * attempt: one encode more, then the same WebP search, so the outputs are equal.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processImage, type ProcessOptions } from '../../src/images/process.js';
import { probeImage } from '../../src/images/validate.js';
import { fixture, noise } from './images-crafted.js';

const OPTIONS: ProcessOptions = { maxInputPixels: 100_000_000, imageMaxKb: 20, thumbnailSize: 64 };

async function ingest(input: Buffer | string, o: Partial<ProcessOptions> = {}) {
  const options = { ...OPTIONS, ...o };
  return processImage(input, await probeImage(input, options), options);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-lossless-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Noisy RGBA pixels (alpha: the lossy format is WebP), as PNG and as TIFF. */
async function pixels(width: number, height: number) {
  const raw = { raw: { width, height, channels: 4 as const } };
  const data = noise(width * height * 4);
  return {
    png: await sharp(data, raw).png().toBuffer(),
    // LZW: sharp's TIFF default is JPEG compression, lossy and without alpha.
    tiff: await sharp(data, raw).tiff({ compression: 'lzw' }).toBuffer(),
  };
}

describe('processImage and a lossless input over the target', () => {
  it('skips the PNG attempt when the PNG is over twice IMAGE_MAX_KB, by bytes or by path', async () => {
    const { png, tiff } = await pixels(160, 160);
    expect(png.length).toBeGreaterThan(2 * 20 * 1024);

    const fromTiff = await ingest(tiff);
    const fromPng = await ingest(png);
    const path = join(dir, 'upload.part');
    await writeFile(path, png);
    const fromPath = await ingest(path);

    expect(fromTiff.format).toBe('webp');
    expect(fromPng.encodes).toBe(fromTiff.encodes - 1);
    expect(fromPath.encodes).toBe(fromPng.encodes);
    expect(fromPng.data.equals(fromTiff.data)).toBe(true);
  });

  it('tries a PNG within twice IMAGE_MAX_KB as PNG first, as it would a TIFF', async () => {
    const { png, tiff } = await pixels(100, 100);
    const size = png.length / 1024;
    // Over the target (it does not fit), but within twice it.
    const imageMaxKb = Math.ceil(size / 1.5);
    expect(png.length).toBeLessThanOrEqual(2 * imageMaxKb * 1024);

    const fromPng = await ingest(png, { imageMaxKb });
    const fromTiff = await ingest(tiff, { imageMaxKb });
    expect(fromPng.encodes).toBe(fromTiff.encodes);
    expect(fromPng.data.equals(fromTiff.data)).toBe(true);
  });
});

/**
 * Noisy RGBA pixels as a still GIF, and the GIF's own decoded pixels as a PNG: the same pixels
 * (a GIF is palette-quantised, so the PNG is made from what the GIF holds), both with alpha.
 */
async function gifAndPng(width: number, height: number) {
  const gif = await sharp(noise(width * height * 4), { raw: { width, height, channels: 4 } })
    .gif()
    .toBuffer();
  const { data, info } = await sharp(gif).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } })
    .png()
    .toBuffer();
  return { gif, png };
}

describe('processImage and a GIF over the target', () => {
  it('skips the GIF attempt when the GIF is over twice IMAGE_MAX_KB, as it does a PNG', async () => {
    const { gif, png } = await gifAndPng(160, 160);
    const imageMaxKb = 8;
    expect(gif.length).toBeGreaterThan(2 * imageMaxKb * 1024);
    expect(png.length).toBeGreaterThan(2 * imageMaxKb * 1024);

    const fromGif = await ingest(gif, { imageMaxKb });
    const fromPng = await ingest(png, { imageMaxKb });
    expect(fromGif.format).toBe('webp');
    expect(fromGif.encodes).toBe(fromPng.encodes);
    expect(fromGif.data.equals(fromPng.data)).toBe(true);
  });

  it('tries a GIF within twice IMAGE_MAX_KB as GIF first: one encode more than the PNG that skips', async () => {
    const { gif, png } = await gifAndPng(160, 160);
    // The GIF is over the target but within twice it; the PNG of its pixels is over twice it.
    const imageMaxKb = Math.floor(gif.length / 1024 / 1.9);
    expect(gif.length).toBeGreaterThan(imageMaxKb * 1024);
    expect(gif.length).toBeLessThanOrEqual(2 * imageMaxKb * 1024);
    expect(png.length).toBeGreaterThan(2 * imageMaxKb * 1024);

    const fromGif = await ingest(gif, { imageMaxKb });
    const fromPng = await ingest(png, { imageMaxKb });
    expect(fromGif.format).toBe('webp');
    expect(fromGif.encodes).toBe(fromPng.encodes + 1);
    expect(fromGif.data.equals(fromPng.data)).toBe(true);
  });
});

describe('processImage and a lossy input over twice the target', () => {
  it('still tries an AVIF as AVIF: a lossy re-encoding can shrink it that far, a lossless one cannot', async () => {
    const opaque = await sharp(await fixture('chelsea.png'))
      .removeAlpha()
      .png()
      .toBuffer();
    const avif = await sharp(opaque).avif({ quality: 90, effort: 2 }).toBuffer();
    const imageMaxKb = 20;
    expect(avif.length).toBeGreaterThan(2 * imageMaxKb * 1024);

    const out = await ingest(avif, { imageMaxKb });
    expect(out.format).toBe('avif');
    expect(out.encodes).toBe(1);
    expect(out.size).toBeLessThanOrEqual(imageMaxKb * 1024);
  });
});
