/**
 * UrlSigner's edges, written to kill the mutants `npm run mutate` found surviving the signer's
 * first tests (README: Mutation testing): only the canonical form of `exp` and `sig` is
 * accepted, a URL is valid through its expiry second, the expiry lands within a quarter of the
 * lifetime past it, and a URL signed in one window is not served from the cache in the next.
 */
import { describe, expect, it } from 'vitest';
import { UrlSigner } from '../../src/files/url-signer.js';

const KEY = 'uploads/img_20260101_120000_ab12cd34.jpg';

function signerAt(ms: { t: number }, ttlSeconds = 3600) {
  return new UrlSigner('s'.repeat(32), 'http://localhost:4000', ttlSeconds, () => new Date(ms.t));
}

function parts(url: string): { exp: string; sig: string } {
  const q = new URL(url).searchParams;
  return { exp: q.get('exp') as string, sig: q.get('sig') as string };
}

describe('UrlSigner: only the canonical form verifies', () => {
  const clock = { t: Date.UTC(2026, 0, 1, 12) };
  const signer = signerAt(clock);
  const { exp, sig } = parts(signer.url(KEY));

  it('accepts the URL as signed', () => {
    expect(signer.verify(KEY, exp, sig)).toBe(true);
  });

  it('refuses an exp that Number() would read the same: a sign, or white space before or after', () => {
    for (const forged of [`+${exp}`, ` ${exp}`, `${exp} `, `${exp}\n`])
      expect(signer.verify(KEY, forged, sig)).toBe(false);
  });

  it('refuses a signature with anything before or after its 64 hex digits, without throwing', () => {
    for (const forged of [`${sig}00`, `00${sig}`, `${sig}zz`, `zz${sig}`, sig.slice(2)])
      expect(signer.verify(KEY, exp, forged)).toBe(false);
  });
});

describe('UrlSigner: expiry', () => {
  it('a URL verifies through its expiry second, and not a millisecond after', () => {
    const clock = { t: Date.UTC(2026, 0, 1, 12) };
    const signer = signerAt(clock);
    const { exp, sig } = parts(signer.url(KEY));
    clock.t = Number(exp) * 1000;
    expect(signer.verify(KEY, exp, sig)).toBe(true);
    clock.t += 1;
    expect(signer.verify(KEY, exp, sig)).toBe(false);
  });

  it('expires at least the lifetime from now and at most a quarter of it later (its window)', () => {
    const ttl = 3600;
    for (let i = 0; i < 50; i++) {
      const clock = { t: Date.UTC(2026, 0, 1, 12) + i * 37_123 };
      const exp = Number(parts(signerAt(clock, ttl).url(KEY)).exp);
      const now = clock.t / 1000;
      expect(exp).toBeGreaterThanOrEqual(now + ttl);
      expect(exp).toBeLessThanOrEqual(now + ttl + ttl / 4);
    }
  });

  it('a key signed in one window gets a new expiry in the next, not the cached URL', () => {
    const clock = { t: Date.UTC(2026, 0, 1, 12) };
    const signer = signerAt(clock);
    const first = parts(signer.url(KEY));
    expect(parts(signer.url(KEY))).toEqual(first);
    clock.t += 900_000; // one window (a quarter of the hour's lifetime)
    const next = parts(signer.url(KEY));
    expect(Number(next.exp)).toBe(Number(first.exp) + 900);
    expect(signer.verify(KEY, next.exp, next.sig)).toBe(true);
  });
});
