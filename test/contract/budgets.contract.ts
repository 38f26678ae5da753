import { expect, it } from 'vitest';
import { at } from '../support/factories.js';
import type { StoreRef } from './metadata-store.contract.js';

export function budgetCases(ref: StoreRef): void {
  it('takeBudget counts up to the limit, then refuses; budgetUsed reads the count', async () => {
    const window = at(3_600_000);
    expect(await ref.store.budgetUsed('IMGBB', window)).toBe(0);
    expect(await ref.store.takeBudget('IMGBB', window, 3)).toBe(1);
    expect(await ref.store.takeBudget('IMGBB', window, 3)).toBe(2);
    expect(await ref.store.takeBudget('IMGBB', window, 3)).toBe(3);
    expect(await ref.store.takeBudget('IMGBB', window, 3)).toBeNull();
    expect(await ref.store.takeBudget('IMGBB', window, 3)).toBeNull();
    expect(await ref.store.budgetUsed('IMGBB', window)).toBe(3);
    // Another provider, and the next window, count apart.
    expect(await ref.store.takeBudget('POSTIMAGES', window, 3)).toBe(1);
    const next = at(7_200_000);
    expect(await ref.store.takeBudget('IMGBB', next, 3)).toBe(1);
    expect(await ref.store.budgetUsed('IMGBB', next)).toBe(1);
    // A raised limit lets the spent window go on.
    expect(await ref.store.takeBudget('POSTIMAGES', window, 1)).toBeNull();
    expect(await ref.store.takeBudget('POSTIMAGES', window, 5)).toBe(2);
  });

  it('concurrent takes never pass the limit', async () => {
    const window = at(0);
    const taken = await Promise.all(Array.from({ length: 25 }, () => ref.store.takeBudget('S3', window, 10)));
    expect(taken.filter((n) => n !== null).sort((a, b) => a! - b!)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    expect(await ref.store.budgetUsed('S3', window)).toBe(10);
  });
}
