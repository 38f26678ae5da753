import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { DomainError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../domain/errors.js';
import { ACCEPTED_FORMATS_TEXT, MIME_TYPES, type ImageFormat, type ImageProbe } from './validate.js';

export interface ProcessOptions {
  maxInputPixels: number;
  imageMaxKb: number;
  thumbnailSize: number;
}

export type OutputFormat = Exclude<ImageFormat, 'tiff'>;

export interface ProcessedImage {
  data: Buffer;
  format: OutputFormat;
  mimeType: string;
  ext: 'jpg' | 'png' | 'webp' | 'gif' | 'avif';
  /** Upright (after EXIF orientation), of one frame. */
  width: number;
  height: number;
  size: number;
  /** Hex SHA-256 of `data`. */
  sha256: string;
  thumbnail: Buffer;
  thumbnailWidth: number;
  thumbnailHeight: number;
  /** A tiny blurred WebP as a data URI, for blur-up while the image loads. */
  placeholder: string;
  /** Full-size encodes it took: the seed's quality-minus-5 loop took up to 17. */
  encodes: number;
}

const EXT: Record<OutputFormat, ProcessedImage['ext']> = { jpeg: 'jpg', png: 'png', webp: 'webp', gif: 'gif', avif: 'avif' };
const Q_HIGH = 85;
const Q_LOW = 40;
const MAX_SCALE_ROUNDS = 3;
const PLACEHOLDER_SIZE = 16;

/**
 * Sets sharp up once per process. The cache is off: every file is processed once, so cached
 * operations only hold memory. libvips gets one thread per image: parallelism comes from the
 * ImageProcessor queue (one image per core), which scales across uploads without the threads
 * of several images competing for the same cores.
 */
export function configureSharp(_cores: number): void {
  sharp.cache(false);
  sharp.concurrency(1);
}

/**
 * Orients, strips metadata, converts to 8-bit sRGB and encodes an image that `probe` accepted;
 * makes its thumbnail and placeholder. The format is kept when the result fits `imageMaxKb`;
 * otherwise the image is re-encoded (JPEG for opaque stills, WebP where alpha or animation must
 * survive) by a bounded search: per scale, quality 85, then 40, then two bisection steps; a
 * scale whose quality 40 is still too big shrinks by the square root of the size ratio. Worst
 * case 1 + 3 × 4 = 13 encodes; a 24 MP photo typically takes 7.
 */
export async function processImage(input: Buffer | string, probe: ImageProbe, o: ProcessOptions): Promise<ProcessedImage> {
  try {
    return await run(input, probe, o);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    if (/pixel limit/i.test(message)) {
      throw new PayloadTooLargeError(`The image has more pixels than the ${o.maxInputPixels} accepted (MAX_INPUT_PIXELS).`);
    }
    throw new UnsupportedMediaTypeError(`The image could not be decoded: it is truncated or corrupt. ${ACCEPTED_FORMATS_TEXT}`);
  }
}

async function run(input: Buffer | string, probe: ImageProbe, o: ProcessOptions): Promise<ProcessedImage> {
  const target = o.imageMaxKb * 1024;
  const decode = () => {
    // 'truncated' rejects cut files without refusing valid ones that merely carry odd metadata.
    const image = sharp(input, { limitInputPixels: o.maxInputPixels, failOn: 'truncated', animated: probe.isAnimated });
    // autoOrient first: sharp drops the EXIF tag on output, so the pixels must be turned now.
    return (probe.isAnimated ? image : image.rotate()).toColourspace('srgb');
  };
  // A still image is decoded, oriented and converted once; every encode, the thumbnail and the
  // placeholder then start from those pixels instead of decoding the file again.
  let open = decode;
  if (!probe.isAnimated) {
    const { data: pixels, info } = await decode().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const raw = { width: info.width, height: info.height, channels: info.channels };
    open = () => sharp(pixels, { raw });
  }

  let encodes = 0;
  const encode = async (format: OutputFormat, quality: number, scale: number) => {
    encodes++;
    let pipeline = open();
    if (scale < 1) {
      const upright = uprightSize(probe);
      pipeline = pipeline.resize({ width: Math.max(1, Math.round(upright.width * scale)), withoutEnlargement: true });
    }
    const { data, info } = await encoder(pipeline, format, quality).toBuffer({ resolveWithObject: true });
    const frames = probe.isAnimated ? probe.pages : 1;
    return { data, format, width: info.width, height: Math.round(info.height / frames) };
  };

  const keep = keptFormat(probe);
  let result = await encode(keep, keep === 'avif' ? 60 : Q_HIGH, 1);
  if (result.data.length > target) {
    const format: OutputFormat = probe.hasAlpha || probe.isAnimated ? 'webp' : 'jpeg';
    result = await shrink(format, target, encode, keep === format ? result : null);
  }

  const firstFrame = probe.isAnimated ? () => sharp(input, { limitInputPixels: o.maxInputPixels }).toColourspace('srgb') : open;
  const [thumb, placeholder] = await Promise.all([thumbnail(firstFrame(), probe, o), placeholderOf(firstFrame(), probe)]);
  return {
    data: result.data,
    format: result.format,
    mimeType: MIME_TYPES[result.format],
    ext: EXT[result.format],
    width: result.width,
    height: result.height,
    size: result.data.length,
    sha256: createHash('sha256').update(result.data).digest('hex'),
    thumbnail: thumb.data,
    thumbnailWidth: thumb.info.width,
    thumbnailHeight: thumb.info.height,
    placeholder,
    encodes,
  };
}

type Encoded = { data: Buffer; format: OutputFormat; width: number; height: number };

async function shrink(
  format: OutputFormat,
  target: number,
  encode: (format: OutputFormat, quality: number, scale: number) => Promise<Encoded>,
  alreadyAtHigh: Encoded | null,
): Promise<Encoded> {
  let scale = 1;
  let smallest: Encoded | null = null;
  for (let round = 0; round < MAX_SCALE_ROUNDS; round++) {
    const high = round === 0 && alreadyAtHigh ? alreadyAtHigh : await encode(format, Q_HIGH, scale);
    if (high.data.length <= target) return high;
    const low = await encode(format, Q_LOW, scale);
    smallest = low;
    if (low.data.length > target) {
      // Size grows about linearly with pixels: shrink the area by the overshoot, with a margin.
      scale *= Math.sqrt(target / low.data.length) * 0.9;
      continue;
    }
    let best = low;
    let lo = Q_LOW;
    let hi = Q_HIGH;
    for (let step = 0; step < 2; step++) {
      const q = Math.round((lo + hi) / 2);
      const candidate = await encode(format, q, scale);
      if (candidate.data.length <= target) {
        best = candidate;
        lo = q;
      } else {
        hi = q;
      }
    }
    return best;
  }
  // Bounded on purpose: the smallest attempt is stored rather than searching further.
  return smallest as Encoded;
}

function keptFormat(probe: ImageProbe): OutputFormat {
  if (probe.format !== 'tiff') return probe.format;
  // Browsers cannot show TIFF: store what they can, keeping alpha where there is some.
  return probe.hasAlpha ? 'png' : 'jpeg';
}

function encoder(pipeline: sharp.Sharp, format: OutputFormat, quality: number): sharp.Sharp {
  switch (format) {
    case 'jpeg':
      // Plain libjpeg-turbo: mozjpeg saves ~10% of bytes but costs ~3x the time per encode.
      return pipeline.jpeg({ quality, progressive: true });
    case 'png':
      return pipeline.png({ compressionLevel: 9, adaptiveFiltering: true });
    case 'webp':
      return pipeline.webp({ quality, alphaQuality: Math.max(quality, 80), effort: 4 });
    case 'gif':
      return pipeline.gif();
    case 'avif':
      return pipeline.avif({ quality, effort: 2 });
  }
}

function uprightSize(probe: ImageProbe): { width: number; height: number } {
  const turned = probe.orientation !== null && probe.orientation >= 5;
  return turned ? { width: probe.height, height: probe.width } : { width: probe.width, height: probe.height };
}

/** First frame only, WebP, longest side `thumbnailSize` and never enlarged. */
function thumbnail(pixels: sharp.Sharp, probe: ImageProbe, o: ProcessOptions) {
  return pixels
    .resize(o.thumbnailSize, o.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75, alphaQuality: probe.hasAlpha ? 80 : 100 })
    .toBuffer({ resolveWithObject: true });
}

async function placeholderOf(pixels: sharp.Sharp, probe: ImageProbe): Promise<string> {
  const data = await pixels
    .resize(PLACEHOLDER_SIZE, PLACEHOLDER_SIZE, { fit: 'inside' })
    .webp({ quality: 40, alphaQuality: probe.hasAlpha ? 50 : 100 })
    .toBuffer();
  return `data:image/webp;base64,${data.toString('base64')}`;
}
