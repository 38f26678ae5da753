import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import type { BudgetSpec, BudgetStatus, ProviderBudget } from './budget.js';
import { ProviderError, type CloudCopy, type CloudProvider, type ProviderName, type UploadFile } from './provider.js';
import { messageOf } from '../domain/errors.js';
import type { StorageService } from '../domain/types.js';

export interface ChainOptions {
  /** Per attempt (CLOUD_TIMEOUT_MS). */
  timeoutMs: number;
  /** Attempts per provider per upload, the first included. */
  maxAttempts: number;
  /** Base of the exponential backoff between attempts; jittered. */
  backoffMs: number;
  /** Consecutive failures that open a provider's circuit. */
  breakAfter: number;
  /** How long an open circuit fails fast before letting one trial through. */
  halfOpenAfterMs: number;
  random?: () => number;
  /** A provider failed in a way that says it is set up wrong (never retried): tell the operator. */
  onMisconfigured?: (provider: ProviderName, reason: string) => void;
  /** Upload budgets of some providers (budget.ts): a spent one is skipped without a request. */
  budgets?: ProviderBudget[];
  /** A provider was skipped because its budget is spent (or could not be checked). */
  onBudgetSkip?: (provider: ProviderName, reason: string, resetsAt: Date) => void;
}

export interface ChainSuccess {
  ok: true;
  provider: ProviderName;
  copy: CloudCopy;
  /**
   * The thumbnail's copy on the same provider, when it keeps thumbnails and one was given; null
   * otherwise, or when that upload failed (`thumbnailError`): the original's copy stands either way.
   */
  thumbnail: CloudCopy | null;
  thumbnailError?: string;
  /** Reasons of the providers that failed before this one. */
  failures: { provider: ProviderName; reason: string }[];
}
export interface ChainFailure {
  ok: false;
  failures: { provider: ProviderName; reason: string }[];
  /**
   * Set when every provider was skipped for its budget alone: the earliest reset. Nothing failed,
   * so trying again before then is pointless and trying then is not a new attempt.
   */
  budgetsResetAt?: Date;
}

export interface ProviderHealth {
  name: ProviderName;
  enabled: boolean;
  circuit: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  uploads: number;
  failures: number;
  lastError: string | null;
  /** Its last failure said it is set up wrong (ProviderError.misconfigured); cleared by a success. */
  misconfigured: boolean;
  /** Its upload budget and what is used of the current window (shared by every process on the store); null: none. */
  budget: BudgetStatus | null;
}

interface Link {
  provider: CloudProvider;
  budget: ProviderBudget | null;
  policy: IPolicy;
  breaker: CircuitBreakerPolicy;
  uploads: number;
  failures: number;
  lastError: string | null;
  misconfigured: boolean;
}

const isRetryable = (e: unknown) => (e instanceof ProviderError && e.retryable) || e instanceof TaskCancelledError;

/**
 * Tries the providers in order. Each has its own policy: a timeout per attempt, bounded
 * retries with exponential backoff and jitter for retryable failures (network, 5xx, 429,
 * honouring Retry-After), never for other 4xx; and a circuit breaker, so a provider that is
 * down costs one fast failure instead of a timeout per upload.
 */
export class ProviderChain {
  private readonly links: Link[];
  private readonly onMisconfigured: ChainOptions['onMisconfigured'];
  private readonly onBudgetSkip: ChainOptions['onBudgetSkip'];
  private readonly timeoutMs: number;

  constructor(
    providers: CloudProvider[],
    private readonly disabled: ProviderName[],
    options: ChainOptions,
  ) {
    this.timeoutMs = options.timeoutMs;
    this.onMisconfigured = options.onMisconfigured;
    this.onBudgetSkip = options.onBudgetSkip;
    const random = options.random ?? Math.random;
    this.links = providers.map((provider) => {
      const breaker = circuitBreaker(handleWhen(isRetryable), {
        halfOpenAfter: options.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(options.breakAfter),
      });
      const backoff = new DelegateBackoff<{ attempt: number; result: { error?: unknown } }>((ctx) => {
        const error = ctx.result.error;
        const retryAfter = error instanceof ProviderError ? error.options.retryAfterMs : undefined;
        if (retryAfter !== undefined) return Math.min(retryAfter, options.timeoutMs);
        const base = options.backoffMs * 2 ** (ctx.attempt - 1);
        return base / 2 + random() * (base / 2);
      });
      const retries = retry(handleWhen(isRetryable), {
        maxAttempts: Math.max(0, options.maxAttempts - 1),
        backoff: backoff as never,
      });
      const perAttempt = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
      // The breaker sees the outcome of the whole retried call: one dead provider, one count.
      const budget = options.budgets?.find((b) => b.provider === provider.name) ?? null;
      return {
        provider,
        budget,
        policy: wrap(breaker, retries, perAttempt),
        breaker,
        uploads: 0,
        failures: 0,
        lastError: null,
        misconfigured: false,
      };
    });
  }

  get names(): ProviderName[] {
    return this.links.map((l) => l.provider.name);
  }

  /** The enabled providers in order, with their budget settings (for the start-up log). */
  get order(): { name: ProviderName; budget: BudgetSpec | null }[] {
    return this.links.map((l) => ({ name: l.provider.name, budget: l.budget?.spec ?? null }));
  }

  providerNamed(name: ProviderName): CloudProvider | undefined {
    return this.links.find((l) => l.provider.name === name)?.provider;
  }

  /** Whether the service's provider is enabled here and offers deletion (ImgBB's API does not). */
  canDelete(service: StorageService): boolean {
    return service !== 'LOCAL' && typeof this.providerNamed(service)?.delete === 'function';
  }

  /**
   * Deletes a cloud copy at the provider that holds it, within one attempt's timeout (the deletion
   * worker retries). A service with no deletion here fails as not retryable.
   */
  async delete(service: StorageService, copy: { url: string; deleteUrl: string }): Promise<void> {
    const provider = service === 'LOCAL' ? undefined : this.providerNamed(service);
    if (!provider?.delete) throw new ProviderError(`${service} offers no deletion here`, false);
    await provider.delete(
      { url: copy.url, deleteUrl: copy.deleteUrl, providerId: null },
      AbortSignal.timeout(this.timeoutMs),
    );
  }

  /**
   * Uploads to the first provider that takes the file. `thumbnail` is read only when that
   * provider keeps thumbnails, and goes to the same provider under the same policy. `avoid`: a
   * provider tried last (one that altered this image's earlier copy).
   */
  async upload(
    file: UploadFile,
    o: { thumbnail?: () => Promise<UploadFile | null>; avoid?: ProviderName } = {},
  ): Promise<ChainSuccess | ChainFailure> {
    const failures: { provider: ProviderName; reason: string }[] = [];
    let budgetsResetAt: Date | null = null;
    let onlyBudgets = true;
    const links = o.avoid
      ? [
          ...this.links.filter((l) => l.provider.name !== o.avoid),
          ...this.links.filter((l) => l.provider.name === o.avoid),
        ]
      : this.links;
    for (const link of links) {
      // The budget first: a spent provider gets no request at all (nor a count against its circuit).
      // An open circuit sends nothing either, so it takes nothing from the budget.
      if (link.budget && link.breaker.state !== CircuitState.Open && link.breaker.state !== CircuitState.Isolated) {
        const taken = await link.budget.take();
        if (!taken.ok) {
          failures.push({ provider: link.provider.name, reason: taken.reason });
          if (budgetsResetAt === null || taken.resetsAt < budgetsResetAt) budgetsResetAt = taken.resetsAt;
          this.onBudgetSkip?.(link.provider.name, taken.reason, taken.resetsAt);
          continue;
        }
      }
      onlyBudgets = false;
      try {
        const copy = await link.policy.execute(({ signal }) => link.provider.upload(file, signal));
        link.uploads++;
        link.misconfigured = false;
        const success: ChainSuccess = { ok: true, provider: link.provider.name, copy, thumbnail: null, failures };
        if (!link.provider.keepsThumbnails || !o.thumbnail) return success;
        try {
          const thumb = await o.thumbnail();
          if (thumb) success.thumbnail = await link.policy.execute(({ signal }) => link.provider.upload(thumb, signal));
        } catch (e) {
          success.thumbnailError = describe(e);
        }
        return success;
      } catch (e) {
        const reason = describe(e);
        link.failures++;
        link.lastError = reason;
        if (e instanceof ProviderError && e.misconfigured) {
          link.misconfigured = true;
          this.onMisconfigured?.(link.provider.name, reason);
        }
        failures.push({ provider: link.provider.name, reason });
      }
    }
    return onlyBudgets && budgetsResetAt !== null ? { ok: false, failures, budgetsResetAt } : { ok: false, failures };
  }

  async health(): Promise<ProviderHealth[]> {
    const budgets = await Promise.all(this.links.map((l) => (l.budget ? l.budget.status() : null)));
    const enabled = this.links.map((l, i) => ({
      name: l.provider.name,
      enabled: true,
      circuit: circuitName(l.breaker.state),
      uploads: l.uploads,
      failures: l.failures,
      lastError: l.lastError,
      misconfigured: l.misconfigured,
      budget: budgets[i] ?? null,
    }));
    const off = this.disabled.map((name) => ({
      name,
      enabled: false,
      circuit: 'CLOSED' as const,
      uploads: 0,
      failures: 0,
      lastError: null,
      misconfigured: false,
      budget: null,
    }));
    return [...enabled, ...off];
  }
}

function circuitName(state: CircuitState): ProviderHealth['circuit'] {
  if (state === CircuitState.Open || state === CircuitState.Isolated) return 'OPEN';
  if (state === CircuitState.HalfOpen) return 'HALF_OPEN';
  return 'CLOSED';
}

function describe(e: unknown): string {
  if (e instanceof BrokenCircuitError) return 'circuit open: the provider failed repeatedly and is skipped for now';
  if (e instanceof TaskCancelledError) return 'timed out';
  return messageOf(e);
}
