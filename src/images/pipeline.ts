import { availableParallelism } from 'node:os';
import type { Config } from '../config.js';
import { configureSharp, processImage, type ProcessedImage } from './process.js';
import { ImageProcessor } from './processor.js';
import { thumbnailFormatOf, thumbnailOf } from './thumbnail.js';
import { probeImage, type ImageProbe } from './validate.js';

/**
 * Pixels (of every frame) above which an image is a heavy job for the processing queue: about
 * a 48 MP phone photo, or an animation of a few hundred frames. Heavy jobs never hold the last
 * queue slot, so small uploads keep flowing past them (src/images/processor.ts).
 */
export const HEAVY_JOB_PIXELS = 40_000_000;

/**
 * What "process an image" means, for every caller: the header is probed first (cheap, no pixels
 * decoded), so the fair CPU queue knows what the job costs, then the bytes are processed on it
 * under the configured limits. Uploads, restored thumbnails and import-seed share one queue, sized
 * to the cores (one image per core, never all of libuv's threads: file I/O needs one).
 */
export class ImagePipeline {
  private readonly processor: ImageProcessor;

  constructor(
    private readonly limits: Config['limits'],
    o: { concurrency?: number } = {},
  ) {
    const slots = configureSharp(availableParallelism());
    this.processor = new ImageProcessor({ concurrency: o.concurrency ?? slots });
  }

  /** Images processed at once. */
  get concurrency(): number {
    return this.processor.concurrency;
  }

  /** An upload's bytes (a buffer or a temp file) to the stored image; `owner` takes turns on the queue. */
  process = async (input: Buffer | string, owner: string): Promise<ProcessedImage> => {
    const { maxInputPixels, imageMaxKb, thumbnailSize, maxDimension, keepPng } = this.limits;
    const probe = await probeImage(input, { maxInputPixels });
    // The time budget runs from here, so an image behind others is still answered in time.
    const budgetFrom = Date.now();
    return this.processor.run(
      () =>
        processImage(input, probe, {
          maxInputPixels,
          imageMaxKb,
          thumbnailSize,
          maxDimension,
          keepPng,
          timeoutMs: this.limits.imageProcessTimeoutSeconds * 1000,
          budgetFrom,
          spareCore: () => this.processor.active < this.processor.concurrency,
        }),
      { owner, heavy: probe.width * probe.height * probe.pages > HEAVY_JOB_PIXELS },
    );
  };

  /** A thumbnail made again from a restored original, in the format its key names. */
  restoreThumbnail = (input: Buffer | string, key: string): Promise<Buffer> =>
    this.processor.run(() => thumbnailOf(input, { ...this.thumbnailLimits(), format: thumbnailFormatOf(key) }), {
      owner: 'restore',
    });

  /** The header of a file (import-seed), under the same pixel limit as uploads. */
  probeFile = (path: string): Promise<ImageProbe> => probeImage(path, { maxInputPixels: this.limits.maxInputPixels });

  /** A thumbnail of an imported file, on the same queue as uploads. */
  importThumbnail = (path: string): Promise<Buffer> =>
    this.processor.run(() => thumbnailOf(path, this.thumbnailLimits()), { owner: 'import' });

  private thumbnailLimits() {
    return { maxInputPixels: this.limits.maxInputPixels, size: this.limits.thumbnailSize };
  }
}
