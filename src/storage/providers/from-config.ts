import type { Config } from '../../config.js';
import { originOf } from '../allowed-origins.js';
import { ImgbbProvider } from './imgbb.js';
import { PostImagesProvider } from './postimages.js';
import type { CloudProvider, ProviderName } from './provider.js';

/**
 * The providers of CLOUD_PROVIDERS, in that order; one without its API key is skipped and
 * reported as disabled. Cloud URLs must be on the provider's image host or its API's own
 * origin, port included (what a self-hosted or emulated endpoint serves from); https only in production.
 */
export function providersFromConfig(config: Config): { enabled: CloudProvider[]; disabled: ProviderName[] } {
  const enabled: CloudProvider[] = [];
  const disabled: ProviderName[] = [];
  const requireHttps = config.isProduction;
  const timeoutMs = config.cloud.timeoutMs;
  for (const name of config.cloud.providers) {
    if (name === 'postimages') {
      const { apiKey, apiUrl } = config.cloud.postimages;
      if (apiKey) enabled.push(new PostImagesProvider({ apiKey, apiUrl, timeoutMs, requireHttps, extraHosts: [originOf(apiUrl)] }));
      else disabled.push('POSTIMAGES');
    } else {
      const { apiKey, apiUrl, expirationSeconds } = config.cloud.imgbb;
      if (apiKey) enabled.push(new ImgbbProvider({ apiKey, apiUrl, expirationSeconds, timeoutMs, requireHttps, extraHosts: [originOf(apiUrl)] }));
      else disabled.push('IMGBB');
    }
  }
  return { enabled, disabled };
}
