import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { processImage, type ProcessOptions } from '../../src/images/process.js';
import { probeImage } from '../../src/images/validate.js';
import { fixture } from './images-crafted.js';

/**
 * Issue #11 point 9, mutation 1, without depending on where the decode-once threshold lies:
 * `decodeOnceMaxBytes: 0` sends even a small photo down the path that encodes from the file
 * (the one a photo over ~56 MP takes; test/integration/audit-metadata.test.ts sends a real one),
 * where a `.withMetadata()` in the pipeline would carry EXIF, GPS and XMP into the output.
 */

const OPTIONS: ProcessOptions = { maxInputPixels: 100_000_000, imageMaxKb: 500, thumbnailSize: 256 };
const MARKERS = ['AUDIT-GPS-DATUM-51c2', 'AUDIT-EXIF-DESC-51c2', 'AuditCam-51c2', 'AUDIT-XMP-51c2'];

async function photo(width: number, height: number, orientation?: number): Promise<Buffer> {
  let p = sharp(await fixture('hubble_deep_field.jpg'))
    .resize(width, height, { fit: 'fill' })
    .withExif({
      IFD0: { Make: 'AuditCam-51c2', ImageDescription: 'AUDIT-EXIF-DESC-51c2' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 24/1', GPSMapDatum: 'AUDIT-GPS-DATUM-51c2' },
    })
    .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/">AUDIT-XMP-51c2</x:xmpmeta>');
  if (orientation) p = p.withMetadata({ orientation });
  return p.jpeg({ quality: 90 }).toBuffer();
}

async function expectClean(bytes: Buffer, what: string): Promise<void> {
  const meta = await sharp(bytes).metadata();
  expect(meta.exif, `${what}: EXIF`).toBeUndefined();
  expect(meta.xmp, `${what}: XMP`).toBeUndefined();
  expect(meta.orientation, `${what}: orientation`).toBeUndefined();
  for (const m of MARKERS) expect(bytes.includes(m), `${what} contains ${m}`).toBe(false);
}

describe('processImage decoding per encode (decodeOnceMaxBytes: 0) keeps no metadata', () => {
  it.each([
    ['fits at once', 5000],
    ['searched and downscaled', 20],
  ])(
    'a JPEG with EXIF, GPS and XMP (%s): neither the original nor the thumbnail keeps any',
    async (_name, imageMaxKb) => {
      const input = await photo(1200, 800, 6);
      for (const m of MARKERS) expect(input.includes(m), m).toBe(true);
      const options = { ...OPTIONS, imageMaxKb, decodeOnceMaxBytes: 0 };
      const out = await processImage(input, await probeImage(input, options), options);
      expect(out.format).toBe('jpeg');
      expect(out.width / out.height).toBeCloseTo(800 / 1200, 2); // turned upright by its pixels, not by a kept tag
      await expectClean(out.data, 'original');
      await expectClean(out.thumbnail, 'thumbnail');
      await expectClean(Buffer.from(out.placeholder.split(',')[1]!, 'base64'), 'placeholder');
    },
  );
});
