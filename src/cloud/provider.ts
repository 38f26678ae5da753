import { AttemptError } from '../domain/errors.js';
import { originRefusal } from './allowed-origins.js';
/**
 * The port every cloud image host implements. The replication chain only sees this
 * interface, so a new host is one new file (the unstorage driver model).
 */

/** Upper-case on purpose: it is the value stored with each cloud copy, not the config token. */
export type ProviderName = 'POSTIMAGES' | 'IMGBB' | 'S3';
/** How CLOUD_PROVIDERS and the `<PROVIDER>_BUDGET` settings spell a provider. */
export type ProviderSetting = Lowercase<ProviderName>;

/** The provider a setting names. */
export function providerOfSetting(setting: ProviderSetting): ProviderName {
  return setting.toUpperCase() as Uppercase<ProviderSetting>;
}

/** How the settings spell a provider. */
export function settingOf(name: ProviderName): ProviderSetting {
  return name.toLowerCase() as Lowercase<ProviderName>;
}

export interface UploadFile {
  data: Buffer;
  /** e.g. img_20260101_120000_ab12cd34.jpg */
  fileName: string;
  mimeType: string;
  sha256: string;
  /** The image's owner: providers that name objects themselves (s3) keep each owner's under its own prefix. */
  ownerId?: string;
  /**
   * Set for a file made from an original (its thumbnail): the original's SHA-256. Providers that
   * keep thumbnails name the file after it, next to the original's copy; `sha256` is the file's own.
   */
  thumbnailOf?: string;
}

export interface CloudCopy {
  url: string;
  deleteUrl: string | null;
  providerId: string | null;
}

export interface CloudProvider {
  readonly name: ProviderName;
  /** Origins a cloud URL of this provider may be on: `host`, `host:port` or `scheme://host:port` (src/cloud/allowed-origins.ts). */
  readonly allowedHosts: readonly string[];
  /**
   * Whether an image's thumbnail is uploaded here too, right after the original (s3: one bucket,
   * deletable, so cleanup may evict both local files). The free hosts keep originals only.
   */
  readonly keepsThumbnails?: boolean;
  upload(file: UploadFile, signal: AbortSignal): Promise<CloudCopy>;
  /** Absent when the provider offers no deletion API (ImgBB: its delete_url is a web page). */
  delete?(copy: CloudCopy, signal: AbortSignal): Promise<void>;
}

export interface ProviderErrorOptions {
  status?: number;
  retryAfterMs?: number;
  cause?: unknown;
  /** The provider is set up wrong (a bucket that does not exist, refused credentials): an operator must act. */
  misconfigured?: boolean;
}

/** A failed attempt. retryable: network errors, timeouts, 5xx and 429; never other 4xx or bad answers. */
export class ProviderError extends AttemptError {
  override name = 'ProviderError';
  readonly options: ProviderErrorOptions;

  constructor(message: string, retryable: boolean, options: ProviderErrorOptions = {}) {
    super(message, retryable, options.cause === undefined ? undefined : { cause: options.cause });
    this.options = options;
  }

  get status(): number | undefined {
    return this.options.status;
  }

  get retryAfterMs(): number | undefined {
    return this.options.retryAfterMs;
  }

  get misconfigured(): boolean {
    return this.options.misconfigured === true;
  }
}

/**
 * A provider answer is untrusted input: a URL we store and later hand to clients must be on
 * one of the provider's own origins (scheme, host and port; src/cloud/allowed-origins.ts),
 * or a compromised/misbehaving endpoint could plant any link, or one into our own network.
 */
export function checkCloudUrl(url: string, allowedHosts: readonly string[], requireHttps: boolean): string {
  const refused = originRefusal(url, allowedHosts, requireHttps);
  if (refused) throw new ProviderError(`the provider returned a URL that is refused: ${refused}`, false);
  return new URL(url).toString();
}
