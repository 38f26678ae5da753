import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadUserInputError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../../src/domain/errors.js';
import { ACCEPTED_FORMATS_TEXT, framesOf, probeImage } from '../../src/images/validate.js';
import { animatedGif, fixture, heifHeaderOnly, phonePhoto, pngHeaderOnly } from './images-crafted.js';

const limits = { maxInputPixels: 100_000_000 };
const ACCEPTED = /Accepted: JPEG, PNG, WebP, GIF, AVIF, TIFF\./;

async function refusal(input: Buffer | string, l = limits): Promise<Error> {
  const err = await probeImage(input, l).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error('expected probeImage to refuse the input');
  return err;
}

describe('probeImage reads the format from the bytes', () => {
  it.each([
    ['hubble_deep_field.jpg', 'jpeg', 'image/jpeg', 1000, 872, 1],
    ['coffee.png', 'png', 'image/png', 600, 400, null],
    ['chelsea.png', 'png', 'image/png', 451, 300, null],
    ['astronaut.png', 'png', 'image/png', 512, 512, null],
  ])('%s is %s (%s)', async (name, format, mimeType, width, height, orientation) => {
    const probe = await probeImage(await fixture(name), limits);
    expect(probe).toEqual({
      format,
      mimeType,
      width,
      height,
      pages: 1,
      hasAlpha: false,
      orientation,
      isAnimated: false,
    });
  });

  it('reads a temp file by path as well as bytes', async () => {
    expect(await probeImage('test/fixtures/coffee.png', limits)).toMatchObject({
      format: 'png',
      width: 600,
      height: 400,
    });
  });

  it('ignores what the file claims to be: a PNG named and typed as JPEG is a PNG', async () => {
    // probeImage has no name or mime type parameter at all; the bytes are all it sees.
    const png = await sharp(await fixture('chelsea.png'))
      .png()
      .toBuffer();
    expect((await probeImage(png, limits)).format).toBe('png');
  });

  it.each([
    ['webp', (s: sharp.Sharp) => s.webp(), 'image/webp'],
    ['gif', (s: sharp.Sharp) => s.gif(), 'image/gif'],
    ['tiff', (s: sharp.Sharp) => s.tiff(), 'image/tiff'],
    ['avif', (s: sharp.Sharp) => s.avif({ effort: 0 }), 'image/avif'],
  ])('accepts %s', async (format, encode, mimeType) => {
    const bytes = await encode(sharp(await fixture('chelsea.png')).resize(120)).toBuffer();
    expect(await probeImage(bytes, limits)).toMatchObject({ format, mimeType, width: 120, height: 80, pages: 1 });
  });

  it('reports alpha and the EXIF orientation, with the stored (not upright) size', async () => {
    const photo = await phonePhoto(await fixture('hubble_deep_field.jpg'), 300, 200);
    expect(await probeImage(photo, limits)).toMatchObject({ format: 'jpeg', width: 300, height: 200, orientation: 6 });
    const withAlpha = await sharp(await fixture('chelsea.png'))
      .ensureAlpha(0.5)
      .png()
      .toBuffer();
    expect((await probeImage(withAlpha, limits)).hasAlpha).toBe(true);
  });

  it('reads an animated GIF as frames of one frame’s height', async () => {
    const probe = await probeImage(await animatedGif(3, 40, 30), limits);
    expect(probe).toMatchObject({ format: 'gif', width: 40, height: 30, pages: 3, isAnimated: true });
  });
});

describe('probeImage refuses what is not an accepted image', () => {
  it.each([
    [
      'an SVG with a script',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'),
      /SVG is not accepted/,
    ],
    [
      'a minimal PDF',
      Buffer.from(
        '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
      ),
      /not/,
    ],
    [
      'HTML',
      Buffer.from('<!doctype html><html><body><img src=x onerror=alert(1)></body></html>'),
      /not a supported image/,
    ],
    ['plain text', Buffer.from('just some text, not a picture\n'), /not a supported image/],
    [
      'random bytes',
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (Math.imul(i + 3, 2654435761) >>> 24) & 255)),
      /not a supported image/,
    ],
  ])('%s is UNSUPPORTED_MEDIA_TYPE, naming what is accepted', async (_name, bytes, message) => {
    const err = await refusal(bytes);
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(err).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(ACCEPTED);
  });

  it('exports the accepted list it puts in messages', () => {
    expect(ACCEPTED_FORMATS_TEXT).toMatch(ACCEPTED);
  });

  it('refuses zero bytes with BAD_USER_INPUT', async () => {
    const err = await refusal(Buffer.alloc(0));
    expect(err).toBeInstanceOf(BadUserInputError);
    expect(err.message).toMatch(/^The file is empty/);
  });

  it('refuses a JPEG cut at 700 bytes, before its frame header', async () => {
    const cut = (await fixture('hubble_deep_field.jpg')).subarray(0, 700);
    expect(await refusal(cut)).toBeInstanceOf(UnsupportedMediaTypeError);
  });

  it('refuses HEIC, saying prebuilt sharp cannot decode it and to convert to JPEG', async () => {
    // A crafted HEIF container that libvips reads as format heif, compression hevc.
    const heic = heifHeaderOnly('heic', 4032, 3024);
    expect(await sharp(heic).metadata()).toMatchObject({ format: 'heif', compression: 'hevc' });
    const err = await refusal(heic);
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(err.message).toMatch(/HEIC/);
    expect(err.message).toMatch(/prebuilt sharp/);
    expect(err.message).toMatch(/convert .*to JPEG/i);
    expect(err.message).toMatch(ACCEPTED);
  });

  it('takes a HEIF container with the AV1 brand for AVIF', async () => {
    expect(await probeImage(heifHeaderOnly('avif', 64, 48), limits)).toMatchObject({
      format: 'avif',
      mimeType: 'image/avif',
      width: 64,
      height: 48,
    });
  });
});

describe('probeImage checks the pixel count from the header', () => {
  it('refuses a PNG whose IHDR declares 60000×60000 over a tiny body, without decoding it', async () => {
    const bomb = pngHeaderOnly(60_000, 60_000);
    expect(bomb.length).toBeLessThan(100);
    const started = performance.now();
    const err = await refusal(bomb);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err.message).toMatch(/3600000000 pixels/);
    expect(err.message).toMatch(/100000000/);
    // Allocating 14 GB of pixels would take far longer, or fail another way.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('counts every frame of an animation', async () => {
    const gif = await animatedGif(3, 40, 30);
    // One frame (1200 px) fits; three (3600 px) do not.
    const err = await refusal(gif, { maxInputPixels: 40 * 30 * 2 });
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err.message).toMatch(/3600 pixels \(40×30 × 3 frames\)/);
    await expect(probeImage(gif, { maxInputPixels: 40 * 30 * 3 })).resolves.toMatchObject({ pages: 3 });
  });

  it('accepts an image of exactly the limit', async () => {
    await expect(probeImage(await fixture('coffee.png'), { maxInputPixels: 600 * 400 })).resolves.toMatchObject({
      width: 600,
    });
    await expect(probeImage(await fixture('coffee.png'), { maxInputPixels: 600 * 400 - 1 })).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
  });
});

describe('probeImage: frames, pages, files by path, and what a refusal names', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'his-probe-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an empty file read by path (a spilled upload) with BAD_USER_INPUT', async () => {
    const path = join(dir, 'empty.part');
    await writeFile(path, Buffer.alloc(0));
    const err = await refusal(path);
    expect(err).toBeInstanceOf(BadUserInputError);
    expect(err.message).toMatch(/^The file is empty/);
  });

  it('takes a single-frame GIF or WebP for a still, and a multi-page TIFF for its first page', async () => {
    const still = sharp(await fixture('chelsea.png')).resize(120);
    for (const bytes of [await still.clone().gif().toBuffer(), await still.clone().webp().toBuffer()])
      expect(await probeImage(bytes, limits)).toMatchObject({ pages: 1, isAnimated: false });

    const pages = await sharp(await animatedGif(3, 40, 30), { animated: true })
      .tiff()
      .toBuffer();
    expect(await sharp(pages).metadata()).toMatchObject({ format: 'tiff', pages: 3 });
    expect(await probeImage(pages, { maxInputPixels: 40 * 30 })).toMatchObject({
      format: 'tiff',
      width: 40,
      height: 30,
      pages: 1,
      isAnimated: false,
    });
  });

  it('reads an animated WebP as animated, every frame counted', async () => {
    const webp = await sharp(await animatedGif(3, 40, 30), { animated: true })
      .webp()
      .toBuffer();
    expect(await probeImage(webp, limits)).toMatchObject({ format: 'webp', height: 30, pages: 3, isAnimated: true });
    await expect(probeImage(webp, { maxInputPixels: 40 * 30 * 3 - 1 })).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it('says how many pixels a still has, and the limit, without frames', async () => {
    const err = await refusal(await fixture('coffee.png'), { maxInputPixels: 1000 });
    expect(err.message).toBe('The image has 240000 pixels (600×400); at most 1000 are accepted (MAX_INPUT_PIXELS).');
  });

  it('names what it refuses: SVG, or another format libvips reads (its own, in a file by path whatever its name)', async () => {
    const svg = await refusal(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'));
    expect(svg.message).toBe(`SVG is not accepted. ${ACCEPTED_FORMATS_TEXT}`);

    const native = join(dir, 'native.v');
    await sharp({ create: { width: 8, height: 6, channels: 3, background: '#f00' } }).toFile(native);
    const spilled = join(dir, 'upload.part');
    await copyFile(native, spilled);
    const err = await refusal(spilled);
    expect(err).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(err.message).toBe(`VIPS is not accepted. ${ACCEPTED_FORMATS_TEXT}`);
  });
});

// What probeImage concludes from a header, given headers the prebuilt libvips refuses itself (a
// zero-sized PNG or AVIF) but another build or version might pass through.
describe('framesOf refuses a header without a size', () => {
  it.each([
    ['no width', { height: 10 }],
    ['a width of 0', { width: 0, height: 10 }],
    ['no height', { width: 10 }],
    ['a height of 0', { width: 10, height: 0 }],
    ['a negative height', { width: 10, height: -1 }],
    ['a page height of 0 over a tall image', { width: 10, height: 30, pageHeight: 0, pages: 3 }],
  ])('%s: UNSUPPORTED_MEDIA_TYPE, saying it may be corrupt', (_, meta) => {
    let thrown: unknown;
    try {
      framesOf(meta, 'png');
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(UnsupportedMediaTypeError);
    expect((thrown as Error).message).toBe(`The image has no dimensions; it may be corrupt. ${ACCEPTED_FORMATS_TEXT}`);
  });

  it('takes the smallest size there is, 1×1', () => {
    expect(framesOf({ width: 1, height: 1 }, 'png')).toEqual({ width: 1, height: 1, pages: 1, isAnimated: false });
  });

  it('counts frames only for GIF and WebP, each of the page height', () => {
    const tall = { width: 10, height: 30, pageHeight: 10, pages: 3 };
    expect(framesOf(tall, 'gif')).toEqual({ width: 10, height: 10, pages: 3, isAnimated: true });
    expect(framesOf(tall, 'webp')).toEqual({ width: 10, height: 10, pages: 3, isAnimated: true });
    expect(framesOf(tall, 'tiff')).toEqual({ width: 10, height: 10, pages: 1, isAnimated: false });
  });
});
