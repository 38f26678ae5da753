/**
 * Runs `pass` in the background: again at once while it reports more work (or was kicked
 * meanwhile), otherwise after `intervalMs`. Never two passes at once; stop() waits for the
 * running one. The timer is unref'd, so a poller never keeps a process alive by itself.
 */
export class Poller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private again = false;

  constructor(
    private readonly pass: () => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Starts polling; the first pass runs after `firstDelayMs`. */
  start(firstDelayMs = 0): void {
    this.stopped = false;
    this.schedule(firstDelayMs);
  }

  /** Run a pass now (or right after the running one). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.loop().finally(() => {
        this.running = null;
      });
    }, ms);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    let more = false;
    try {
      more = await this.pass();
    } catch (err) {
      this.onError(err);
    }
    more ||= this.again;
    this.again = false;
    this.schedule(more ? 0 : this.intervalMs);
  }
}

/** Exponential backoff with half jitter, capped: attempt 1 waits base/2..base, then doubling. */
export function jitteredBackoff(attempts: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** (attempts - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** A service whose work a Poller runs in the background: start, wake and stop it. */
export abstract class PolledService {
  protected abstract readonly poller: Poller;

  start(): void {
    this.poller.start();
  }

  /** Look for work now (or right after the running pass). */
  kick(): void {
    this.poller.kick();
  }

  stop(): Promise<void> {
    return this.poller.stop();
  }
}

/**
 * Runs `work` while renewing its lease every third of `leaseMs`, so a job that takes longer
 * than its lease (a slow provider, retries) is never taken by a second worker meanwhile.
 * `renew` extends the lease only while this worker still holds it (a guarded store update);
 * when it reports the lease lost (the process was paused past the lease and another worker
 * took the job), renewing stops and `work` carries on: its own guarded writes then fail, and
 * it cleans up after itself (see ReplicationService.replicate).
 */
export async function withLeaseHeartbeat<T>(
  leaseMs: number,
  renew: () => Promise<boolean>,
  work: () => Promise<T>,
  onError: (err: unknown) => void,
): Promise<T> {
  let held = true;
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      if (!held) return;
      renewing = renew().then((ok) => {
        if (!ok) held = false;
      }, onError);
    },
    Math.max(10, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
    // No store call outlives the job (a late renewal could not re-take a released lease anyway: it is guarded).
    await renewing;
  }
}
