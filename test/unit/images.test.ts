import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { BadUserInputError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../src/domain/errors.js';
import { imageFileName, imageKey, thumbnailFileName, thumbnailKey } from '../../src/images/naming.js';
import { processImage, type ProcessOptions } from '../../src/images/process.js';
import { probeImage } from '../../src/images/validate.js';

const OPTIONS: ProcessOptions = { maxInputPixels: 100_000_000, imageMaxKb: 500, thumbnailSize: 256 };
const limits = { maxInputPixels: OPTIONS.maxInputPixels };

async function ingest(input: Buffer, o: Partial<ProcessOptions> = {}) {
  const options = { ...OPTIONS, ...o };
  return processImage(input, await probeImage(input, { maxInputPixels: options.maxInputPixels }), options);
}

let hubble: Buffer;
let coffee: Buffer;
beforeAll(async () => {
  hubble = await readFile('test/fixtures/hubble_deep_field.jpg');
  coffee = await readFile('test/fixtures/coffee.png');
});

describe('probeImage decides the format from the bytes', () => {
  it.each([
    ['hubble_deep_field.jpg', 'jpeg', 1000, 872],
    ['coffee.png', 'png', 600, 400],
    ['astronaut.png', 'png', 512, 512],
  ])('%s is %s %i×%i', async (name, format, width, height) => {
    const probe = await probeImage(await readFile(`test/fixtures/${name}`), limits);
    expect(probe).toMatchObject({ format, width, height, pages: 1, isAnimated: false });
  });

  it.each([
    ['an SVG with a script', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'), /SVG is not accepted/],
    ['a PDF', Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF')],
    ['HTML', Buffer.from('<!doctype html><title>x</title>')],
    ['random bytes', Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 31 + 7) % 256))],
  ])('refuses %s with UNSUPPORTED_MEDIA_TYPE naming what is accepted', async (_name, bytes, message = /not/) => {
    const err = await probeImage(bytes, limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/Accepted: JPEG, PNG, WebP, GIF, AVIF, TIFF/);
  });

  it('refuses zero bytes with BAD_USER_INPUT', async () => {
    await expect(probeImage(Buffer.alloc(0), limits)).rejects.toBeInstanceOf(BadUserInputError);
  });

  it('refuses HEIC bytes, saying to convert to JPEG', async () => {
    // An ISO-BMFF header with the HEIC brand; prebuilt sharp cannot decode HEVC either way.
    const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), Buffer.from([0, 0, 0, 0]), Buffer.from('mif1heic')]);
    const err = await probeImage(Buffer.concat([ftyp, Buffer.alloc(512)]), limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
  });

  it('refuses a PNG whose header declares 60000×60000 before decoding anything', async () => {
    const { crc32 } = await import('node:zlib');
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type), data]);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(body) >>> 0);
      return Buffer.concat([head, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(60000, 0);
    ihdr.writeUInt32BE(60000, 4);
    ihdr.set([8, 6, 0, 0, 0], 8);
    const bomb = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.alloc(16)), chunk('IEND', Buffer.alloc(0))]);
    const err = await probeImage(bomb, limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toMatch(/3600000000 pixels/);
  });

  it('counts every frame of an animation against the pixel limit', async () => {
    const gif = await animatedGif(3, 40, 30);
    const probe = await probeImage(gif, limits);
    expect(probe).toMatchObject({ format: 'gif', width: 40, height: 30, pages: 3, isAnimated: true });
    // One frame fits, three do not.
    await expect(probeImage(gif, { maxInputPixels: 40 * 30 * 2 })).rejects.toBeInstanceOf(PayloadTooLargeError);
  });
});

describe('processImage', () => {
  it('turns a 24 MP phone photo upright, strips EXIF and GPS, and fits IMAGE_MAX_KB in few encodes', async () => {
    const photo = await sharp(hubble)
      .resize(6000, 4000, { fit: 'fill' })
      .withExif({ IFD0: { Make: 'PhoneCo', Model: 'X1' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1' } })
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 92 })
      .toBuffer();
    const before = await sharp(photo).metadata();
    expect(before.orientation).toBe(6);
    expect(before.exif).toBeDefined();

    const out = await ingest(photo);
    const meta = await sharp(out.data).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(meta.width! < meta.height!).toBe(true); // upright: portrait, as the phone held it
    expect(out.width).toBe(meta.width);
    expect(out.height).toBe(meta.height);
    expect(out.size).toBeLessThanOrEqual(500 * 1024);
    expect(out.encodes).toBeLessThanOrEqual(8);
    expect(out.sha256).toBe(createHash('sha256').update(out.data).digest('hex'));
    const thumb = await sharp(out.thumbnail).metadata();
    expect(thumb).toMatchObject({ format: 'webp', height: 256 });
    expect(thumb.width! < 256).toBe(true);
  });

  it('keeps a small PNG as PNG, with a WebP thumbnail that is never enlarged and a tiny placeholder', async () => {
    const small = await sharp(coffee).resize(120, 80).png().toBuffer();
    const out = await ingest(small);
    expect(out).toMatchObject({ format: 'png', mimeType: 'image/png', ext: 'png', width: 120, height: 80, encodes: 1 });
    expect(out.thumbnailWidth).toBe(120);
    expect(out.placeholder).toMatch(/^data:image\/webp;base64,/);
    expect(out.placeholder.length).toBeLessThan(1024);
  });

  it('converts a CMYK JPEG to sRGB', async () => {
    const cmyk = await sharp(hubble).toColourspace('cmyk').jpeg().toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const out = await ingest(cmyk);
    expect((await sharp(out.data).metadata()).space).toBe('srgb');
  });

  it('stores a 16-bit PNG as 8-bit', async () => {
    const deep = await sharp(coffee).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const out = await ingest(deep, { imageMaxKb: 5000 });
    expect((await sharp(out.data).metadata()).depth).toBe('uchar');
  });

  it('keeps an animated GIF animated', async () => {
    const out = await ingest(await animatedGif(3, 40, 30));
    const meta = await sharp(out.data, { animated: true }).metadata();
    expect(meta.format).toBe('gif');
    expect(meta.pages).toBe(3);
    expect(out).toMatchObject({ width: 40, height: 30 });
  });

  it('re-encodes an over-size WebP with alpha as WebP, keeping the alpha', async () => {
    const noisy = await sharp(randomBytes(1200 * 1200 * 4), { raw: { width: 1200, height: 1200, channels: 4 } })
      .webp({ lossless: true })
      .toBuffer();
    expect(noisy.length).toBeGreaterThan(200 * 1024);
    const out = await ingest(noisy, { imageMaxKb: 200 });
    const meta = await sharp(out.data).metadata();
    expect(meta.format).toBe('webp');
    expect(meta.hasAlpha).toBe(true);
    expect(out.size).toBeLessThanOrEqual(200 * 1024);
  });

  it('refuses a JPEG cut short as UNSUPPORTED_MEDIA_TYPE', async () => {
    const cut = hubble.subarray(0, Math.floor(hubble.length / 2));
    const err = await ingest(cut).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
  });
});

describe('naming', () => {
  it('names files img_YYYYMMDD_HHMMSS_<8 hex>.<ext> in UTC, in the seed layout', () => {
    const name = imageFileName(new Date('2026-03-04T05:06:07Z'), Buffer.from([0xab, 0x12, 0xcd, 0x34]), 'jpg');
    expect(name).toBe('img_20260304_050607_ab12cd34.jpg');
    expect(thumbnailFileName(name)).toBe('thumb_img_20260304_050607_ab12cd34.webp');
    expect(imageKey(true, name)).toBe('Image_Gen/img_20260304_050607_ab12cd34.jpg');
    expect(imageKey(false, name)).toBe('uploads/img_20260304_050607_ab12cd34.jpg');
    expect(thumbnailKey('thumb_x.webp')).toBe('thumbnails/thumb_x.webp');
  });
});

/** An animated GIF of `frames` differently coloured frames. */
async function animatedGif(frames: number, width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * frames * 3);
  for (let f = 0; f < frames; f++) raw.fill(60 * (f + 1), f * width * height * 3, (f + 1) * width * height * 3);
  return sharp(raw, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .gif({ loop: 0, delay: Array(frames).fill(100) })
    .toBuffer();
}
