import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { originOf } from './allowed-origins.js';
import { ProviderBudget, type BudgetCounter } from './budget.js';
import { ProviderChain } from './chain.js';
import { ImgbbProvider } from './imgbb.js';
import { PostImagesProvider } from './postimages.js';
import { providerOfSetting, settingOf, type CloudProvider, type ProviderName } from './provider.js';
import { S3Provider } from './s3.js';

/** What every provider is built with, beside its own settings. */
interface Common {
  timeoutMs: number;
  requireHttps: boolean;
}

/** Builds a provider from its settings; null when they lack its key (s3: S3_BUCKET), so it is disabled. */
type ProviderFactory = (config: Config, common: Common) => CloudProvider | null;

/** One factory per provider: a new host is one file and one entry here. */
export const PROVIDER_FACTORIES: Record<ProviderName, ProviderFactory> = {
  POSTIMAGES: ({ cloud }, common) => {
    const { apiKey, apiUrl } = cloud.postimages;
    return apiKey ? new PostImagesProvider({ apiKey, apiUrl, ...common, extraHosts: [originOf(apiUrl)] }) : null;
  },
  IMGBB: ({ cloud }, common) => {
    const { apiKey, apiUrl, expirationSeconds } = cloud.imgbb;
    return apiKey
      ? new ImgbbProvider({ apiKey, apiUrl, expirationSeconds, ...common, extraHosts: [originOf(apiUrl)] })
      : null;
  },
  S3: ({ cloud }, common) => (cloud.s3 ? new S3Provider({ ...cloud.s3, ...common }) : null),
};

/**
 * The providers of CLOUD_PROVIDERS, in that order; one without its API key (s3: S3_BUCKET) is skipped and
 * reported as disabled. Cloud URLs must be on the provider's image host or its API's own
 * origin, port included (what a self-hosted or emulated endpoint serves from); https only in production.
 */
export function providersFromConfig(config: Config): { enabled: CloudProvider[]; disabled: ProviderName[] } {
  const enabled: CloudProvider[] = [];
  const disabled: ProviderName[] = [];
  const common = { timeoutMs: config.cloud.timeoutMs, requireHttps: config.isProduction };
  for (const setting of config.cloud.providers) {
    const name = providerOfSetting(setting);
    const provider = PROVIDER_FACTORIES[name](config, common);
    if (provider) enabled.push(provider);
    else disabled.push(name);
  }
  return { enabled, disabled };
}

/**
 * The chain over the providers of CLOUD_PROVIDERS, with the settings' timeouts, retries, circuit
 * breaker and budgets (counted in the store, so every process on it shares each provider's
 * window). A misconfigured provider is logged at each failure; a spent budget once per provider
 * and window, not once per upload.
 */
export function chainFromConfig(
  config: Config,
  d: { store: BudgetCounter; clock: () => Date; log: Logger; onBudgetSkip?: (provider: ProviderName) => void },
): { chain: ProviderChain; providers: CloudProvider[] } {
  const { enabled, disabled } = providersFromConfig(config);
  const budgets = enabled.flatMap((p) => {
    const spec = config.cloud.budgets[settingOf(p.name)];
    return spec ? [new ProviderBudget(p.name, spec, d.store, d.clock)] : [];
  });
  const budgetLogged = new Map<string, number>();
  const chain = new ProviderChain(enabled, disabled, {
    timeoutMs: config.cloud.timeoutMs,
    maxAttempts: config.cloud.attempts,
    backoffMs: 250,
    breakAfter: config.cloud.breakAfter,
    halfOpenAfterMs: config.cloud.halfOpenAfterMs,
    onMisconfigured: (provider, reason) =>
      d.log.error(
        { provider, reason },
        'a cloud provider is misconfigured: not retried, the chain moves on; fix its settings',
      ),
    budgets,
    onBudgetSkip: (provider, reason, resetsAt) => {
      d.onBudgetSkip?.(provider);
      if (budgetLogged.get(provider) === resetsAt.getTime()) return;
      budgetLogged.set(provider, resetsAt.getTime());
      d.log.warn(
        { provider, reason, resetsAt },
        'a cloud provider is skipped: its upload budget for this window is spent',
      );
    },
  });
  return { chain, providers: enabled };
}

/**
 * What the providers do to their copies, for cleanup (which makes a cloud copy the only one):
 * ImgBB deletes its copy after IMGBB_EXPIRATION seconds, so such a copy is never the only one;
 * PostImages may re-encode what it stores (its terms), so its copy is compared first.
 */
export function copyTraits(config: Pick<Config, 'cloud'>): {
  expiringServices: ProviderName[];
  alteringServices: ProviderName[];
} {
  return { expiringServices: config.cloud.imgbb.expirationSeconds ? ['IMGBB'] : [], alteringServices: ['POSTIMAGES'] };
}
