import { originRefusal } from './allowed-origins.js';
import { downloadToFile } from './download.js';
import type { CloudProvider } from './provider.js';
import { S3Provider } from './s3.js';
import type { Config } from '../config.js';

export interface CloudLinkOptions {
  /** RESTORE_ALLOWED_HOSTS; null: the enabled providers' own origins. */
  allowedHosts: string[] | null;
  requireHttps: boolean;
  maxBytes: number;
  timeoutMs: number;
}

/**
 * What the server does with a stored cloud URL: whether it may be followed, the link a client is
 * shown, where /files redirects, and the download of restore and cleanup. Objects of the s3
 * bucket go through the SDK (presigned when the bucket is private); every other URL must be on
 * an allowed origin (scheme, host and port), checked at every use, since a stored URL may have
 * been edited.
 */
export class CloudLinks {
  private readonly s3: S3Provider | undefined;
  private readonly allowedHosts: string[];

  constructor(
    providers: readonly CloudProvider[],
    private readonly o: CloudLinkOptions,
  ) {
    this.s3 = providers.find((p): p is S3Provider => p instanceof S3Provider);
    this.allowedHosts = o.allowedHosts ?? [...new Set(providers.flatMap((p) => p.allowedHosts))];
  }

  /** Downloads a cloud copy into `path`, under the size and time limits. */
  download = (url: string, path: string): Promise<{ bytes: number; sha256: string }> =>
    this.s3?.holds(url)
      ? this.s3.download(url, path, { maxBytes: this.o.maxBytes, timeoutMs: this.o.timeoutMs })
      : downloadToFile(url, path, {
          allowedHosts: this.allowedHosts,
          requireHttps: this.o.requireHttps,
          maxBytes: this.o.maxBytes,
          timeoutMs: this.o.timeoutMs,
          maxRedirects: 3,
        });

  /** Whether a stored cloud URL is on an allowed origin, or an object of the s3 bucket. */
  allowed = (url: string): boolean =>
    this.s3?.holds(url) === true || originRefusal(url, this.allowedHosts, this.o.requireHttps) === null;

  /** The URL a client is shown: presigned for an object of a private s3 bucket, else as it is. */
  link = (url: string): Promise<string> => (this.s3?.holds(url) ? this.s3.linkFor(url) : Promise.resolve(url));

  /** Whether a stored cloud URL is public: anything but an object of a private s3 bucket. */
  isPublic = (url: string): boolean => !(this.s3?.isPrivate(url) ?? false);

  /** Where a client may be redirected for a stored cloud URL; null when refused. */
  redirect = async (url: string): Promise<string | null> =>
    this.s3?.holds(url) ? this.s3.linkFor(url) : this.allowed(url) ? url : null;
}

/** The links of the providers given, under RESTORE_ALLOWED_HOSTS, RESTORE_TIMEOUT_MS and the upload size limit. */
export function linksFromConfig(
  config: Pick<Config, 'restoreAllowedHosts' | 'isProduction' | 'limits' | 'restoreTimeoutMs'>,
  providers: readonly CloudProvider[],
): CloudLinks {
  return new CloudLinks(providers, {
    allowedHosts: config.restoreAllowedHosts,
    requireHttps: config.isProduction,
    maxBytes: config.limits.maxUploadBytes,
    timeoutMs: config.restoreTimeoutMs,
  });
}
