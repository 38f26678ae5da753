import { describe, expect, it } from 'vitest';
import { originRefusal } from '../../src/cloud/allowed-origins.js';
import { refusal } from '../../src/cloud/download.js';
import { checkCloudUrl, ProviderError } from '../../src/cloud/provider.js';

/**
 * Issue #11 point 9, mutation 4: an allowed host matches whole, at a dot boundary and no other.
 * A bare suffix match (`host.endsWith(allowed)`) would let `evilibb.co` or `xibb.co` pass for
 * `ibb.co`. The rule is the same at the three places that use it: a provider's answer
 * (checkCloudUrl), a restore download (refusal, RESTORE_ALLOWED_HOSTS) and the /files redirect
 * (CloudLinks.allowed in src/cloud/links.ts, test/integration/audit-allowed-hosts.test.ts).
 */

const ALLOWED = ['ibb.co', 'i.ibb.co'];
const uses: [string, (url: string, allowed: string[]) => boolean][] = [
  ['originRefusal', (url, allowed) => originRefusal(url, allowed, true) === null],
  [
    'refusal (restore downloads)',
    (url, allowed) => refusal(url, { allowedHosts: allowed, requireHttps: true }) === null,
  ],
  [
    'checkCloudUrl (provider answers)',
    (url, allowed) => {
      try {
        checkCloudUrl(url, allowed, true);
        return true;
      } catch (e) {
        expect(e).toBeInstanceOf(ProviderError);
        return false;
      }
    },
  ],
];

describe.each(uses)('allowed hosts match at a dot boundary: %s', (_name, allows) => {
  it.each([
    'https://i.ibb.co/a/b.png',
    'https://ibb.co/a/b.png',
    'https://IBB.CO/a/b.png',
    'https://i.ibb.co:443/a/b.png',
  ])('allows %s with ibb.co and i.ibb.co listed', (url) => {
    expect(allows(url, ALLOWED)).toBe(true);
  });

  it.each([
    'https://evilibb.co/a/b.png',
    'https://xibb.co/a/b.png',
    'https://ibb.co.evil.com/a/b.png',
    'https://i.ibb.co.evil.com/a/b.png',
    'https://evili.ibb.co/a/b.png',
    'https://co/a/b.png',
    'https://bb.co/a/b.png',
  ])('refuses %s with ibb.co and i.ibb.co listed', (url) => {
    expect(allows(url, ALLOWED)).toBe(false);
  });

  it('a listed host allows neither its subdomains nor its parent', () => {
    expect(allows('https://ibb.co/a.png', ['ibb.co'])).toBe(true);
    expect(allows('https://i.ibb.co/a.png', ['ibb.co'])).toBe(false);
    expect(allows('https://ibb.co/a.png', ['i.ibb.co'])).toBe(false);
  });

  it('the same holds for host:port and scheme://host:port entries', () => {
    expect(allows('https://cdn.example:8443/a.png', ['cdn.example:8443'])).toBe(true);
    expect(allows('https://evilcdn.example:8443/a.png', ['cdn.example:8443'])).toBe(false);
    expect(allows('https://cdn.example/a.png', ['https://cdn.example'])).toBe(true);
    expect(allows('https://evilcdn.example/a.png', ['https://cdn.example'])).toBe(false);
    expect(allows('https://cdn.example.evil.com/a.png', ['https://cdn.example'])).toBe(false);
  });
});
