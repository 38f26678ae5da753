import { expect, it } from 'vitest';
import { WakeSignal, type Change, type NewChange } from '../../src/metadata/change-log.js';
import { take } from '../support/changes.js';
import type { StoreRef } from './metadata-store.contract.js';

const change = (i: number, conversationId = 'c'.repeat(24)): NewChange => ({
  kind: i % 2 ? 'IMAGE_ADDED' : 'MESSAGE_ADDED',
  conversationId,
  userId: 'alice',
  messageId: i.toString(16).padStart(24, '0'),
  imageId: i % 2 ? i.toString(16).padStart(24, 'f') : null,
});

export function changeCases(ref: StoreRef): void {
  it('a tail gives the changes appended after it started, in order, each once, and goes on from a cursor it gave', async () => {
    await ref.store.appendChanges([change(100)]);
    const abort = new AbortController();
    const wake = new WakeSignal();
    const tail = ref.store.tailChanges({ signal: abort.signal, pollMs: 20, wake })[Symbol.asyncIterator]();
    const first = tail.next();
    // Let the tail fix where it starts before anything is appended (a reader's first read).
    await new Promise((r) => setTimeout(r, 300));
    await ref.store.appendChanges([change(1), change(2)]);
    wake.wake();
    await Promise.all([3, 4, 5].map((i) => ref.store.appendChanges([change(i)])));
    wake.wake();
    const got = [(await first).value as Change, ...(await take(tail, 4))];
    expect(got.map((c) => c.messageId)).toEqual([1, 2, 3, 4, 5].map((i) => i.toString(16).padStart(24, '0')));
    expect(got[0]).toMatchObject({
      kind: 'IMAGE_ADDED',
      conversationId: 'c'.repeat(24),
      userId: 'alice',
      imageId: (1).toString(16).padStart(24, 'f'),
    });
    expect(got[1]).toMatchObject({ kind: 'MESSAGE_ADDED', imageId: null });
    expect(new Set(got.map((c) => c.cursor)).size).toBe(5);
    // Nothing more, and nothing again.
    expect(await take(tail, 1, 300)).toEqual([]);
    abort.abort();

    const resume = new AbortController();
    await ref.store.appendChanges([change(6)]);
    const resumedChanges = ref.store.tailChanges({ signal: resume.signal, pollMs: 20, wake, after: got[2]!.cursor });
    const resumed = resumedChanges[Symbol.asyncIterator]();
    expect((await take(resumed, 3)).map((c) => c.messageId)).toEqual(
      [4, 5, 6].map((i) => i.toString(16).padStart(24, '0')),
    );
    resume.abort();
  });

  it('a tail ends when its signal aborts, even while it waits', async () => {
    const abort = new AbortController();
    const tailChanges = ref.store.tailChanges({ signal: abort.signal, pollMs: 50, wake: new WakeSignal() });
    const tail = tailChanges[Symbol.asyncIterator]();
    const pending = tail.next();
    setTimeout(() => abort.abort(), 100);
    expect(await pending).toMatchObject({ done: true });
  });
}
