/**
 * Inputs the image tests build in memory: large or hostile files are made here rather than
 * committed. The photographs they start from are in test/fixtures/.
 */
import { readFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

export const fixture = (name: string) => readFile(`test/fixtures/${name}`);

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

/** A PNG whose IHDR declares `width`×`height` RGBA over an 8-byte body: a decompression bomb's header. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    return Buffer.concat([u32(data.length), body, u32(crc32(body) >>> 0)]);
  };
  const ihdr = Buffer.concat([u32(width), u32(height), Buffer.from([8, 6, 0, 0, 0])]);
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.alloc(8)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Just enough of an ISO-BMFF (HEIF) file for libheif to read the header: `ftyp` with the
 * `heic` (or `avif`) brand, and a `meta` box naming one primary item of `width`×`height`
 * (`ispe`) whose coded data, in `mdat`, is zeros. Nothing can decode it, which is the point.
 */
export function heifHeaderOnly(brand: 'heic' | 'avif', width: number, height: number): Buffer {
  const box = (type: string, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([u32(body.length + 8), Buffer.from(type, 'latin1'), body]);
  };
  const full = (type: string, version: number, ...parts: Buffer[]) =>
    box(type, Buffer.from([version, 0, 0, 0]), ...parts);
  const codec = brand === 'heic' ? 'hvc1' : 'av01';
  const config =
    brand === 'heic'
      ? box(
          'hvcC',
          Buffer.from([1, 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 90, 0xf0, 0, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0, 0x0f, 0]),
        )
      : box('av1C', Buffer.from([0x81, 0x00, 0x0c, 0x00]));
  const coded = Buffer.alloc(64);
  const meta = (dataOffset: number) =>
    full(
      'meta',
      0,
      full('hdlr', 0, u32(0), Buffer.from('pict'), u32(0), u32(0), u32(0), Buffer.from([0])),
      full('pitm', 0, u16(1)),
      full('iinf', 0, u16(1), full('infe', 2, u16(1), u16(0), Buffer.from(codec), Buffer.from([0]))),
      // iloc v0, 4-byte offsets and lengths: item 1 is one extent in mdat.
      full('iloc', 0, Buffer.from([0x44, 0x00]), u16(1), u16(1), u16(0), u16(1), u32(dataOffset), u32(coded.length)),
      box(
        'iprp',
        box('ipco', config, full('ispe', 0, u32(width), u32(height))),
        full('ipma', 0, u32(1), u16(1), Buffer.from([2, 0x81, 0x02])),
      ),
    );
  const ftyp = box('ftyp', Buffer.from(brand), u32(0), Buffer.from('mif1'), Buffer.from(brand));
  const offset = ftyp.length + meta(0).length + 8;
  return Buffer.concat([ftyp, meta(offset), box('mdat', coded)]);
}

/** Pseudo-random bytes from a fixed seed (xorshift32): noise that no encoder can shrink much. */
export function noise(length: number, seed = 2463534242): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

/** An animated GIF of `frames` frames, flat colours or `noisy`. */
export async function animatedGif(frames: number, width: number, height: number, noisy = false): Promise<Buffer> {
  const frameBytes = width * height * 3;
  const raw = noisy ? noise(frameBytes * frames) : Buffer.alloc(frameBytes * frames);
  if (!noisy) for (let f = 0; f < frames; f++) raw.fill(60 * (f + 1), f * frameBytes, (f + 1) * frameBytes);
  return sharp(raw, { raw: { width, height: height * frames, channels: 3, pageHeight: height } })
    .gif({ loop: 0, delay: Array<number>(frames).fill(100) })
    .toBuffer();
}

/**
 * A phone photo: `width`×`height` stored sideways with EXIF orientation 6, camera make and a
 * GPS position in EXIF, XMP, and a Display P3 ICC profile. `marker` paints the stored image's
 * top-left corner red so a test can see where it lands after orientation.
 */
export async function phonePhoto(base: Buffer, width: number, height: number, quality = 92): Promise<Buffer> {
  const corner = await sharp({
    create: { width: Math.round(width / 10), height: Math.round(height / 10), channels: 3, background: '#ff0000' },
  })
    .png()
    .toBuffer();
  return sharp(base)
    .resize(width, height, { fit: 'fill' })
    .composite([{ input: corner, top: 0, left: 0 }])
    .withIccProfile('p3')
    .withExif({
      IFD0: { Make: 'PhoneCo', Model: 'X1' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 3/1' },
    })
    .withMetadata({ orientation: 6 })
    .withXmp(
      '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>',
    )
    .jpeg({ quality })
    .toBuffer();
}
