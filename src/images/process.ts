import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { DomainError, messageOf, PayloadTooLargeError, UnsupportedMediaTypeError } from '../domain/errors.js';
import { toThumbnail } from './thumbnail.js';
import { ACCEPTED_FORMATS_TEXT, MIME_TYPES, type ImageFormat, type ImageProbe } from './validate.js';

export interface ProcessOptions {
  maxInputPixels: number;
  imageMaxKb: number;
  thumbnailSize: number;
  /**
   * The display ceiling (IMAGE_MAX_DIMENSION): a still whose long edge is over it is stored
   * scaled down to it, as no chat shows more. Undefined or 0: none. Animations keep their size.
   */
  maxDimension?: number;
  /** Keep an opaque PNG as PNG when its lossless re-encoding fits (IMAGE_KEEP_PNG); default: store it as JPEG. */
  keepPng?: boolean;
  /**
   * A still whose decoded pixels fit in this many bytes is decoded once and every encode starts
   * from memory; a bigger one is decoded again per encode, so a 100 MP upload does not pin
   * 300 MB per queue slot. Default 160 MB (a 40 MP RGBA photo).
   */
  decodeOnceMaxBytes?: number;
  /**
   * The most processing time one image may take (IMAGE_PROCESS_TIMEOUT_SECONDS); past it the
   * image is refused with PAYLOAD_TOO_LARGE. Every libvips pipeline gets what is left of it.
   */
  timeoutMs?: number;
  /** When the budget began (ms since the epoch): when the image joined the queue. Default: now. */
  budgetFrom?: number;
  /**
   * Whether a core is idle (the processing queue has a free slot). A still that fits
   * decodeOnceMaxBytes then gets its thumbnail made alongside the full-size encode instead of
   * after it, and a PNG too dense to be flat graphics is not decoded into memory first (see
   * `run`): in process, alternating, render p50 26.8 ms against 36.0 one step after another.
   * The output is the same bytes either way. Under load each image keeps to one thread.
   */
  spareCore?: () => boolean;
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
  /** A 16 px WebP as a data URI, for blur-up while the image loads. */
  placeholder: string;
  /** Full-size encodes it took: the seed's quality-minus-5 loop took up to 17. */
  encodes: number;
}

const EXT: Record<OutputFormat, ProcessedImage['ext']> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  avif: 'avif',
};
export const Q_MAX = 85;
export const Q_MIN = 40;
/** The quality a downscaled image aims at: past this point fewer pixels look better than more blocks. */
export const Q_SCALED = 75;
/**
 * First qualities by class, measured (npm run bench -- seed, SSIM of luma at viewing size):
 * a camera photo scaled down to the display ceiling keeps SSIM 0.936 at q80 (its grain, which
 * no 500 KB JPEG keeps, costs 24% more bytes at q85 for +0.007); flat graphics (screenshots,
 * diagrams: most sampled pixels exactly one of a few colours, see flatShare) keep 0.997 at q78, 13% smaller
 * than q85; renders and other stills need q85 for 0.987.
 */
const Q_PHOTO_SCALED = 80;
const Q_GRAPHICS = 78;
/** Graphics: at least this share of sampled pixels are one of the few most common colours (flat fills). */
const GRAPHICS_MIN_FLAT_SHARE = 0.4;
const AVIF_QUALITY = 55;
/** Encodes the size search may spend, the first included; the finishing encode comes on top. */
export const SEARCH_ENCODES = 5;
/** bytes(q40) / bytes(q85) of photographs (measured 0.34–0.38 for JPEG): the slope until two qualities are measured. */
export const PRIOR_SLOPE = -Math.log(0.35) / (Q_MAX - Q_MIN);
/** Aim under the target, so that the model's error rarely costs one more encode. */
export const AIM = 0.93;
/** Above this size the search runs on fast presets (WebP effort 2), and the result is finished once at effort 4. */
const FAST_SEARCH_MIN_PIXELS = 2_000_000;
/**
 * Bytes grow as pixels^0.9: a downscaled photo keeps its detail in fewer pixels (measured 0.8 for
 * a smooth photo, 1.1 for a grainy one, where the grain averages away).
 */
const PIXEL_EXPONENT = 0.9;
/** The bound on `encodes`: one try of the kept format, the search, one finishing encode. */
export const MAX_ENCODES = 1 + SEARCH_ENCODES + 1;
const DECODE_ONCE_MAX_BYTES = 160 * 1024 * 1024;
export const PLACEHOLDER_SIZE = 16;

/**
 * Sets sharp up once per process. The operation cache is off: every upload is a new file, so
 * cached operations only hold memory. libvips gets one thread per image: the ImageProcessor
 * queue already runs one image per core, more threads per image would oversubscribe the cores
 * under load (JPEG decoding and encoding are serial anyway), and one is sharp's own default on
 * glibc, where more threads fragment memory. Returns how many images should run at once: sharp
 * works on libuv's thread pool (UV_THREADPOOL_SIZE, default 4), which file reads and DNS share,
 * so one thread of it is left to them.
 */
export function configureSharp(cores: number, threadPoolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4): number {
  sharp.cache(false);
  sharp.concurrency(1);
  return Math.max(1, Math.min(cores, threadPoolSize - 1));
}

/**
 * Orients, strips metadata, converts to 8-bit sRGB and encodes an image that `probe` accepted;
 * makes its thumbnail and placeholder. A still over `maxDimension` is scaled down to it first. The
 * input format is kept when its re-encoding fits `imageMaxKb` (TIFF becomes JPEG, or PNG with
 * alpha; an opaque PNG becomes JPEG unless `keepPng`); otherwise the image is re-encoded as JPEG,
 * or as WebP where alpha or animation must survive, by the bounded search in `fit`.
 *
 * Worst case (MAX_ENCODES): 1 encode to try the kept format + 5 search encodes + 1 finishing = 7
 * (finishing: WebP only). Typical: 1 (fits as it is, a photo scaled to the ceiling included), 3
 * (a 24 MP photo over the target without a ceiling: one full-size encode, two after downscaling).
 */
export async function processImage(
  input: Buffer | string,
  probe: ImageProbe,
  o: ProcessOptions,
): Promise<ProcessedImage> {
  const budget = new TimeBudget(o.timeoutMs, o.budgetFrom);
  try {
    return await run(input, probe, o, budget);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    const message = messageOf(e);
    if (budget.spent() || /^timeout\b/i.test(message)) {
      const frames = probe.pages > 1 ? ` × ${probe.pages} frames` : '';
      throw new PayloadTooLargeError(
        `The image (${probe.width}×${probe.height}${frames}) could not be processed within the ${Math.round((o.timeoutMs ?? 0) / 1000)} s one image may take from when it is queued (IMAGE_PROCESS_TIMEOUT_SECONDS): send fewer pixels or fewer frames.`,
        { cause: e },
      );
    }
    if (/pixel limit/i.test(message)) {
      throw new PayloadTooLargeError(
        `The image has more pixels than the ${o.maxInputPixels} accepted (MAX_INPUT_PIXELS).`,
        { cause: e },
      );
    }
    throw new UnsupportedMediaTypeError(
      `The image could not be decoded: it is truncated or corrupt. ${ACCEPTED_FORMATS_TEXT}`,
      { cause: e },
    );
  }
}

/** A pipeline of the upright sRGB pixels; `raw` when they were decoded once into memory. */
type Source = (() => sharp.Sharp) & { raw?: { data: Buffer; channels: number } };
export type Encoded = {
  data: Buffer;
  format: OutputFormat;
  quality: number;
  scale: number;
  finished: boolean;
  width: number;
  height: number;
};
export type Encode = (format: OutputFormat, quality: number, scale: number, finished?: boolean) => Promise<Encoded>;

/**
 * The time one image may still take. libvips checks its own timeout while it computes, in whole
 * seconds, so each pipeline gets the seconds left (at least one) and nothing starts once they
 * are gone.
 */
class TimeBudget {
  private readonly deadline: number;

  constructor(timeoutMs: number | undefined, from = Date.now()) {
    this.deadline = timeoutMs === undefined ? Infinity : from + timeoutMs;
  }

  spent(): boolean {
    return Date.now() >= this.deadline;
  }

  limit(pipeline: sharp.Sharp): sharp.Sharp {
    if (this.deadline === Infinity) return pipeline;
    if (this.spent()) throw new Error('timeout: the processing budget is spent');
    return pipeline.timeout({ seconds: Math.max(1, Math.ceil((this.deadline - Date.now()) / 1000)) });
  }
}

async function run(
  input: Buffer | string,
  probe: ImageProbe,
  o: ProcessOptions,
  budget: TimeBudget,
): Promise<ProcessedImage> {
  const target = o.imageMaxKb * 1024;
  const full = uprightSize(probe);
  // The display ceiling is applied as the image is decoded: every encode and the thumbnail start
  // from the scaled pixels.
  const ceiling =
    probe.isAnimated || !o.maxDimension ? 1 : Math.min(1, o.maxDimension / Math.max(full.width, full.height));
  const upright =
    ceiling < 1
      ? { width: Math.max(1, Math.round(full.width * ceiling)), height: Math.max(1, Math.round(full.height * ceiling)) }
      : full;
  // With a core idle and the class known without the pixels, the image is not decoded into
  // memory: the encode decodes as it goes, and the thumbnail decodes it again alongside (render:
  // 21 ms against 32 through raw pixels, npm run bench -- seed). The CPU spent is the same.
  // Asked once, and only for an image small enough to decode twice at once.
  const idle =
    !probe.isAnimated &&
    decodedBytes(probe) <= (o.decodeOnceMaxBytes ?? DECODE_ONCE_MAX_BYTES) &&
    o.spareCore?.() === true;
  const streamed = idle && ceiling === 1 && (await cannotBeFlat(input, probe));
  const source = await openSource(input, probe, o, budget, ceiling < 1 ? upright : null, !streamed);
  const fastSearch = upright.width * upright.height * probe.pages > FAST_SEARCH_MIN_PIXELS;

  let encodes = 0;
  const encode: Encode = async (format, quality, scale, finished = !fastSearch) => {
    encodes++;
    let pipeline = source();
    if (scale < 1) pipeline = pipeline.resize({ width: Math.max(1, Math.round(upright.width * scale)) });
    const { data, info } = await budget
      .limit(encoder(pipeline, format, quality, finished))
      .toBuffer({ resolveWithObject: true });
    return { data, format, quality, scale, finished, width: info.width, height: info.pageHeight ?? info.height };
  };

  // The thumbnail needs none of the encodes: started first when a core is free, it is ready by
  // the time they are. Its failure is awaited below, after the encodes.
  const thumbnail = () =>
    thumbnailAndPlaceholder(probe.isAnimated ? firstFrame(input, o) : source(), o.thumbnailSize, budget);
  const early = idle ? thumbnail() : null;
  early?.catch(() => undefined);

  const keep = keptFormat(probe);
  const lossy = probe.hasAlpha || probe.isAnimated ? 'webp' : 'jpeg';
  // An opaque still is stored as JPEG whatever it came as (a PNG render or screenshot too): a
  // lossless re-encoding costs 5× the time (adaptive PNG filtering) for a file several times larger.
  const stored: OutputFormat = keep === 'png' && lossy === 'jpeg' && !o.keepPng ? 'jpeg' : keep;
  const firstQuality = stored === 'avif' ? AVIF_QUALITY : stored === 'jpeg' ? jpegQuality(source, ceiling) : Q_MAX;
  let first: Encoded | null = null;
  if (!(await losslessCannotFit(input, probe, stored, target))) first = await encode(stored, firstQuality, 1);
  let result: Encoded;
  if (first && first.data.length <= target) {
    result = first;
  } else {
    result = await fit(lossy, target, encode, first?.format === lossy ? first : null, firstQuality);
  }
  result = await finish(result, target, encode);

  const { thumb, placeholder } = await (early ?? thumbnail());
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

/** The thumbnail (toThumbnail) and, from it, the 16 px blur-up placeholder as a data URI. */
async function thumbnailAndPlaceholder(pixels: sharp.Sharp, size: number, budget: TimeBudget) {
  const thumb = await budget.limit(toThumbnail(pixels, size)).toBuffer({ resolveWithObject: true });
  const placeholder = await sharp(thumb.data)
    .resize(PLACEHOLDER_SIZE, PLACEHOLDER_SIZE, { fit: 'inside' })
    .webp({ quality: 40, alphaQuality: 50 })
    .toBuffer();
  return { thumb, placeholder: `data:image/webp;base64,${placeholder.toString('base64')}` };
}

/**
 * A pipeline that yields the upright, 8-bit sRGB pixels. `failOn: 'truncated'` rejects a cut
 * file without refusing valid ones that merely carry odd metadata. `rotate()` with no angle
 * applies the EXIF orientation: the output carries no EXIF, so the pixels must be turned.
 * sharp converts through an embedded ICC profile (P3, CMYK) to sRGB and writes no metadata
 * (EXIF, GPS, XMP, ICC) unless told to keep it, which this module never does.
 */
async function openSource(
  input: Buffer | string,
  probe: ImageProbe,
  o: ProcessOptions,
  budget: TimeBudget,
  scaledTo: { width: number; height: number } | null,
  decodeOnce = true,
): Promise<Source> {
  const decode = () => {
    const upright = sharp(input, {
      limitInputPixels: o.maxInputPixels,
      failOn: 'truncated',
      animated: probe.isAnimated,
    })
      .rotate()
      .toColourspace('srgb');
    return scaledTo ? upright.resize(scaledTo.width, scaledTo.height, { fit: 'fill' }) : upright;
  };
  if (!decodeOnce || probe.isAnimated || decodedBytes(probe) > (o.decodeOnceMaxBytes ?? DECODE_ONCE_MAX_BYTES))
    return decode;
  // Each search step and the thumbnail then start from memory instead of decoding the file again.
  const { data, info } = await budget.limit(decode().raw({ depth: 'uchar' })).toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height, channels: info.channels };
  return Object.assign(() => sharp(data, { raw }), { raw: { data, channels: info.channels } });
}

/**
 * Finds an encoding under `target` in at most SEARCH_ENCODES encodes. Sizes are modelled as
 * pixels^0.9 × f(quality) with log f linear in quality: each step solves the model for the best
 * quality in [Q_MIN, Q_MAX] that fits; when even Q_MIN would not, the image shrinks to fit at
 * Q_SCALED (by about the square root of the overshoot). The last allowed step aims at Q_MIN
 * with a wide margin. If nothing fits by then (noise-like content only), the smallest attempt
 * is kept rather than searching without bound.
 */
export async function fit(
  format: OutputFormat,
  target: number,
  encode: Encode,
  first: Encoded | null,
  startQuality = Q_MAX,
): Promise<Encoded> {
  const tried: Encoded[] = first ? [first] : [];
  while (tried.length < SEARCH_ENCODES) {
    const lastChance = tried.length === SEARCH_ENCODES - 1;
    const next =
      tried.length === 0
        ? { quality: startQuality, scale: 1 }
        : plan(tried, target * (lastChance ? 0.75 : AIM), lastChance);
    const attempt = await encode(format, next.quality, next.scale);
    if (attempt.data.length <= target) return attempt;
    tried.push(attempt);
  }
  return tried.reduce((a, b) => (b.data.length < a.data.length ? b : a));
}

/** Every attempt in `tried` was over; choose the next quality and scale from what they measured. */
export function plan(tried: Encoded[], goal: number, lastChance: boolean): { quality: number; scale: number } {
  const scale = tried.at(-1)!.scale;
  const here = tried.filter((t) => t.scale === scale);
  const lowest = here.reduce((a, b) => (b.quality < a.quality ? b : a));
  // Only attempts at this scale measure the slope: across scales, detail per pixel changes too.
  const other = here.find((t) => t.quality !== lowest.quality);
  const measured = other && Math.log(lowest.data.length / other.data.length) / (lowest.quality - other.quality);
  // Flat (noise, alpha-heavy content): lowering the quality barely helps, so the solver goes
  // below Q_MIN at once and the image is downscaled instead.
  const slope = measured === undefined ? PRIOR_SLOPE : Math.max(measured, 0.002);
  const bytesAt = (q: number) => lowest.data.length * Math.exp(slope * (q - lowest.quality));
  const quality = Math.min(
    Q_MAX,
    lowest.quality - 1,
    Math.floor(lowest.quality + Math.log(goal / lowest.data.length) / slope),
  );
  if (quality >= Q_MIN) return { quality, scale };
  const aim = lastChance ? Q_MIN : Q_SCALED;
  return { quality: aim, scale: scale * (goal / bytesAt(aim)) ** (1 / (2 * PIXEL_EXPONENT)) };
}

/** Re-encodes a fast-preset result once with the slow preset, which is smaller at the same quality (WebP; JPEG has one preset). */
export async function finish(result: Encoded, target: number, encode: Encode): Promise<Encoded> {
  if (result.finished || result.format !== 'webp') return result;
  const final = await encode(result.format, result.quality, result.scale, true);
  return final.data.length <= Math.max(target, result.data.length) ? final : result;
}

/**
 * The first JPEG quality for an opaque still, by class (see Q_PHOTO_SCALED): a photo scaled down
 * to the display ceiling; flat graphics, where most pixels are exactly one of a few colours (UI
 * backgrounds, fills; no photo or render has that, their noise and gradients vary every pixel);
 * or anything else. One pixel in 16 of the decoded image is looked at: under 1 ms at 2 MP.
 */
function jpegQuality(source: Source, ceiling: number): number {
  if (ceiling < 1) return Q_PHOTO_SCALED;
  return source.raw && flatShare(source.raw) >= GRAPHICS_MIN_FLAT_SHARE ? Q_GRAPHICS : Q_MAX;
}

/** The bytes of an image's decoded 8-bit pixels, every frame. */
function decodedBytes(probe: ImageProbe): number {
  return probe.width * probe.height * probe.pages * (probe.hasAlpha ? 4 : 3);
}

/**
 * Whether a PNG is too dense to be flat graphics, so its JPEG quality needs no look at its
 * pixels: at GRAPHICS_MIN_FLAT_SHARE of one of a few colours, those pixels compress to almost
 * nothing and the rest to at most about 3 bytes each (RGB, incompressible), so such a PNG holds
 * under 0.6 × 3 bytes per pixel. Above that (a render: 2.3 bytes per pixel) it is not graphics.
 * Only the sampled pixels count in flatShare, so a crafted file can be dense and still sample
 * as flat: it is then given the higher quality, never a lower one. Small images, PNGs with
 * alpha and other formats (a JPEG's flat blocks decode to exact colours) are left to flatShare.
 */
export async function cannotBeFlat(input: Buffer | string, probe: ImageProbe): Promise<boolean> {
  if (probe.format !== 'png' || probe.hasAlpha || probe.pages > 1) return false;
  const pixels = probe.width * probe.height;
  if (pixels < 65_536) return false;
  const bytes = typeof input === 'string' ? (await stat(input)).size : input.length;
  return bytes > (1 - GRAPHICS_MIN_FLAT_SHARE) * 3 * 1.05 * pixels;
}

/**
 * The share of sampled pixels that are one of the 8 most common colours. Counted in an
 * open-addressing table of typed arrays: a render has tens of thousands of distinct colours, and
 * a Map of them took 22 ms per 1 MP image (npm run bench -- seed), this under 1 ms.
 */
export function flatShare(raw: { data: Buffer; channels: number }): number {
  const { data, channels } = raw;
  const step = channels * 16;
  const samples = data.length >= 3 ? Math.floor((data.length - 3) / step) + 1 : 0;
  if (samples === 0) return 0;
  // A power of two at least twice the samples, so probes stay short; slot 0 of `counts` = empty.
  const bits = Math.ceil(Math.log2(samples * 2 + 1));
  const size = 2 ** bits;
  const mask = size - 1;
  const colours = new Uint32Array(size);
  const counts = new Uint32Array(size);
  for (let i = 0; i + 2 < data.length; i += step) {
    const colour = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    // Fibonacci hashing: the product's top bits depend on every bit of the colour.
    let slot = Math.imul(colour, 0x9e3779b1) >>> (32 - bits);
    while (counts[slot] !== 0 && colours[slot] !== colour) slot = (slot + 1) & mask;
    colours[slot] = colour;
    counts[slot]!++;
  }
  // The 8 largest counts, kept in descending order.
  const top = new Uint32Array(8);
  for (let slot = 0; slot < size; slot++) {
    const n = counts[slot]!;
    if (n <= top[7]!) continue;
    let at = 7;
    while (at > 0 && top[at - 1]! < n) {
      top[at] = top[at - 1]!;
      at--;
    }
    top[at] = n;
  }
  return top.reduce((a, b) => a + b, 0) / samples;
}

function keptFormat(probe: ImageProbe): OutputFormat {
  if (probe.format !== 'tiff') return probe.format;
  // Browsers cannot show TIFF: store what they can, keeping alpha where there is some.
  return probe.hasAlpha ? 'png' : 'jpeg';
}

/**
 * A lossless re-encoding (PNG, GIF) of a lossless input rarely comes out at half its size, and a
 * 24 MP PNG costs seconds to compress: skip the attempt when the input is over twice the target.
 */
async function losslessCannotFit(
  input: Buffer | string,
  probe: ImageProbe,
  keep: OutputFormat,
  target: number,
): Promise<boolean> {
  if ((keep !== 'png' && keep !== 'gif') || probe.format !== keep) return false;
  const bytes = typeof input === 'string' ? (await stat(input)).size : input.length;
  return bytes > 2 * target;
}

export function encoder(pipeline: sharp.Sharp, format: OutputFormat, quality: number, finished: boolean): sharp.Sharp {
  switch (format) {
    case 'jpeg':
      // libjpeg-turbo with optimised Huffman tables: mozjpeg's trellis quantisation is ~20% smaller
      // at the same quality but costs 5× the time (1 MP: 100 vs 18 ms), and at the quality that
      // makes it as small it scores lower SSIM (npm run bench -- seed).
      return pipeline.jpeg({ quality, optimiseCoding: true });
    case 'png':
      // Level 9 costs 4× the time of 6 for 4% fewer bytes (1 MP); adaptive filtering halves photos.
      return pipeline.png({ compressionLevel: 6, adaptiveFiltering: true });
    case 'webp':
      return pipeline.webp({ quality, alphaQuality: Math.max(quality, 80), effort: finished ? 4 : 2 });
    case 'gif':
      return pipeline.gif();
    case 'avif':
      // Effort 4 (the default) takes 7× the time of 2 for 4% fewer bytes.
      return pipeline.avif({ quality, effort: 2 });
  }
}

function uprightSize(probe: ImageProbe): { width: number; height: number } {
  const turned = probe.orientation !== null && probe.orientation >= 5;
  return turned ? { width: probe.height, height: probe.width } : { width: probe.width, height: probe.height };
}

/** Without `animated`, sharp reads the first page only. */
function firstFrame(input: Buffer | string, o: ProcessOptions): sharp.Sharp {
  return sharp(input, { limitInputPixels: o.maxInputPixels, failOn: 'truncated' }).toColourspace('srgb');
}
