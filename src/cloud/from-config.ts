import type { Config } from '../config.js';
import { originOf } from './allowed-origins.js';
import { ImgbbProvider } from './imgbb.js';
import { PostImagesProvider } from './postimages.js';
import { S3Provider } from './s3.js';
import type { CloudProvider, ProviderName } from './provider.js';

/**
 * The providers of CLOUD_PROVIDERS, in that order; one without its API key (s3: S3_BUCKET) is skipped and
 * reported as disabled. Cloud URLs must be on the provider's image host or its API's own
 * origin, port included (what a self-hosted or emulated endpoint serves from); https only in production.
 */
export function providersFromConfig(config: Config): { enabled: CloudProvider[]; disabled: ProviderName[] } {
  const enabled: CloudProvider[] = [];
  const disabled: ProviderName[] = [];
  const requireHttps = config.isProduction;
  const timeoutMs = config.cloud.timeoutMs;
  for (const name of config.cloud.providers) {
    switch (name) {
      case 'postimages': {
        const { apiKey, apiUrl } = config.cloud.postimages;
        if (apiKey)
          enabled.push(
            new PostImagesProvider({ apiKey, apiUrl, timeoutMs, requireHttps, extraHosts: [originOf(apiUrl)] }),
          );
        else disabled.push('POSTIMAGES');
        break;
      }
      case 'imgbb': {
        const { apiKey, apiUrl, expirationSeconds } = config.cloud.imgbb;
        if (apiKey)
          enabled.push(
            new ImgbbProvider({
              apiKey,
              apiUrl,
              expirationSeconds,
              timeoutMs,
              requireHttps,
              extraHosts: [originOf(apiUrl)],
            }),
          );
        else disabled.push('IMGBB');
        break;
      }
      case 's3': {
        const s3 = config.cloud.s3;
        if (s3) enabled.push(new S3Provider({ ...s3, timeoutMs, requireHttps }));
        else disabled.push('S3');
        break;
      }
    }
  }
  return { enabled, disabled };
}
