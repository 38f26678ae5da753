import type { Config } from '../config.js';
import { originOf } from './allowed-origins.js';
import { ImgbbProvider } from './imgbb.js';
import { PostImagesProvider } from './postimages.js';
import { providerOfSetting, type CloudProvider, type ProviderName } from './provider.js';
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
