import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signs and checks `/files/<key>?exp=<unix-seconds>&sig=<hex>` URLs: HMAC-SHA256 over the key
 * and exp. Expiries are rounded up to a window so that the same image read several times in a
 * window gets the same URL, which keeps browser and CDN caches useful.
 */
export class UrlSigner {
  private readonly secret: Buffer;
  /** URLs signed in the current window, by key: a chat view signs thousands per request. */
  private cache = new Map<string, string>();
  private cacheExp = 0;
  private static readonly MAX_CACHED = 50_000;

  constructor(
    secret: string,
    private readonly baseUrl: string,
    private readonly ttlSeconds: number,
    private readonly clock: () => Date,
  ) {
    this.secret = Buffer.from(secret, 'utf8');
  }

  signature(key: string, exp: number): string {
    return createHmac('sha256', this.secret).update(`${key}\n${exp}`).digest('hex');
  }

  /** An absolute URL for the key, valid for at least the configured lifetime. */
  url(key: string): string {
    const window = Math.max(60, Math.floor(this.ttlSeconds / 4));
    const nowSeconds = Math.floor(this.clock().getTime() / 1000);
    const exp = Math.ceil((nowSeconds + this.ttlSeconds) / window) * window;
    if (exp !== this.cacheExp || this.cache.size >= UrlSigner.MAX_CACHED) {
      this.cache = new Map();
      this.cacheExp = exp;
    }
    let url = this.cache.get(key);
    if (url === undefined) {
      const path = key.split('/').map(encodeURIComponent).join('/');
      url = `${this.baseUrl}/files/${path}?exp=${exp}&sig=${this.signature(key, exp)}`;
      this.cache.set(key, url);
    }
    return url;
  }

  /** Constant-time check of a signature; false for expired, malformed or forged ones. */
  verify(key: string, exp: string, sig: string): boolean {
    if (!/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/.test(sig)) return false;
    const expSeconds = Number(exp);
    if (expSeconds * 1000 < this.clock().getTime()) return false;
    const expected = Buffer.from(this.signature(key, expSeconds), 'hex');
    return timingSafeEqual(expected, Buffer.from(sig, 'hex'));
  }
}
