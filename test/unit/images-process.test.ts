import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from '../../src/domain/errors.js';
import { MAX_ENCODES, processImage, type ProcessedImage, type ProcessOptions } from '../../src/images/process.js';
import { probeImage } from '../../src/images/validate.js';
import { animatedGif, fixture, heifHeaderOnly, noise, phonePhoto } from './images-crafted.js';

const OPTIONS: ProcessOptions = { maxInputPixels: 100_000_000, imageMaxKb: 500, thumbnailSize: 256 };

async function ingest(input: Buffer | string, o: Partial<ProcessOptions> = {}): Promise<ProcessedImage> {
  const options = { ...OPTIONS, ...o };
  return processImage(input, await probeImage(input, options), options);
}

/** The colour of one pixel of an encoded image. */
async function pixel(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data } = await sharp(image)
    .extract({ left: x, top: y, width: 1, height: 1 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return [...data];
}

let hubble: Buffer;
let coffee: Buffer;
let chelsea: Buffer;
beforeAll(async () => {
  [hubble, coffee, chelsea] = await Promise.all([
    fixture('hubble_deep_field.jpg'),
    fixture('coffee.png'),
    fixture('chelsea.png'),
  ]);
});

describe('processImage: a 24 MP phone photo', () => {
  it('comes out upright, without EXIF, GPS, XMP or ICC, under IMAGE_MAX_KB, in a bounded number of encodes', async () => {
    const photo = await phonePhoto(hubble, 6000, 4000);
    const before = await sharp(photo).metadata();
    expect(before).toMatchObject({ width: 6000, height: 4000, orientation: 6 });
    expect(before.exif?.includes(Buffer.from([0x25, 0x88]))).toBe(true); // the GPS IFD pointer tag

    const started = performance.now();
    const out = await ingest(photo);
    const ms = Math.round(performance.now() - started);

    const meta = await sharp(out.data).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.space).toBe('srgb');
    expect([meta.exif, meta.xmp, meta.icc, meta.iptc, meta.orientation]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(out.data.includes('PhoneCo')).toBe(false);
    // Upright: portrait, 4000 wide for 6000 high (downscaled alike to fit the target).
    expect([out.width, out.height]).toEqual([meta.width, meta.height]);
    expect(out.width / out.height).toBeCloseTo(4000 / 6000, 2);
    expect(out.size).toBe(out.data.length);
    expect(out.size).toBeLessThanOrEqual(500 * 1024);
    expect(out.encodes).toBeLessThanOrEqual(MAX_ENCODES);
    expect(out.sha256).toBe(createHash('sha256').update(out.data).digest('hex'));
    const thumb = await sharp(out.thumbnail).metadata();
    expect(thumb).toMatchObject({ format: 'webp', height: 256, width: out.thumbnailWidth });
    expect(out.thumbnailWidth).toBe(Math.round((256 * 4000) / 6000));
    console.warn(`24 MP photo: ${out.width}×${out.height}, ${out.size} bytes, ${out.encodes} encodes, ${ms} ms`);
  });

  it('turns the pixels, not just the numbers: the stored top-left corner ends top-right', async () => {
    const out = await ingest(await phonePhoto(hubble, 600, 400), { imageMaxKb: 5000 });
    expect([out.width, out.height]).toEqual([400, 600]);
    const [r, g, b] = await pixel(out.data, 395, 5);
    expect(r).toBeGreaterThan(200);
    expect(g! + b!).toBeLessThan(120);
  });
});

describe('processImage and the display ceiling (IMAGE_MAX_DIMENSION)', () => {
  it('stores a still with a longer edge scaled down to it, upright, and makes the thumbnail from the scaled pixels', async () => {
    const photo = await phonePhoto(hubble, 3000, 2000);
    const out = await ingest(photo, { maxDimension: 2048, imageMaxKb: 5000 });
    // Orientation 6: portrait after turning, the long edge (3000) becomes 2048.
    expect([out.width, out.height]).toEqual([1365, 2048]);
    expect(await sharp(out.data).metadata()).toMatchObject({ width: 1365, height: 2048 });
    expect([out.thumbnailWidth, out.thumbnailHeight]).toEqual([171, 256]);
    // Downscaled camera photos start at quality 80, not 85: the same pixels at q85 are larger.
    const same = await sharp(out.data).jpeg({ quality: 85, optimiseCoding: true }).toBuffer();
    expect(out.size).toBeLessThan(same.length);
  });

  it('keeps every size with 0, and never touches one within the ceiling or an animation', async () => {
    const photo = await phonePhoto(hubble, 3000, 2000);
    expect(await ingest(photo, { maxDimension: 0, imageMaxKb: 5000 })).toMatchObject({ width: 2000, height: 3000 });
    expect(await ingest(hubble, { maxDimension: 2048 })).toMatchObject({ width: 1000, height: 872 });
    const gif = await animatedGif(3, 2100, 40);
    expect(await ingest(gif, { maxDimension: 2048, imageMaxKb: 5000 })).toMatchObject({ width: 2100, format: 'gif' });
  });
});

describe('processImage keeps the format when it fits', () => {
  it('stores a small opaque PNG as JPEG in one encode (as the seed chatbot does), with a WebP thumbnail never enlarged and a tiny placeholder', async () => {
    const small = await sharp(coffee).resize(120, 80).png().toBuffer();
    const out = await ingest(small);
    expect(out).toMatchObject({
      format: 'jpeg',
      mimeType: 'image/jpeg',
      ext: 'jpg',
      width: 120,
      height: 80,
      encodes: 1,
    });
    expect([out.thumbnailWidth, out.thumbnailHeight]).toEqual([120, 80]);
    expect((await sharp(out.thumbnail).metadata()).format).toBe('webp');
  });

  it('makes a WebP thumbnail of longest side THUMBNAIL_SIZE and a placeholder data URI under 1 KB', async () => {
    const out = await ingest(coffee, { thumbnailSize: 200 });
    expect([out.thumbnailWidth, out.thumbnailHeight]).toEqual([200, 133]);
    expect(await sharp(out.thumbnail).metadata()).toMatchObject({ format: 'webp', width: 200, height: 133 });
    expect(out.placeholder).toMatch(/^data:image\/webp;base64,[A-Za-z0-9+/]+=*$/);
    expect(out.placeholder.length).toBeLessThan(1024);
    const tiny = await sharp(Buffer.from(out.placeholder.split(',')[1]!, 'base64')).metadata();
    expect(tiny).toMatchObject({ format: 'webp', width: 16 });
    expect(tiny.height).toBeLessThanOrEqual(16);
  });

  it('makes the same thumbnail alongside the encode when a core is free as after it, and asks only for a still decoded once', async () => {
    let asked = 0;
    const spareCore = () => (asked++, true);
    const [after, alongside] = [await ingest(coffee), await ingest(coffee, { spareCore })];
    expect(asked).toBe(1);
    expect(alongside.thumbnail.equals(after.thumbnail)).toBe(true);
    expect(alongside.placeholder).toBe(after.placeholder);
    expect(alongside.data.equals(after.data)).toBe(true);
    // Too big to keep decoded: a second decode at once would double the memory, so it is never asked.
    await ingest(coffee, { spareCore, decodeOnceMaxBytes: 1 });
    expect(asked).toBe(1);
  });

  it('with a core idle, streams a PNG too dense to be flat graphics through the encoder, to the same bytes as through memory', async () => {
    // Noise: 3 bytes per pixel even compressed, well over the 1.9 under which a PNG could be 40% flat.
    const dense = await sharp(noise(600 * 400 * 3), { raw: { width: 600, height: 400, channels: 3 } })
      .png()
      .toBuffer();
    const [memory, streamed] = [await ingest(dense), await ingest(dense, { spareCore: () => true })];
    expect(streamed.data.equals(memory.data)).toBe(true);
    expect(streamed.thumbnail.equals(memory.thumbnail)).toBe(true);
    expect(streamed.encodes).toBe(memory.encodes);
  });

  it('still tells flat graphics by their pixels with a core idle: a screenshot-like PNG keeps the graphics quality', async () => {
    const composed = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#f7f7f8' } })
      .composite([{ input: await sharp(coffee).resize(300, 200).toBuffer(), left: 40, top: 40 }])
      .png()
      .toBuffer();
    // Opaque, as screenshots are (the composite adds an alpha channel).
    const flat = await sharp(composed).removeAlpha().png().toBuffer();
    const [memory, idle] = [await ingest(flat), await ingest(flat, { spareCore: () => true })];
    expect(idle.data.equals(memory.data)).toBe(true);
    // q78 (graphics), not q85: the same pixels at q85 are larger.
    const q85 = await sharp(flat).jpeg({ quality: 85, optimiseCoding: true }).toBuffer();
    expect(idle.size).toBeLessThan(q85.length);
  });

  it('keeps a small opaque PNG as PNG with IMAGE_KEEP_PNG, exactly its pixels', async () => {
    const small = await sharp(coffee).resize(120, 80).png().toBuffer();
    const out = await ingest(small, { keepPng: true });
    expect(out).toMatchObject({ format: 'png', mimeType: 'image/png', ext: 'png', width: 120, height: 80, encodes: 1 });
    const [a, b] = await Promise.all([sharp(small).raw().toBuffer(), sharp(out.data).raw().toBuffer()]);
    expect(b.equals(a)).toBe(true);
  });

  it('keeps a JPEG that fits as JPEG, encoded by libjpeg-turbo (baseline, optimised Huffman), not mozjpeg', async () => {
    const out = await ingest(hubble);
    expect(out).toMatchObject({ format: 'jpeg', ext: 'jpg', width: 1000, height: 872, encodes: 1 });
    expect(out.size).toBeLessThan(hubble.length);
    // mozjpeg writes progressive scans; libjpeg-turbo's baseline is 5× faster at 1 MP.
    expect((await sharp(out.data).metadata()).isProgressive).toBe(false);
  });

  it('keeps WebP and AVIF', async () => {
    const webp = await ingest(await sharp(chelsea).webp().toBuffer());
    expect(webp).toMatchObject({ format: 'webp', mimeType: 'image/webp', ext: 'webp', width: 451, height: 300 });
    const avif = await ingest(await sharp(chelsea).avif({ effort: 0 }).toBuffer());
    expect(avif).toMatchObject({ format: 'avif', mimeType: 'image/avif', ext: 'avif', width: 451, height: 300 });
    expect((await sharp(avif.data).metadata()).format).toBe('heif');
  });

  it('never keeps TIFF: JPEG when opaque, PNG when it has alpha', async () => {
    expect(await ingest(await sharp(chelsea).tiff().toBuffer())).toMatchObject({
      format: 'jpeg',
      ext: 'jpg',
      width: 451,
    });
    // sharp's default TIFF compression is JPEG, which has no alpha.
    const alpha = await sharp(chelsea).ensureAlpha(0.5).tiff({ compression: 'lzw' }).toBuffer();
    const out = await ingest(alpha);
    expect(out).toMatchObject({ format: 'png', ext: 'png' });
    expect((await sharp(out.data).metadata()).hasAlpha).toBe(true);
  });

  it('reads a temp file by path', async () => {
    expect(await ingest('test/fixtures/chelsea.png')).toMatchObject({ format: 'jpeg', width: 451, height: 300 });
  });
});

describe('processImage converts to 8-bit sRGB', () => {
  it('converts a CMYK JPEG', async () => {
    const cmyk = await sharp(hubble).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const meta = await sharp((await ingest(cmyk)).data).metadata();
    expect(meta).toMatchObject({ space: 'srgb', channels: 3 });
  });

  it('converts a Display P3 image through its profile, then drops the profile', async () => {
    // withIccProfile converts sRGB (40, 180, 90) into P3 numbers, about (88, 177, 100).
    const p3 = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 40, g: 180, b: 90 } } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    const stored = await sharp(p3).keepIccProfile().raw().toBuffer();
    expect(stored[0]).toBeGreaterThan(70);
    const out = await ingest(p3);
    expect((await sharp(out.data).metadata()).icc).toBeUndefined();
    const [r, g, b] = await pixel(out.data, 32, 32);
    expect(Math.abs(r! - 40) + Math.abs(g! - 180) + Math.abs(b! - 90)).toBeLessThan(6);
  });

  it.each([
    ['decoded once', undefined],
    ['decoded per encode', 0],
  ])('stores a 16-bit PNG as 8-bit (%s)', async (_name, decodeOnceMaxBytes) => {
    const deep = await sharp(coffee).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const out = await ingest(deep, { imageMaxKb: 5000, decodeOnceMaxBytes });
    expect(out.format).toBe('jpeg');
    expect(await sharp(out.data).metadata()).toMatchObject({ depth: 'uchar', space: 'srgb' });
  });

  it('orients an image too big to keep decoded in memory the same way', async () => {
    const out = await ingest(await phonePhoto(hubble, 600, 400), { imageMaxKb: 5000, decodeOnceMaxBytes: 0 });
    expect([out.width, out.height]).toEqual([400, 600]);
    expect((await pixel(out.data, 395, 5))[0]).toBeGreaterThan(200);
  });
});

describe('processImage re-encodes what is over IMAGE_MAX_KB', () => {
  it('turns an opaque PNG over the limit into JPEG', async () => {
    const out = await ingest(coffee, { imageMaxKb: 60 });
    expect(out).toMatchObject({ format: 'jpeg', width: 600, height: 400 });
    expect(out.size).toBeLessThanOrEqual(60 * 1024);
    expect(out.encodes).toBeLessThanOrEqual(MAX_ENCODES);
  });

  it('keeps the alpha of an over-size WebP by staying WebP', async () => {
    const noisy = await sharp(noise(1200 * 1200 * 4), { raw: { width: 1200, height: 1200, channels: 4 } })
      .webp({ lossless: true })
      .toBuffer();
    expect(noisy.length).toBeGreaterThan(1024 * 1024);
    const out = await ingest(noisy, { imageMaxKb: 200 });
    const meta = await sharp(out.data).metadata();
    expect(meta).toMatchObject({ format: 'webp', hasAlpha: true });
    expect(out).toMatchObject({ format: 'webp', mimeType: 'image/webp', ext: 'webp' });
    expect(out.size).toBeLessThanOrEqual(200 * 1024);
    expect(out.encodes).toBeLessThanOrEqual(MAX_ENCODES);
  });

  it('turns a PNG with alpha over the limit into WebP with alpha', async () => {
    const png = await sharp(coffee).ensureAlpha(0.7).png().toBuffer();
    const out = await ingest(png, { imageMaxKb: 40 });
    expect(out.format).toBe('webp');
    expect((await sharp(out.data).metadata()).hasAlpha).toBe(true);
    expect(out.size).toBeLessThanOrEqual(40 * 1024);
  });

  it('keeps a JPEG as JPEG at a lower quality when that is enough, at full size', async () => {
    const out = await ingest(hubble, { imageMaxKb: 100 });
    expect(out).toMatchObject({ format: 'jpeg', width: 1000, height: 872 });
    expect(out.size).toBeLessThanOrEqual(100 * 1024);
    expect(out.encodes).toBeLessThanOrEqual(3);
  });
});

describe('processImage and animation', () => {
  it('keeps an animated GIF animated', async () => {
    const out = await ingest(await animatedGif(3, 40, 30));
    expect(out).toMatchObject({ format: 'gif', mimeType: 'image/gif', ext: 'gif', width: 40, height: 30 });
    expect(await sharp(out.data, { animated: true }).metadata()).toMatchObject({
      format: 'gif',
      pages: 3,
      pageHeight: 30,
    });
    // The thumbnail is the first frame.
    const thumb = await sharp(out.thumbnail, { animated: true }).metadata();
    expect(thumb).toMatchObject({ format: 'webp', width: 40, height: 30 });
    expect(thumb.pages ?? 1).toBe(1);
  });

  it('turns an animated GIF over the limit into animated WebP, every frame kept', async () => {
    const gif = await animatedGif(3, 300, 200, true);
    expect(gif.length).toBeGreaterThan(100 * 1024);
    const out = await ingest(gif, { imageMaxKb: 40 });
    expect(out.format).toBe('webp');
    expect(out.size).toBeLessThanOrEqual(40 * 1024);
    expect((await sharp(out.data, { animated: true }).metadata()).pages).toBe(3);
    expect(out.width / out.height).toBeCloseTo(1.5, 1);
  });
});

describe('processImage and the display ceiling, by orientation', () => {
  it('scales by the upright long edge: turned for EXIF orientations 5 to 8, as stored for none and 1 to 4', async () => {
    const base = await sharp(hubble).resize(300, 200, { fit: 'fill' }).jpeg().toBuffer();
    const cases: [number | null, [number, number]][] = [
      [null, [150, 100]],
      [1, [150, 100]],
      [4, [150, 100]],
      [5, [100, 150]],
      [8, [100, 150]],
    ];
    for (const [orientation, size] of cases) {
      const photo = orientation === null ? base : await sharp(base).withMetadata({ orientation }).jpeg().toBuffer();
      const out = await ingest(photo, { maxDimension: 150 });
      expect([out.width, out.height], `orientation ${orientation}`).toEqual(size);
      expect(await sharp(out.data).metadata(), `orientation ${orientation}`).toMatchObject({
        width: size[0],
        height: size[1],
      });
    }
  });
});

describe('processImage refuses what it cannot decode', () => {
  it('refuses a JPEG cut at 700 bytes whose header is whole', async () => {
    const small = await sharp(hubble).resize(600, 400).jpeg({ quality: 85 }).toBuffer();
    const cut = small.subarray(0, 700);
    const probe = await probeImage(cut, OPTIONS); // the header alone looks fine
    const err = await processImage(cut, probe, OPTIONS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect((err as Error).message).toMatch(/could not be decoded.*truncated or corrupt/);
    expect((err as Error).message).toMatch(/Accepted: JPEG, PNG, WebP, GIF, AVIF, TIFF\./);
  });

  it('refuses a JPEG missing only its last bytes', async () => {
    const cut = hubble.subarray(0, hubble.length - 64);
    await expect(ingest(cut)).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
  });

  it('refuses an AVIF container whose coded image is garbage', async () => {
    await expect(ingest(heifHeaderOnly('avif', 64, 48))).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
  });

  it('enforces the pixel limit while decoding too', async () => {
    const probe = await probeImage(coffee, OPTIONS);
    const err = await processImage(coffee, probe, { ...OPTIONS, maxInputPixels: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toBe('The image has more pixels than the 1000 accepted (MAX_INPUT_PIXELS).');
    // What libvips said stays as the cause, for the log.
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(((err as Error).cause as Error).message).toMatch(/pixel limit/i);
  });

  it('keeps what libvips said about a corrupt file as the cause', async () => {
    const err = await ingest(hubble.subarray(0, hubble.length - 64)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect(((err as Error).cause as Error).message).not.toBe('');
  });
});
