/**
 * Polls `read` until `done` holds or `ms` pass, and returns the last value read: the caller
 * asserts on it, so a timeout fails with what was last seen rather than a bare "timed out".
 * For work that lands in the background (replication, deletion jobs, a sweep's log line).
 */
export async function eventually<T>(
  read: () => Promise<T> | T,
  done: (v: T) => boolean,
  ms = 10_000,
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until `check` holds; throws after `ms`. */
export async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  if (!(await eventually(check, (ok) => ok, ms))) throw new Error(`timed out after ${ms} ms`);
}
