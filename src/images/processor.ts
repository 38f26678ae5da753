/**
 * A queue for CPU-heavy image work, sized to the cores: uploads wait their turn instead of
 * piling decodes onto the thread pool, so other requests keep being served and memory stays
 * bounded by the number of images in flight.
 *
 * It is also fair, because one upload can cost a hundred times another (a 100 MP animation
 * against a 2 KB JPEG) and a job cannot be interrupted once it runs:
 * - Heavy jobs never take the last slot: with two or more slots, one is always left for light
 *   ones, so a small upload never waits behind big ones, however many users send them.
 * - Among the jobs waiting, the next to start is the oldest of the owner who has the fewest
 *   running, and among those the one served longest ago: owners take turns, so one user's
 *   burst of uploads is interleaved with everyone else's, not ahead of it.
 *
 * p-limit (which this replaced) runs jobs strictly in arrival order; what is needed here is a
 * choice of which job goes next, which no small well-known library offers.
 */
export interface JobOptions {
  /** Whose job this is: the uploading user, or a name for background work. */
  owner?: string;
  /** A job far above the usual cost (see HEAVY_JOB_PIXELS in core.ts). */
  heavy?: boolean;
}

interface Job {
  owner: string;
  heavy: boolean;
  start: () => void;
}

export class ImageProcessor {
  readonly concurrency: number;
  private readonly waiting: Job[] = [];
  private readonly runningBy = new Map<string, number>();
  private running = 0;
  private runningHeavy = 0;
  /** When each owner with work queued or running last had a job started (a counter, not a time). */
  private readonly lastStart = new Map<string, number>();
  private starts = 0;

  constructor(options: { concurrency: number }) {
    this.concurrency = Math.max(1, options.concurrency);
  }

  /** Heavy jobs that may run at once: all slots but one, when there are two or more. */
  get heavySlots(): number {
    return Math.max(1, this.concurrency - 1);
  }

  run<T>(fn: () => Promise<T>, options: JobOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        owner: options.owner ?? '',
        heavy: options.heavy ?? false,
        start: () => {
          this.running++;
          if (job.heavy) this.runningHeavy++;
          this.lastStart.set(job.owner, ++this.starts);
          this.runningBy.set(job.owner, (this.runningBy.get(job.owner) ?? 0) + 1);
          const done = () => {
            this.running--;
            if (job.heavy) this.runningHeavy--;
            const n = (this.runningBy.get(job.owner) ?? 1) - 1;
            if (n === 0) this.runningBy.delete(job.owner);
            else this.runningBy.set(job.owner, n);
            if (n === 0 && !this.waiting.some((w) => w.owner === job.owner)) this.lastStart.delete(job.owner);
            this.next();
          };
          // A job that throws synchronously still frees its slot.
          Promise.resolve().then(fn).then(resolve, reject).finally(done);
        },
      };
      this.waiting.push(job);
      this.next();
    });
  }

  get active(): number {
    return this.running;
  }

  get pending(): number {
    return this.waiting.length;
  }

  private next(): void {
    while (this.running < this.concurrency) {
      let best = -1;
      for (let i = 0; i < this.waiting.length; i++) {
        const job = this.waiting[i] as Job;
        if (job.heavy && this.runningHeavy >= this.heavySlots) continue;
        if (best === -1 || this.before(job.owner, (this.waiting[best] as Job).owner)) best = i;
      }
      if (best === -1) return;
      const [job] = this.waiting.splice(best, 1);
      job?.start();
    }
  }

  /** Whether `a`'s turn comes before `b`'s: fewer jobs running, then served longer ago. */
  private before(a: string, b: string): boolean {
    const ra = this.runningBy.get(a) ?? 0;
    const rb = this.runningBy.get(b) ?? 0;
    if (ra !== rb) return ra < rb;
    return (this.lastStart.get(a) ?? 0) < (this.lastStart.get(b) ?? 0);
  }
}
