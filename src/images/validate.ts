import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { BadUserInputError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../domain/errors.js';

export const ACCEPTED_FORMATS_TEXT = 'Accepted: JPEG, PNG, WebP, GIF, AVIF, TIFF.';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff';

export const MIME_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
};

export interface ImageProbe {
  format: ImageFormat;
  mimeType: string;
  /** Of one frame, before EXIF orientation. */
  width: number;
  height: number;
  pages: number;
  hasAlpha: boolean;
  /** EXIF orientation 1..8, when the file has one. */
  orientation: number | null;
  isAnimated: boolean;
}

const DIRECT: Record<string, ImageFormat> = { jpeg: 'jpeg', png: 'png', webp: 'webp', gif: 'gif', tiff: 'tiff' };

/**
 * Reads the header with libvips and decides what the bytes are: never from a file name or
 * a client's mime type. Checks the pixel count (every frame of an animation) before anything
 * is decoded, so a decompression bomb costs a header read.
 */
export async function probeImage(input: Buffer | string, limits: { maxInputPixels: number }): Promise<ImageProbe> {
  const bytes = typeof input === 'string' ? (await stat(input)).size : input.length;
  if (bytes === 0) {
    throw new BadUserInputError(`The file is empty: send the bytes of an image. ${ACCEPTED_FORMATS_TEXT}`);
  }
  let meta: sharp.Metadata;
  try {
    // No pixel limit here: metadata() decodes nothing, and our own check below counts frames.
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch {
    throw new UnsupportedMediaTypeError(`The file is not a supported image. ${ACCEPTED_FORMATS_TEXT}`);
  }
  const format = formatOf(meta);
  const { width, height, pages, isAnimated } = framesOf(meta, format);
  const pixels = width * height * pages;
  if (pixels > limits.maxInputPixels) {
    throw new PayloadTooLargeError(
      `The image has ${pixels} pixels (${width}×${height}${pages > 1 ? ` × ${pages} frames` : ''}); at most ${limits.maxInputPixels} are accepted (MAX_INPUT_PIXELS).`,
    );
  }
  return {
    format,
    mimeType: MIME_TYPES[format],
    width,
    height,
    pages,
    hasAlpha: meta.hasAlpha ?? false,
    orientation: meta.orientation ?? null,
    isAnimated,
  };
}

/**
 * One frame's size and how many frames count, from what libvips read of the header. A header
 * without a size is refused, whatever libvips version let it through: the prebuilt one refuses
 * a zero-sized PNG or AVIF header itself, so this is the check for headers it may pass one day.
 */
export function framesOf(
  meta: Partial<Pick<sharp.Metadata, 'width' | 'height' | 'pageHeight' | 'pages'>>,
  format: ImageFormat,
): { width: number; height: number; pages: number; isAnimated: boolean } {
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw new UnsupportedMediaTypeError(`The image has no dimensions; it may be corrupt. ${ACCEPTED_FORMATS_TEXT}`);
  }
  const isAnimated = (format === 'gif' || format === 'webp') && (meta.pages ?? 1) > 1;
  const pages = isAnimated ? (meta.pages ?? 1) : 1;
  return { width, height, pages, isAnimated };
}

function formatOf(meta: sharp.Metadata): ImageFormat {
  const direct = DIRECT[meta.format ?? ''];
  if (direct) return direct;
  if (meta.format === 'heif') {
    if (meta.compression === 'av1') return 'avif';
    // Prebuilt sharp ships libheif with the AV1 decoder only: HEVC is patent-encumbered.
    throw new UnsupportedMediaTypeError(
      `HEIC images are not accepted: the prebuilt sharp this server uses cannot decode HEIC (HEVC). Convert the photo to JPEG first (on an iPhone: Settings › Camera › Formats › Most Compatible). ${ACCEPTED_FORMATS_TEXT}`,
    );
  }
  // libvips' own name for what it read: SVG, PDF, MAGICK, ...
  const named = meta.format ? meta.format.toUpperCase() : 'this format';
  throw new UnsupportedMediaTypeError(`${named} is not accepted. ${ACCEPTED_FORMATS_TEXT}`);
}
