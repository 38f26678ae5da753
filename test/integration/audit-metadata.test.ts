import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { print } from 'graphql';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { listFiles, multipart } from '../support/multipart.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

/**
 * Issue #11 point 9, mutation 1: `.withMetadata()` anywhere in the decode/encode pipeline would
 * keep EXIF, GPS, XMP and maker notes. The 24 MP photo of images-process.test.ts is decoded once
 * into raw pixels, which carry no metadata whatever the encoder is told, so it cannot see such a
 * bug. Here, through the real server, go the two paths that encode straight from the file:
 * a photo too big to keep decoded (over DECODE_ONCE_MAX_BYTES, 160 MiB of RGB) and animations.
 * Every stored byte (original and thumbnail, as served and as on disk) is checked.
 */

/** src/images/process.ts DECODE_ONCE_MAX_BYTES: a still above it is decoded again per encode. */
const DECODE_ONCE_MAX_BYTES = 160 * 1024 * 1024;
const MARKERS = ['AUDIT-GPS-DATUM-7f3a', 'AUDIT-EXIF-DESC-7f3a', 'AuditCam-7f3a', 'AUDIT-XMP-7f3a'];
const EXIF = {
  IFD0: { Make: 'AuditCam-7f3a', Model: 'X9', ImageDescription: 'AUDIT-EXIF-DESC-7f3a' },
  IFD3: {
    GPSLatitudeRef: 'N',
    GPSLatitude: '48/1 51/1 24/1',
    GPSLongitudeRef: 'E',
    GPSLongitude: '2/1 21/1 3/1',
    GPSMapDatum: 'AUDIT-GPS-DATUM-7f3a',
  },
};
const XMP =
  '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
  '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>AUDIT-XMP-7f3a</dc:description></rdf:Description>' +
  '</rdf:RDF></x:xmpmeta>';
const GPS_IFD_POINTER = Buffer.from([0x25, 0x88]); // tag 0x8825 (the GPS IFD), little-endian as libexif writes it

const hubble = await readFile('test/fixtures/hubble_deep_field.jpg');

let server: TestServer;
let conversationId: string;
beforeAll(async () => {
  // IMAGE_MAX_KB 40: a noisy animated GIF is over it and becomes animated WebP (another encoder).
  server = await startTestServer({ env: { IMAGE_MAX_KB: '40' } });
  const c = await server.gql(CreateConversationDocument, { input: { title: 'metadata' } }, as('alice'));
  conversationId = c.data!.createConversation.id;
});
afterAll(async () => {
  await server.stop();
});

type Image = {
  id: string;
  mimeType: string;
  width: number;
  height: number;
  sha256: string;
  localUrl: string;
  thumbnailUrl: string;
};

async function upload(data: Buffer, name: string): Promise<Image> {
  const res = await multipart(`${server.url}/graphql`, {
    query: print(UploadImageDocument),
    variables: { input: { conversationId, file: null } },
    files: { 0: { path: 'variables.input.file', data, name } },
    headers: as('alice'),
  });
  expect(res.body.errors).toBeUndefined();
  return (res.body.data!['uploadImage'] as { image: Image }).image;
}

async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** The input really carries what must not survive, or the test would prove nothing. */
async function expectDirty(input: Buffer, o: { exif: boolean }): Promise<void> {
  const meta = await sharp(input).metadata();
  if (o.exif) {
    expect(meta.exif?.includes(GPS_IFD_POINTER)).toBe(true);
    for (const m of MARKERS) expect(input.includes(m), m).toBe(true);
  }
  expect(meta.xmp?.toString('utf8') ?? input.toString('latin1')).toContain('AUDIT-XMP-7f3a');
}

async function expectClean(bytes: Buffer, what: string): Promise<void> {
  const meta = await sharp(bytes, { animated: true }).metadata();
  expect(meta.exif, `${what}: EXIF`).toBeUndefined();
  expect(meta.xmp, `${what}: XMP`).toBeUndefined();
  expect(meta.iptc, `${what}: IPTC`).toBeUndefined();
  expect(meta.icc, `${what}: ICC profile`).toBeUndefined();
  expect(meta.orientation, `${what}: orientation`).toBeUndefined();
  for (const m of MARKERS) expect(bytes.includes(m), `${what} contains ${m}`).toBe(false);
}

/** The original and the thumbnail, as served and as written to disk. */
async function expectStoredClean(image: Image): Promise<void> {
  const original = await fetchBytes(image.localUrl);
  expect(createHash('sha256').update(original).digest('hex')).toBe(image.sha256);
  await expectClean(original, `${image.mimeType} original`);
  await expectClean(await fetchBytes(image.thumbnailUrl), `${image.mimeType} thumbnail`);
  for (const url of [image.localUrl, image.thumbnailUrl]) {
    const key = decodeURIComponent(new URL(url).pathname.replace(/^\/files\//, ''));
    expect(Object.keys(await listFiles(server.storageDir))).toContain(key);
    await expectClean(await readFile(join(server.storageDir, key)), `${key} on disk`);
  }
}

/** `frames` frames of `width`×`height`, flat colours or noise, as raw RGB stacked vertically. */
function frames(count: number, width: number, height: number, noisy: boolean): Buffer {
  const frame = width * height * 3;
  const raw = Buffer.alloc(frame * count);
  let x = 2463534242;
  for (let i = 0; i < raw.length; i++) {
    if (noisy) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      raw[i] = x & 255;
    } else {
      raw[i] = 50 * (Math.floor(i / frame) + 1);
    }
  }
  return raw;
}

/**
 * libvips writes no metadata into a GIF, so XMP is put in by hand: the "XMP DataXMP"
 * application extension (XMP spec part 3, with its 258-byte magic trailer) and a comment,
 * right after the global colour table.
 */
function withGifXmp(gif: Buffer): Buffer {
  const packed = gif[10]!;
  const table = packed & 0x80 ? 3 * (1 << ((packed & 7) + 1)) : 0;
  const at = 13 + table;
  const trailer = Buffer.from([1, ...Array.from({ length: 256 }, (_, i) => 255 - i), 0]);
  const app = Buffer.concat([
    Buffer.from([0x21, 0xff, 0x0b]),
    Buffer.from('XMP DataXMP', 'latin1'),
    Buffer.from(XMP),
    trailer,
  ]);
  const comment = Buffer.concat([Buffer.from([0x21, 0xfe, 20]), Buffer.from('AUDIT-GPS-DATUM-7f3a'), Buffer.from([0])]);
  return Buffer.concat([gif.subarray(0, at), app, comment, gif.subarray(at)]);
}

async function animatedGif(width: number, height: number, noisy: boolean): Promise<Buffer> {
  const gif = await sharp(frames(3, width, height, noisy), {
    raw: { width, height: height * 3, channels: 3, pageHeight: height },
  })
    .gif({ loop: 0, delay: [100, 100, 100] })
    .toBuffer();
  return withGifXmp(gif);
}

describe('no metadata survives the paths that encode straight from the file (#11 point 9)', () => {
  it('a photo too big to keep decoded (57.8 MP): no EXIF, GPS, XMP or ICC in the original or the thumbnail', async () => {
    const photo = await sharp(hubble)
      .resize(7600, 7600, { fit: 'fill', kernel: 'nearest' })
      .withIccProfile('p3')
      .withExif(EXIF)
      .withXmp(XMP)
      .jpeg({ quality: 75 })
      .toBuffer();
    const meta = await sharp(photo).metadata();
    expect(meta.width! * meta.height! * 3).toBeGreaterThan(DECODE_ONCE_MAX_BYTES);
    expect(meta.icc).toBeDefined();
    await expectDirty(photo, { exif: true });

    const image = await upload(photo, 'big.jpg');
    expect(image.mimeType).toBe('image/jpeg');
    await expectStoredClean(image);
  });

  it('an animated WebP with EXIF, GPS and XMP, kept as animated WebP', async () => {
    const webp = await sharp(frames(3, 64, 48, false), { raw: { width: 64, height: 144, channels: 3, pageHeight: 48 } })
      .withExif(EXIF)
      .withXmp(XMP)
      .webp({ loop: 0, delay: [100, 100, 100] })
      .toBuffer();
    expect((await sharp(webp, { animated: true }).metadata()).pages).toBe(3);
    await expectDirty(webp, { exif: true });

    const image = await upload(webp, 'anim.webp');
    expect(image.mimeType).toBe('image/webp');
    expect((await sharp(await fetchBytes(image.localUrl), { animated: true }).metadata()).pages).toBe(3);
    await expectStoredClean(image);
  });

  it('an animated GIF with XMP, kept as GIF', async () => {
    const gif = await animatedGif(64, 48, false);
    await expectDirty(gif, { exif: false });
    const image = await upload(gif, 'anim.gif');
    expect(image.mimeType).toBe('image/gif');
    await expectStoredClean(image);
  });

  it('an animated GIF with XMP over IMAGE_MAX_KB, stored as animated WebP', async () => {
    const gif = await animatedGif(300, 200, true);
    expect(gif.length).toBeGreaterThan(40 * 1024);
    await expectDirty(gif, { exif: false });
    const image = await upload(gif, 'big.gif');
    expect(image.mimeType).toBe('image/webp');
    expect((await sharp(await fetchBytes(image.localUrl), { animated: true }).metadata()).pages).toBe(3);
    await expectStoredClean(image);
  });
});
