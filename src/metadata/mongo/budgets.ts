import { MongoServerError, type Collection, type Db, type Document } from 'mongodb';

/** `provider_budgets`: one document per provider and budget window (src/cloud/budget.ts). */
export interface BudgetDoc {
  _id: string;
  provider: string;
  window_start: Date;
  used: number;
}

const DUPLICATE_KEY = 11000;

export const budgetId = (provider: string, windowStart: Date): string => `${provider}:${windowStart.toISOString()}`;

/**
 * The conditional increment that takes one upload: it matches only while fewer than `limit` were
 * counted, and creates the window's document on its first upload. When the window is spent the
 * upsert collides with the existing `_id` (duplicate key): that means "spent", as does no match.
 */
export function takeBudgetUpdate(
  provider: string,
  windowStart: Date,
  limit: number,
): { filter: Document; update: Document } {
  return {
    filter: { _id: budgetId(provider, windowStart), used: { $lt: limit } },
    update: { $inc: { used: 1 }, $setOnInsert: { provider, window_start: windowStart } },
  };
}

export class MongoBudgets {
  readonly collection: Collection<BudgetDoc>;

  constructor(db: Db) {
    this.collection = db.collection<BudgetDoc>('provider_budgets');
  }

  async take(provider: string, windowStart: Date, limit: number): Promise<number | null> {
    const { filter, update } = takeBudgetUpdate(provider, windowStart, limit);
    try {
      const result = await this.collection.findOneAndUpdate(filter, update, {
        upsert: true,
        returnDocument: 'after',
        includeResultMetadata: true,
      });
      // A new window: the provider's earlier ones are of no use any more.
      if (result.lastErrorObject?.['upserted'] !== undefined)
        await this.collection.deleteMany({ provider, window_start: { $lt: windowStart } });
      return result.value?.used ?? null;
    } catch (e) {
      if (!(e instanceof MongoServerError && e.code === DUPLICATE_KEY)) throw e;
      // Spent, or two first uploads of a window raced to create it: once more, without creating.
      const again = await this.collection.findOneAndUpdate(filter, { $inc: { used: 1 } }, { returnDocument: 'after' });
      return again?.used ?? null;
    }
  }

  async used(provider: string, windowStart: Date): Promise<number> {
    return (await this.collection.findOne({ _id: budgetId(provider, windowStart) }))?.used ?? 0;
  }
}
