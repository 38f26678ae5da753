import pLimit from 'p-limit';

/**
 * A queue for CPU-heavy image work, sized to the cores: uploads wait their turn instead of
 * piling decodes onto the thread pool, so other requests keep being served and memory stays
 * bounded by the number of images in flight.
 */
export class ImageProcessor {
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(options: { concurrency: number }) {
    this.limit = pLimit(Math.max(1, options.concurrency));
  }

  /** How many jobs run at once. */
  get concurrency(): number {
    return this.limit.concurrency;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.limit(fn);
  }

  get active(): number {
    return this.limit.activeCount;
  }

  get pending(): number {
    return this.limit.pendingCount;
  }
}
