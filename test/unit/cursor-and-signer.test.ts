import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/domain/cursor.js';
import { BadUserInputError } from '../../src/domain/errors.js';
import { createIdGenerator, isValidId, legacyImageId } from '../../src/domain/ids.js';
import { UrlSigner } from '../../src/files/url-signer.js';

describe('cursors', () => {
  it('round-trip the sort key and id', () => {
    const c = { t: 1_767_225_600_123, id: '65a1b2c3d4e5f60718293a4b' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
  });

  it.each([
    '',
    'not-base64-json',
    Buffer.from('{"t":1}').toString('base64url'),
    Buffer.from('[1.5,"x"]').toString('base64url'),
    Buffer.from('[1,""]').toString('base64url'),
  ])('refuse the malformed cursor %j with BAD_USER_INPUT', (s) => {
    expect(() => decodeCursor(s)).toThrow(BadUserInputError);
  });
});

describe('ids', () => {
  it('are 24 hex characters led by the creation second', () => {
    let n = 0;
    const gen = createIdGenerator(
      () => new Date(0x65000000 * 1000),
      (k) => Buffer.alloc(k, ++n),
    );
    const a = gen();
    const b = gen();
    expect(a).toMatch(/^65000000[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
    expect(isValidId(a)).toBe(true);
    expect(isValidId('65000000zz')).toBe(false);
  });

  it('derive a stable legacy image id from message id and file name', () => {
    const id = legacyImageId('65a1b2c3d4e5f60718293a4b', 'img_1.png');
    expect(id).toBe(legacyImageId('65a1b2c3d4e5f60718293a4b', 'img_1.png'));
    expect(id).not.toBe(legacyImageId('65a1b2c3d4e5f60718293a4b', 'img_2.png'));
    expect(isValidId(id)).toBe(true);
  });
});

describe('UrlSigner', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const signer = new UrlSigner('s'.repeat(32), 'http://localhost:4000', 3600, () => now);

  it('signs a key into a /files URL that verifies', () => {
    const url = new URL(signer.url('uploads/img_20260101_000000_ab12cd34.jpg'));
    expect(url.pathname).toBe('/files/uploads/img_20260101_000000_ab12cd34.jpg');
    const exp = url.searchParams.get('exp') as string;
    expect(Number(exp)).toBeGreaterThanOrEqual(now.getTime() / 1000 + 3600);
    expect(signer.verify('uploads/img_20260101_000000_ab12cd34.jpg', exp, url.searchParams.get('sig') as string)).toBe(
      true,
    );
  });

  it('rejects another key, a changed expiry, a forged or malformed signature, and an expired URL', () => {
    const url = new URL(signer.url('uploads/a.jpg'));
    const exp = url.searchParams.get('exp') as string;
    const sig = url.searchParams.get('sig') as string;
    expect(signer.verify('uploads/b.jpg', exp, sig)).toBe(false);
    expect(signer.verify('uploads/a.jpg', String(Number(exp) + 1), sig)).toBe(false);
    expect(
      signer.verify(
        'uploads/a.jpg',
        exp,
        sig.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
      ),
    ).toBe(false);
    expect(signer.verify('uploads/a.jpg', exp, 'zz')).toBe(false);
    const later = new UrlSigner(
      's'.repeat(32),
      'http://localhost:4000',
      3600,
      () => new Date((Number(exp) + 1) * 1000),
    );
    expect(later.verify('uploads/a.jpg', exp, sig)).toBe(false);
  });

  it('gives the same URL for reads within one window, so caches stay useful', () => {
    let t = now.getTime() + 17_000; // mid-window: a window boundary changes the URL, by design
    const s = new UrlSigner('s'.repeat(32), 'http://x', 3600, () => new Date(t));
    const first = s.url('k');
    t += 100_000;
    expect(s.url('k')).toBe(first);
  });
});
