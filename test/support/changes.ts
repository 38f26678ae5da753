import type { Change } from '../../src/metadata/change-log.js';

/** Up to `count` changes from a tail, or fewer if none comes for `ms` (a tail never ends by itself). */
export async function take(tail: AsyncIterator<Change>, count: number, ms = 5000): Promise<Change[]> {
  const out: Change[] = [];
  while (out.length < count) {
    const next = await Promise.race([tail.next(), new Promise<null>((r) => setTimeout(() => r(null), ms))]);
    if (!next || next.done) break;
    out.push(next.value);
  }
  return out;
}
