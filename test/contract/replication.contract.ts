import { expect, it } from 'vitest';
import type { ImageRecord } from '../../src/domain/types.js';
import type { ClaimArgs, MetadataStore } from '../../src/metadata/metadata-store.js';
import { at, makeConversation, makeImage, makeMessage, type ImageOverrides } from '../support/factories.js';
import type { StoreRef } from './metadata-store.contract.js';

const NOW = at(60_000);
const LEASE_MS = 30_000;

/** Stores one message holding an image per override and returns the images. */
export async function seedQueue(store: MetadataStore, overrides: ImageOverrides[]): Promise<ImageRecord[]> {
  const conversation = makeConversation();
  await store.createConversation(conversation);
  const message = makeMessage(conversation);
  const images = overrides.map((o, i) => makeImage(message, { uploadedAt: at(i), ...o }));
  await store.addMessage({ ...message, images });
  return images;
}

/** Claims in small batches until the queue answers nothing, as a replication worker would. */
export async function drain(store: MetadataStore, leaseOwner: string, limit: number, now = NOW): Promise<string[]> {
  const claimed: string[] = [];
  for (;;) {
    const batch = await store.claimDueImages({ now, leaseOwner, leaseMs: LEASE_MS, limit });
    if (batch.length === 0) return claimed;
    expect(batch.length).toBeLessThanOrEqual(limit);
    for (const image of batch) expect(image.replication.leaseOwner).toBe(leaseOwner);
    claimed.push(...batch.map((i) => i.id));
  }
}

/** Two or more claimers together received every due image exactly once. */
export function expectDisjointAndComplete(claims: string[][], due: readonly ImageRecord[]): void {
  const all = claims.flat();
  expect(new Set(all).size).toBe(all.length);
  expect([...all].sort()).toEqual(due.map((i) => i.id).sort());
}

export function replicationCases(ref: StoreRef): void {
  const claim = (o: Partial<ClaimArgs> = {}) =>
    ref.store.claimDueImages({ now: NOW, leaseOwner: 'w1', leaseMs: LEASE_MS, limit: 100, ...o });

  it('claims only due PENDING and RETRYING images whose lease is free or expired, and leases them', async () => {
    const [pending, retryingDue, retryingAtNow, expiredLease, ...notDue] = await seedQueue(ref.store, [
      { replication: { status: 'PENDING' } },
      { replication: { status: 'RETRYING', attempts: 2, nextAttemptAt: at(1_000), lastError: 'HTTP 500' } },
      { replication: { status: 'RETRYING', nextAttemptAt: NOW } },
      { replication: { status: 'PENDING', leaseOwner: 'crashed', leaseUntil: NOW } },
      { replication: { status: 'RETRYING', nextAttemptAt: at(60_001) } },
      { replication: { status: 'PENDING', leaseOwner: 'busy', leaseUntil: at(60_001) } },
      { replication: { status: 'REPLICATED' }, cloudUrl: 'https://i.postimg.cc/x.png', service: 'POSTIMAGES' },
      { replication: { status: 'LOCAL_ONLY' } },
    ]);
    const due = [pending!, retryingDue!, retryingAtNow!, expiredLease!];
    const lease = { leaseOwner: 'w1', leaseUntil: new Date(NOW.getTime() + LEASE_MS) };
    const expected = due.map((i) => ({ ...i, replication: { ...i.replication, ...lease } }));

    const claimed = await claim();
    expect([...claimed].sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...expected].sort((a, b) => a.id.localeCompare(b.id)),
    );
    const stored = await ref.store.getImagesByIds(due.map((i) => i.id));
    for (const image of stored) expect(image.replication).toMatchObject(lease);
    const untouched = await ref.store.getImagesByIds(notDue.map((i) => i.id));
    expect(untouched.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...notDue].sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it('counts the queue (PENDING and RETRYING) over every owner, and follows it as images leave it', async () => {
    expect(await ref.store.countPendingReplication()).toBe(0);
    const [pending, retrying] = await seedQueue(ref.store, [
      { replication: { status: 'PENDING' } },
      { replication: { status: 'RETRYING', attempts: 1, nextAttemptAt: at(90_000) } },
      { replication: { status: 'REPLICATED' }, cloudUrl: 'https://i.postimg.cc/x.png', service: 'POSTIMAGES' },
      { replication: { status: 'LOCAL_ONLY' } },
    ]);
    const conversation = makeConversation({ userId: 'bob' });
    await ref.store.createConversation(conversation);
    const message = makeMessage(conversation);
    await ref.store.addMessage({ ...message, images: [makeImage(message, { replication: { status: 'PENDING' } })] });
    expect(await ref.store.countPendingReplication()).toBe(3);
    // A lease does not take an image out of the queue: only its outcome does.
    expect(await claim({ limit: 1 })).toHaveLength(1);
    expect(await ref.store.countPendingReplication()).toBe(3);
    await ref.store.updateImage(pending!.id, {
      replication: { status: 'REPLICATED' },
      cloudUrl: 'https://i.postimg.cc/y.png',
      service: 'POSTIMAGES',
    });
    expect(await ref.store.removeImage(retrying!.id)).toBe(true);
    expect(await ref.store.countPendingReplication()).toBe(1);
  });

  it('does not hand out a leased image again before the lease expires', async () => {
    const images = await seedQueue(ref.store, [{}, {}, {}]);
    expect(await claim({ leaseOwner: 'w1' })).toHaveLength(3);
    expect(await claim({ leaseOwner: 'w2' })).toEqual([]);
    expect(await claim({ leaseOwner: 'w2', now: new Date(NOW.getTime() + LEASE_MS - 1) })).toEqual([]);

    const later = new Date(NOW.getTime() + LEASE_MS);
    const reclaimed = await claim({ leaseOwner: 'w2', now: later });
    expect(reclaimed.map((i) => i.id).sort()).toEqual(images.map((i) => i.id).sort());
    for (const image of reclaimed) {
      expect(image.replication.leaseOwner).toBe('w2');
      expect(image.replication.leaseUntil).toEqual(new Date(later.getTime() + LEASE_MS));
    }
    // The worker that lost the lease can no longer write its result.
    expect(
      await ref.store.updateImage(images[0]!.id, { replication: { status: 'REPLICATED' } }, { leaseOwner: 'w1' }),
    ).toBe(false);
  });

  it('respects limit and eventually hands out every due image once', async () => {
    const images = await seedQueue(
      ref.store,
      Array.from({ length: 5 }, () => ({})),
    );
    const batches = [
      await claim({ limit: 2 }),
      await claim({ limit: 2 }),
      await claim({ limit: 2 }),
      await claim({ limit: 2 }),
    ];
    expect(batches.map((b) => b.length)).toEqual([2, 2, 1, 0]);
    expectDisjointAndComplete([batches.flat().map((i) => i.id)], images);
  });

  it('gives two concurrent claimers disjoint sets that together cover every due image', async () => {
    const due = await seedQueue(
      ref.store,
      Array.from({ length: 30 }, () => ({})),
    );
    await seedQueue(ref.store, [{ replication: { status: 'REPLICATED' } }, { replication: { status: 'LOCAL_ONLY' } }]);

    const whole = await Promise.all([claim({ leaseOwner: 'a', limit: 20 }), claim({ leaseOwner: 'b', limit: 20 })]);
    expectDisjointAndComplete(
      whole.map((batch) => batch.map((i) => i.id)),
      due,
    );

    // Again in small batches racing each other, after every lease above has expired.
    const later = new Date(NOW.getTime() + LEASE_MS);
    const drained = await Promise.all([drain(ref.store, 'c', 3, later), drain(ref.store, 'd', 3, later)]);
    expectDisjointAndComplete(drained, due);
  });

  it('a limit of zero or less claims nothing and leases nothing (SQL reads LIMIT -1 as no limit)', async () => {
    const [image] = await seedQueue(ref.store, [{}]);
    expect(await claim({ limit: 0 })).toEqual([]);
    expect(await claim({ limit: -1 })).toEqual([]);
    expect(await ref.store.getImagesByIds([image!.id])).toEqual([image]);
    expect((await claim({ leaseOwner: 'w2', limit: 1 })).map((i) => i.id)).toEqual([image!.id]);
  });

  it('an empty patch writes nothing and answers whether the record exists, and with a guard whether it is held', async () => {
    const [image] = await seedQueue(ref.store, [{}]);
    expect(await ref.store.updateImage(image!.id, {})).toBe(true);
    expect(await ref.store.updateImage('ffffffffffffffffffffffff', {})).toBe(false);
    expect(await ref.store.updateImage(image!.id, {}, { leaseOwner: 'w1' })).toBe(false);

    const [leased] = await claim({ limit: 1 });
    expect(await ref.store.updateImage(image!.id, {}, { leaseOwner: 'w1' })).toBe(true);
    expect(await ref.store.updateImage(image!.id, {}, { leaseOwner: 'w2' })).toBe(false);
    expect(await ref.store.getImagesByIds([image!.id])).toEqual([leased]);
  });
}
