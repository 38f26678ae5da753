/*
 * Upload budgets per provider: at most `limit` uploads per window (a UTC minute, hour, day or
 * calendar month), counted in the metadata store so every server process on one store shares
 * the count and a restart keeps it. The chain takes a unit before it sends a provider an upload
 * and skips a provider whose window is spent, without a request. Every upload sent counts,
 * whether the host then takes it or not: a host counts what it receives, and a budget is there
 * to keep a key from being banned. An image's thumbnail travels with it and is not counted.
 */
import type { ProviderName } from './provider.js';
import { messageOf } from '../domain/errors.js';

export const BUDGET_WINDOWS = ['minute', 'hour', 'day', 'month'] as const;
export type BudgetWindow = (typeof BUDGET_WINDOWS)[number];

export interface BudgetSpec {
  limit: number;
  per: BudgetWindow;
}

/** Where the counts live (the metadata store implements it). */
export interface BudgetCounter {
  /**
   * Adds one upload to `provider`'s window starting at `windowStart` if fewer than `limit` were
   * counted, atomically across processes: the new count, or null when the window was spent.
   */
  takeBudget(provider: string, windowStart: Date, limit: number): Promise<number | null>;
  /** Uploads counted in that window so far (0 for a window never used). */
  budgetUsed(provider: string, windowStart: Date): Promise<number>;
}

export interface BudgetStatus {
  limit: number;
  per: BudgetWindow;
  used: number;
  /** When the current window ends and the count starts again from 0. */
  resetsAt: Date;
}

/** The window (UTC) that `now` falls in. */
export function budgetWindow(per: BudgetWindow, now: Date): { start: Date; end: Date } {
  const t = now.getTime();
  switch (per) {
    case 'minute':
      return fixed(t, 60_000);
    case 'hour':
      return fixed(t, 3_600_000);
    case 'day':
      return fixed(t, 86_400_000);
    case 'month': {
      const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      return { start: new Date(start), end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) };
    }
  }
}

function fixed(t: number, size: number): { start: Date; end: Date } {
  const start = t - (t % size);
  return { start: new Date(start), end: new Date(start + size) };
}

/** `90/hour`, `4500/month`; `off` (or `none`, `unlimited`) for no budget. */
export function parseBudget(text: string): BudgetSpec | null | string {
  const s = text.trim().toLowerCase();
  if (s === 'off' || s === 'none' || s === 'unlimited') return null;
  const m = /^(\d{1,9})\s*\/\s*(minute|hour|day|month)$/.exec(s);
  if (!m) return `expected <uploads>/<window> (window: ${BUDGET_WINDOWS.join(', ')}), for example 90/hour, or off`;
  const limit = Number(m[1]);
  if (limit < 1) return 'a budget allows at least 1 upload per window (use off for none)';
  return { limit, per: m[2] as BudgetWindow };
}

export type BudgetAnswer = { ok: true } | { ok: false; reason: string; resetsAt: Date };

/** One provider's budget over a counter. */
export class ProviderBudget {
  constructor(
    readonly provider: ProviderName,
    readonly spec: BudgetSpec,
    private readonly counter: BudgetCounter,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Takes one upload of the current window, or says why not and when the window resets. */
  async take(): Promise<BudgetAnswer> {
    const { start, end } = budgetWindow(this.spec.per, this.clock());
    let used: number | null;
    try {
      used = await this.counter.takeBudget(this.provider, start, this.spec.limit);
    } catch (e) {
      // Not knowing the count is not a licence to send: the provider is skipped this time.
      return { ok: false, reason: `budget could not be checked (${messageOf(e)}): skipped`, resetsAt: end };
    }
    if (used !== null) return { ok: true };
    return {
      ok: false,
      reason: `budget spent: ${this.spec.limit} uploads per ${this.spec.per} used; resets at ${end.toISOString()}`,
      resetsAt: end,
    };
  }

  async status(): Promise<BudgetStatus> {
    const { start, end } = budgetWindow(this.spec.per, this.clock());
    const used = await this.counter.budgetUsed(this.provider, start);
    return { limit: this.spec.limit, per: this.spec.per, used: Math.min(used, this.spec.limit), resetsAt: end };
  }
}
