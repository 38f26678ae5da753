import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { failWith, overrideStore } from '../support/override-store.js';
import { loadConfig } from '../../src/config.js';
import { budgetWindow, parseBudget, ProviderBudget } from '../../src/cloud/budget.js';
import { budgetId, takeBudgetUpdate } from '../../src/metadata/mongo/budgets.js';

describe('budget windows', () => {
  it('are UTC minutes, hours, days and calendar months', () => {
    const now = new Date('2026-02-28T23:59:30.500Z');
    expect(budgetWindow('minute', now)).toEqual({
      start: new Date('2026-02-28T23:59:00Z'),
      end: new Date('2026-03-01T00:00:00Z'),
    });
    expect(budgetWindow('hour', now)).toEqual({
      start: new Date('2026-02-28T23:00:00Z'),
      end: new Date('2026-03-01T00:00:00Z'),
    });
    expect(budgetWindow('day', now)).toEqual({
      start: new Date('2026-02-28T00:00:00Z'),
      end: new Date('2026-03-01T00:00:00Z'),
    });
    expect(budgetWindow('month', now)).toEqual({
      start: new Date('2026-02-01T00:00:00Z'),
      end: new Date('2026-03-01T00:00:00Z'),
    });
    expect(budgetWindow('month', new Date('2026-12-31T12:00:00Z'))).toEqual({
      start: new Date('2026-12-01T00:00:00Z'),
      end: new Date('2027-01-01T00:00:00Z'),
    });
  });
});

describe('budget settings', () => {
  it('parse <uploads>/<window> or off, and refuse anything else with the accepted form', () => {
    expect(parseBudget('90/hour')).toEqual({ limit: 90, per: 'hour' });
    expect(parseBudget(' 4500 / Month ')).toEqual({ limit: 4500, per: 'month' });
    expect(parseBudget('off')).toBeNull();
    expect(parseBudget('unlimited')).toBeNull();
    for (const bad of ['90', '90/week', '-1/hour', '0/hour', 'lots/day', '1.5/day'])
      expect(typeof parseBudget(bad), bad).toBe('string');
  });

  it('default under the free hosts’ limits, none for s3, and a bad one stops the server naming the variable', () => {
    expect(loadConfig({}).cloud.budgets).toEqual({
      postimages: { limit: 90, per: 'hour' },
      imgbb: { limit: 4500, per: 'month' },
      s3: null,
    });
    expect(loadConfig({ S3_BUDGET: '10000/day', IMGBB_BUDGET: 'off' }).cloud.budgets).toMatchObject({
      s3: { limit: 10000, per: 'day' },
      imgbb: null,
    });
    expect(() => loadConfig({ POSTIMAGES_BUDGET: '100 per hour' })).toThrow(
      /POSTIMAGES_BUDGET="100 per hour": expected <uploads>\/<window>/,
    );
  });

  it('put s3 first in the default chain', () => {
    expect(loadConfig({}).cloud.providers).toEqual(['s3', 'postimages', 'imgbb']);
  });
});

describe('ProviderBudget', () => {
  let dir: string;
  let store: SqliteMetadataStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'his-budget-'));
    store = new SqliteMetadataStore({ path: join(dir, 'm.sqlite') });
    await store.init();
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is spent after its limit and opens again when the window rolls over', async () => {
    let now = new Date('2026-12-07T10:59:58Z');
    const budget = new ProviderBudget('POSTIMAGES', { limit: 2, per: 'hour' }, store, () => now);
    expect(await budget.take()).toEqual({ ok: true });
    expect(await budget.take()).toEqual({ ok: true });
    const spent = await budget.take();
    expect(spent).toEqual({
      ok: false,
      reason: 'budget spent: 2 uploads per hour used; resets at 2026-12-07T11:00:00.000Z',
      resetsAt: new Date('2026-12-07T11:00:00Z'),
    });
    expect(await budget.status()).toEqual({
      limit: 2,
      per: 'hour',
      used: 2,
      resetsAt: new Date('2026-12-07T11:00:00Z'),
    });
    now = new Date('2026-12-07T11:00:00Z');
    expect(await budget.take()).toEqual({ ok: true });
    expect(await budget.status()).toEqual({
      limit: 2,
      per: 'hour',
      used: 1,
      resetsAt: new Date('2026-12-07T12:00:00Z'),
    });
  });

  it('skips the provider when the count cannot be read', async () => {
    const broken = overrideStore(store, failWith(['takeBudget'], 'store down'));
    const answer = await new ProviderBudget('IMGBB', { limit: 5, per: 'day' }, broken).take();
    expect(answer).toMatchObject({ ok: false, reason: expect.stringMatching(/could not be checked \(store down\)/) });
  });
});

describe('MongoDB budget documents', () => {
  it('take one upload with a conditional upsert keyed by provider and window', () => {
    const w = new Date('2026-12-07T10:00:00Z');
    expect(budgetId('IMGBB', w)).toBe('IMGBB:2026-12-07T10:00:00.000Z');
    expect(takeBudgetUpdate('IMGBB', w, 3)).toEqual({
      filter: { _id: 'IMGBB:2026-12-07T10:00:00.000Z', used: { $lt: 3 } },
      update: { $inc: { used: 1 }, $setOnInsert: { provider: 'IMGBB', window_start: w } },
    });
  });
});
