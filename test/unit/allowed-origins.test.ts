/**
 * originRefusal's edges, written to kill the mutants `npm run mutate -- cloud-download` found
 * surviving (README: Mutation testing): an entry's scheme is part of the origin, a port left out
 * means the default port of the URL's own scheme, a malformed entry allows nothing, IPv6 entries
 * and padded entries work, and the refusal says what was allowed.
 */
import { describe, expect, it } from 'vitest';
import { originOf, originRefusal } from '../../src/cloud/allowed-origins.js';

const allowedBy = (url: string, allowed: string[], requireHttps = false) =>
  originRefusal(url, allowed, requireHttps) === null;

describe('originRefusal: the whole origin', () => {
  it('an entry with a scheme allows that scheme only, on its port', () => {
    expect(allowedBy('https://h.example:8443/a.png', ['https://h.example:8443'])).toBe(true);
    expect(allowedBy('http://h.example:8443/a.png', ['https://h.example:8443'])).toBe(false);
    expect(allowedBy('https://h.example:8443/a.png', ['http://h.example:8443'])).toBe(false);
  });

  it('an entry without a port means the default port of the URL’s scheme: 443 for https, 80 for http', () => {
    expect(allowedBy('https://i.ibb.co/a.png', ['i.ibb.co'])).toBe(true);
    expect(allowedBy('http://i.ibb.co/a.png', ['i.ibb.co'])).toBe(true);
    expect(allowedBy('http://i.ibb.co:443/a.png', ['i.ibb.co'])).toBe(false);
    expect(allowedBy('https://i.ibb.co:80/a.png', ['i.ibb.co'])).toBe(false);
    expect(allowedBy('https://i.ibb.co:8443/a.png', ['i.ibb.co'])).toBe(false);
  });

  it('an entry naming the default port matches a URL that leaves it out', () => {
    expect(allowedBy('http://i.ibb.co/a.png', ['i.ibb.co:80'])).toBe(true);
    expect(allowedBy('https://i.ibb.co/a.png', ['i.ibb.co:443'])).toBe(true);
  });

  it('originOf is the entry allowing exactly a URL’s origin, port included', () => {
    expect(originOf('http://127.0.0.1:4010/1/upload?key=k')).toBe('http://127.0.0.1:4010');
    expect(allowedBy('http://127.0.0.1:4010/i/a.png', [originOf('http://127.0.0.1:4010/1/upload')])).toBe(true);
    expect(allowedBy('http://127.0.0.1:4011/i/a.png', [originOf('http://127.0.0.1:4010/1/upload')])).toBe(false);
  });

  it('entries padded with spaces (RESTORE_ALLOWED_HOSTS=" a, b ") still match', () => {
    expect(allowedBy('https://i.ibb.co/a.png', ['  i.ibb.co ', ' https://s3.example '])).toBe(true);
    expect(allowedBy('https://s3.example/a.png', ['  i.ibb.co ', ' https://s3.example '])).toBe(true);
  });

  it('an IPv6 entry in brackets, with its port', () => {
    expect(allowedBy('http://[::1]:8080/a.png', ['[::1]:8080'])).toBe(true);
    expect(allowedBy('http://[::1]:8081/a.png', ['[::1]:8080'])).toBe(false);
  });

  it('a malformed entry allows nothing, and does not throw', () => {
    for (const entry of ['x:i.ibb.co', 'i.ibb.co:443x', 'i.ibb.co:', 'https://', '[::1'])
      expect(allowedBy('https://i.ibb.co:443/a.png', [entry]), entry).toBe(false);
  });
});

describe('originRefusal: what the refusal says', () => {
  it('names the schemes allowed', () => {
    expect(originRefusal('ftp://i.ibb.co/a.png', ['i.ibb.co'], false)).toBe(
      'its scheme "ftp:" is not allowed (http or https only)',
    );
    expect(originRefusal('http://i.ibb.co/a.png', ['i.ibb.co'], true)).toBe(
      'its scheme "http:" is not allowed (https only)',
    );
  });

  it('names the origin refused and every entry allowed, or none', () => {
    expect(originRefusal('https://evil.example/a.png', ['i.ibb.co', 'i.postimg.cc'], true)).toBe(
      'its origin https://evil.example:443 is not one of the allowed (i.ibb.co, i.postimg.cc)',
    );
    expect(originRefusal('https://evil.example/a.png', [], true)).toBe(
      'its origin https://evil.example:443 is not one of the allowed (none)',
    );
  });
});
