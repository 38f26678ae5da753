/*
 * An S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, MinIO, Ceph) through the AWS SDK
 * v3. Objects are content-addressed within the owner's prefix, `<S3_KEY_PREFIX><owner>/<sha256>.<ext>`,
 * so a retried upload writes the same object again instead of a second one. Each is written with
 * its SHA-256 (`ChecksumSHA256`: S3 refuses a body that does not match), its Content-Type and
 * `Cache-Control: public, max-age=31536000, immutable` (the key never holds other bytes).
 * Images are shown from S3_PUBLIC_BASE_URL (a public bucket or a CDN in front of it). Without
 * one the bucket is private: the copy is recorded as `s3://<bucket>/<key>` and every read turns
 * it into a presigned GET URL (linkFor), never stored, since a stored one would expire.
 *
 * The SDK is loaded on first use, so a deployment without the s3 provider never loads it. Its
 * own retries are off (maxAttempts 1): the chain's policy retries, as for the other providers.
 * Throttling (SlowDown, 503), server errors and network failures are retryable; AccessDenied,
 * NoSuchBucket and bad credentials are not, and mark the provider misconfigured.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { Config } from '../config.js';
import { originOf } from './allowed-origins.js';
import { streamToFile } from '../files/read-limited.js';
import { checkCloudUrl, type CloudCopy, type CloudProvider, ProviderError, type UploadFile } from './provider.js';

/** The S3_* settings as config.ts reads them (publicBaseUrl null: a private bucket), plus the chain's. */
export type S3Options = NonNullable<Config['cloud']['s3']> & { timeoutMs: number; requireHttps: boolean };

const EXT_BY_MIME: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/tiff': 'tiff',
};

/** Errors that say the provider is set up wrong: retrying cannot help, an operator must act. */
const MISCONFIGURED = new Set([
  'AccessDenied',
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'AuthorizationHeaderMalformed',
  'PermanentRedirect',
]);
const THROTTLED = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
]);

/** Presigned URLs kept per signing window; past this the cache starts over (memory stays bounded). */
const MAX_SIGNED_CACHED = 10_000;

/** Objects above this size are uploaded in parts of this size (lib-storage's multipart upload). */
export const MULTIPART_ABOVE_BYTES = 8 * 1024 * 1024;
const CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** The marker the S3 provider stores as a copy's delete URL: the object it wrote (server side only). */
const DELETE_SCHEME = 's3://';

export class S3Provider implements CloudProvider {
  readonly name = 'S3' as const;
  readonly keepsThumbnails = true;
  readonly allowedHosts: readonly string[];
  private client: Promise<{ s3: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> | null = null;
  private presigner: Promise<typeof import('@aws-sdk/s3-request-presigner').getSignedUrl> | null = null;
  /** Presigned URLs of the current signing window, by recorded URL. */
  private signed = new Map<string, Promise<string>>();
  private signedAt = 0;

  constructor(private readonly options: S3Options) {
    this.allowedHosts = options.publicBaseUrl ? [originOf(options.publicBaseUrl)] : [];
  }

  /** What a copy in this bucket is recorded as when the bucket is private. */
  private get marker(): string {
    return `${DELETE_SCHEME}${this.options.bucket}/`;
  }

  /**
   * The object key of an upload: content-addressed within the owner's prefix. A thumbnail is
   * named after its original: `<owner>/<sha256 of the original>.thumb.<ext>`.
   */
  keyFor(file: UploadFile): string {
    const sha256 = file.thumbnailOf ? `${file.thumbnailOf}.thumb` : digestOf(file);
    const ext = EXT_BY_MIME[file.mimeType] ?? (file.fileName.split('.').at(-1)?.toLowerCase() || 'bin');
    // A user id may be "." or "..": as a path segment of a public URL it would be resolved away.
    const id = file.ownerId ?? 'shared';
    const owner = /^\.+$/.test(id) ? id.replace(/\./g, '%2E') : encodeURIComponent(id);
    return `${this.options.keyPrefix}${owner}/${sha256}.${ext}`;
  }

  /** The URL a copy is recorded under: its public URL, or `s3://<bucket>/<key>` for a private bucket. */
  recordedUrlOf(key: string): string {
    const base = this.options.publicBaseUrl;
    return base ? `${base}/${key.split('/').map(encodeURIComponent).join('/')}` : `${this.marker}${key}`;
  }

  /**
   * The URL a client is given for a recorded copy: a public one as it is; a private one
   * presigned for S3_PRESIGN_TTL_SECONDS. The signing time is rounded down to a quarter of that,
   * so repeated reads within it hand out the same URL (browser and CDN caches stay useful), and
   * every URL stays valid for at least the TTL.
   */
  async linkFor(url: string): Promise<string> {
    if (!url.startsWith(this.marker)) return url;
    const ttl = this.options.presignTtlSeconds;
    const window = Math.max(1, Math.floor(ttl / 4));
    const now = Math.floor(Date.now() / 1000);
    const signedAt = now - (now % window);
    // Every URL of a window is the same: an image's cloudUrl, displayUrl and fallbackUrl, and a
    // page of a hundred images read again, are signed once (the cache is dropped with the window).
    if (signedAt !== this.signedAt || this.signed.size >= MAX_SIGNED_CACHED) {
      this.signed = new Map();
      this.signedAt = signedAt;
    }
    let link = this.signed.get(url);
    if (!link) {
      link = this.presign(url.slice(this.marker.length), signedAt, Math.min(604_800, ttl + window));
      this.signed.set(url, link);
      // A failed signing is not kept.
      link.catch(() => this.signed.get(url) === link && this.signed.delete(url));
    }
    return link;
  }

  /** SigV4 caps a presigned URL at 7 days (`expiresIn`, seconds). */
  private async presign(key: string, signedAt: number, expiresIn: number): Promise<string> {
    const { s3, sdk } = await this.connect();
    this.presigner ??= import('@aws-sdk/s3-request-presigner').then((m) => m.getSignedUrl);
    const getSignedUrl = await this.presigner;
    return getSignedUrl(s3, new sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: key }), {
      expiresIn,
      signingDate: new Date(signedAt * 1000),
    });
  }

  /** The caller's signal, bounded by this provider's own timeout (an endpoint that accepts and never answers). */
  private deadline(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]);
  }

  async upload(file: UploadFile, callerSignal: AbortSignal): Promise<CloudCopy> {
    const signal = this.deadline(callerSignal);
    const key = this.keyFor(file);
    const { s3, sdk } = await this.connect();
    try {
      if (file.data.length > MULTIPART_ABOVE_BYTES) {
        // Large objects go in 8 MB parts, 4 at once, each with its own SHA-256 (S3 checks every
        // part; a multipart object has no whole-object ChecksumSHA256 of the plain kind).
        const { Upload } = await import('@aws-sdk/lib-storage');
        const upload = new Upload({
          client: s3,
          partSize: MULTIPART_ABOVE_BYTES,
          queueSize: 4,
          leavePartsOnError: false,
          params: {
            Bucket: this.options.bucket,
            Key: key,
            Body: file.data,
            ContentType: file.mimeType,
            CacheControl: CACHE_CONTROL,
            ChecksumAlgorithm: 'SHA256',
          },
        });
        const abort = () => void upload.abort();
        signal.addEventListener('abort', abort, { once: true });
        try {
          await upload.done();
        } finally {
          signal.removeEventListener('abort', abort);
        }
        return this.copyOf(key);
      }
      await s3.send(
        new sdk.PutObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          Body: file.data,
          ContentType: file.mimeType,
          CacheControl: CACHE_CONTROL,
          // The record's digest, hashed once when the image was stored (S3 checks it against the body).
          ChecksumSHA256: Buffer.from(digestOf(file), 'hex').toString('base64'),
        }),
        { abortSignal: signal },
      );
    } catch (e) {
      throw classifyS3Error(e, 'upload');
    }
    return this.copyOf(key);
  }

  private copyOf(key: string): CloudCopy {
    const recorded = this.recordedUrlOf(key);
    return {
      url: this.options.publicBaseUrl
        ? checkCloudUrl(recorded, this.allowedHosts, this.options.requireHttps)
        : recorded,
      deleteUrl: `${this.marker}${key}`,
      providerId: key,
    };
  }

  async delete(copy: CloudCopy, callerSignal: AbortSignal): Promise<void> {
    const signal = this.deadline(callerSignal);
    const key = this.keyOfCopy(copy);
    const { s3, sdk } = await this.connect();
    try {
      // S3 answers 204 for a key that is already gone: deleting twice is fine.
      await s3.send(new sdk.DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal: signal });
    } catch (e) {
      throw classifyS3Error(e, 'delete');
    }
  }

  /** Whether a recorded cloud URL is an object of this bucket kept private (shown only through presigned URLs). */
  isPrivate(url: string): boolean {
    return url.startsWith(this.marker);
  }

  /** Whether a recorded cloud URL is an object of this bucket (under S3_PUBLIC_BASE_URL, or `s3://<bucket>/`). */
  holds(url: string): boolean {
    const base = this.options.publicBaseUrl;
    return url.startsWith(this.marker) || (base !== null && url.startsWith(`${base}/`));
  }

  /**
   * Downloads one of this bucket's objects through the SDK (a signed GetObject, never a public
   * fetch of a stored URL, so an edited record cannot point the server anywhere else) into
   * `path`, flushed, and returns its size and SHA-256. On failure nothing is left at `path`.
   */
  async download(
    url: string,
    path: string,
    o: { maxBytes: number; timeoutMs: number },
  ): Promise<{ bytes: number; sha256: string }> {
    const key = this.keyOfCopy({ url, deleteUrl: null, providerId: null });
    const { s3, sdk } = await this.connect();
    const signal = AbortSignal.timeout(o.timeoutMs);
    let answer;
    try {
      answer = await s3.send(new sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: key }), {
        abortSignal: signal,
      });
    } catch (e) {
      throw classifyS3Error(e, 'download');
    }
    if (answer.ContentLength !== undefined && answer.ContentLength > o.maxBytes) {
      (answer.Body as Readable | undefined)?.destroy();
      throw new ProviderError(
        `the S3 object is ${answer.ContentLength} bytes, over the ${o.maxBytes}-byte limit`,
        false,
      );
    }
    const hash = createHash('sha256');
    const bytes = await streamToFile(answer.Body as Readable, path, {
      maxBytes: o.maxBytes,
      idleTimeoutMs: o.timeoutMs,
      hash,
      flush: true,
    });
    return { bytes, sha256: hash.digest('hex') };
  }

  /** The key of a copy this provider made, from its delete marker (or its public URL). */
  private keyOfCopy(copy: CloudCopy): string {
    const marker = this.marker;
    if (copy.deleteUrl?.startsWith(marker)) return copy.deleteUrl.slice(marker.length);
    if (copy.url.startsWith(marker)) return copy.url.slice(marker.length);
    const base = `${this.options.publicBaseUrl}/`;
    if (this.options.publicBaseUrl && copy.url.startsWith(base))
      return copy.url.slice(base.length).split('/').map(decodeURIComponent).join('/');
    throw new ProviderError('this copy is not an object of the configured bucket', false);
  }

  private connect(): Promise<{ s3: S3Client; sdk: typeof import('@aws-sdk/client-s3') }> {
    this.client ??= import('@aws-sdk/client-s3').then((sdk) => {
      const o = this.options;
      const s3 = new sdk.S3Client({
        region: o.region,
        ...(o.endpoint ? { endpoint: o.endpoint } : {}),
        forcePathStyle: o.forcePathStyle,
        ...(o.credentials ? { credentials: o.credentials } : {}),
        // The chain retries (with its backoff and circuit breaker); the SDK's own would multiply them.
        maxAttempts: 1,
        requestHandler: { requestTimeout: o.timeoutMs, connectionTimeout: o.timeoutMs },
      });
      return { s3, sdk };
    });
    return this.client;
  }
}

/** An SDK failure as a ProviderError: retryable or not, and whether it says the setup is wrong. */
export function classifyS3Error(e: unknown, what: 'upload' | 'delete' | 'download'): ProviderError {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const name = err.name ?? 'Error';
  const status = err.$metadata?.httpStatusCode;
  const detail = `S3 ${what} failed: ${name}${status ? ` (HTTP ${status})` : ''}${err.message && err.message !== name ? `: ${err.message}` : ''}`;
  if (MISCONFIGURED.has(name) || status === 403)
    return new ProviderError(detail, false, { ...(status ? { status } : {}), cause: e, misconfigured: true });
  const retryable =
    THROTTLED.has(name) ||
    status === undefined ||
    status >= 500 ||
    status === 429 ||
    name === 'AbortError' ||
    name === 'TimeoutError';
  return new ProviderError(detail, retryable, { ...(status ? { status } : {}), cause: e });
}

/** The bytes' SHA-256 (hex): the record's, or computed for a legacy record that has none. */
function digestOf(file: UploadFile): string {
  return file.sha256 || createHash('sha256').update(file.data).digest('hex');
}
