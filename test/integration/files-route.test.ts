import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFilesRouter } from '../../src/http/files-route.js';
import { LocalFileStore, type FsOps } from '../../src/files/local-file-store.js';
import { UrlSigner } from '../../src/files/url-signer.js';
import { CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { as, startTestServer } from '../support/server.js';

const KEY = 'uploads/img_20260101_120000_ab12cd34.png';
const LEGACY_KEY = '/static/Storage/Image_Gen/img_legacy.png';
const BIG_KEY = 'Image_Gen/img_big.png';
const NOW = new Date('2026-01-01T12:00:00Z');

let root: string;
let bytes: Buffer;
let sha: string;
let now: Date;
let fsCalls: string[];
const records = new Map<string, { mimeType: string; sha256: string }>();
const lookup = vi.fn(async (key: string) => records.get(key) ?? null);
const signer = new UrlSigner('s'.repeat(32), '', 3600, () => now);
let base: string;
let accelBase: string;
const servers: Server[] = [];

/** The store's real fs, recording each call: the proof that a refused request read nothing. */
function countingFs(): Partial<FsOps> {
  return {
    open: ((...args: Parameters<typeof fsp.open>) => {
      fsCalls.push('open');
      return fsp.open(...args);
    }) as FsOps['open'],
    stat: (path) => {
      fsCalls.push('stat');
      return fsp.stat(path);
    },
    readdir: (path, options) => {
      fsCalls.push('readdir');
      return fsp.readdir(path, options);
    },
  };
}

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** http.request with the path sent byte for byte: no client-side `..` normalisation. */
function send(
  origin: string,
  path: string,
  o: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, path, method: o.method ?? 'GET', headers: o.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const get = (path: string, headers?: Record<string, string>) => send(base, path, { headers });
const errorCode = (a: Answer): unknown =>
  (JSON.parse(a.body.toString('utf8')) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code;
/** A URL carrying a signature that is valid for exactly this raw key. */
const signedPath = (rawKey: string, exp = Math.floor(NOW.getTime() / 1000) + 600) =>
  `/files/${rawKey}?exp=${exp}&sig=${signer.signature(rawKey, exp)}`;

beforeAll(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'files-route-'));
  bytes = await fsp.readFile(new URL('../fixtures/coffee.png', import.meta.url));
  sha = createHash('sha256').update(bytes).digest('hex');
  const setup = new LocalFileStore({ root });
  await setup.init();
  await setup.put(KEY, bytes);
  await setup.put(LEGACY_KEY, bytes);
  await setup.put(BIG_KEY, randomBytes(16 * 1024 * 1024));
  for (const key of [KEY, LEGACY_KEY, BIG_KEY, 'uploads/missing.png'])
    records.set(key, { mimeType: 'image/png', sha256: sha });

  const files = new LocalFileStore({ root, fs: countingFs() });
  const deps = { files, signer, lookup, clock: () => now };
  base = await listen(express().use(createFilesRouter(deps)));
  accelBase = await listen(express().use(createFilesRouter({ ...deps, accelRedirectPrefix: '/_protected/' })));
});

afterAll(async () => {
  for (const s of servers) await new Promise((resolve) => s.close(resolve));
  await fsp.rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  now = NOW;
  fsCalls = [];
  lookup.mockClear();
});

describe('GET /files/<key>', () => {
  it('answers a signed URL with the exact bytes and every header', async () => {
    const url = signer.url(KEY);
    const exp = Number(new URL(url, base).searchParams.get('exp'));
    const a = await get(url);
    expect(a.status).toBe(200);
    expect(a.body.equals(bytes)).toBe(true);
    expect(a.headers['content-type']).toBe('image/png');
    expect(a.headers['x-content-type-options']).toBe('nosniff');
    expect(a.headers['content-disposition']).toBe('inline');
    expect(a.headers.etag).toBe(`"${sha}"`);
    expect(a.headers['accept-ranges']).toBe('bytes');
    expect(a.headers['content-length']).toBe(String(bytes.length));
    expect(a.headers['cache-control']).toBe(`private, max-age=${exp - NOW.getTime() / 1000}`);
    expect(lookup).toHaveBeenCalledWith(KEY);
  });

  it('answers HEAD with the headers and no body', async () => {
    const a = await send(base, signer.url(KEY), { method: 'HEAD' });
    expect(a.status).toBe(200);
    expect(a.headers['content-length']).toBe(String(bytes.length));
    expect(a.headers.etag).toBe(`"${sha}"`);
    expect(a.body.length).toBe(0);
  });

  it('serves a legacy /static/Storage/ key from the same folders', async () => {
    const a = await get(signer.url(LEGACY_KEY));
    expect(a.status).toBe(200);
    expect(a.body.equals(bytes)).toBe(true);
  });

  describe('refuses without touching the disk', () => {
    const good = () => new URL(signer.url(KEY), 'http://x');
    const cases: [string, () => string][] = [
      [
        'a tampered signature',
        () => {
          const u = good();
          const s = u.searchParams.get('sig') ?? '';
          u.searchParams.set('sig', (s[0] === 'a' ? 'b' : 'a') + s.slice(1));
          return u.pathname + u.search;
        },
      ],
      [
        'the signature of another key',
        () => {
          const u = new URL(signer.url('uploads/other.png'), 'http://x');
          return `/files/${KEY}${u.search}`;
        },
      ],
      [
        'a later exp than signed',
        () => {
          const u = good();
          u.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 60));
          return u.pathname + u.search;
        },
      ],
      [
        'no exp',
        () => {
          const u = good();
          u.searchParams.delete('exp');
          return u.pathname + u.search;
        },
      ],
      [
        'no sig',
        () => {
          const u = good();
          u.searchParams.delete('sig');
          return u.pathname + u.search;
        },
      ],
      ['no query at all', () => `/files/${KEY}`],
      [
        'a repeated sig',
        () => {
          const u = good();
          u.searchParams.append('sig', u.searchParams.get('sig') ?? '');
          return u.pathname + u.search;
        },
      ],
      [
        'a non-hex sig',
        () => {
          const u = good();
          u.searchParams.set('sig', 'z'.repeat(64));
          return u.pathname + u.search;
        },
      ],
    ];
    it.each(cases)('403 for %s', async (_name, path) => {
      const a = await get(path());
      expect(a.status).toBe(403);
      expect(errorCode(a)).toBe('FORBIDDEN');
      expect(a.headers['cache-control']).toBe('no-store');
      expect(fsCalls).toEqual([]);
      expect(lookup).not.toHaveBeenCalled();
    });

    it('403 once the URL has expired (signer clock moved past exp)', async () => {
      const url = signer.url(KEY);
      now = new Date(Number(new URL(url, base).searchParams.get('exp')) * 1000 + 1000);
      const a = await get(url);
      expect(a.status).toBe(403);
      expect(fsCalls).toEqual([]);
      expect(lookup).not.toHaveBeenCalled();
    });

    const traversals = [
      '../../etc/passwd',
      'uploads/../../etc/passwd',
      'uploads/..%2f..%2fetc%2fpasswd',
      'uploads/%2e%2e%2fx',
      '%2e%2e/%2e%2e/etc/passwd',
      'uploads/a%2Fb',
      'uploads/a%00b',
      '/etc/passwd',
      'uploads\\..\\x',
      'C:\\x',
      '/static/Storage/../../etc/passwd',
      'uploads/.hidden',
    ];
    it.each(traversals)('raw path /files/%s: 403 unsigned, 404 even with a valid signature', async (raw) => {
      const unsigned = await get(`/files/${raw}?exp=9999999999&sig=${'0'.repeat(64)}`);
      expect(unsigned.status).toBe(403);
      const signed = await get(signedPath(raw));
      expect(signed.status).toBe(404);
      expect(errorCode(signed)).toBe('NOT_FOUND');
      expect(fsCalls).toEqual([]);
      expect(lookup).not.toHaveBeenCalled();
    });

    it('paths that climb out of /files/ never reach the route', async () => {
      const a = await get(`/files/../etc/passwd?exp=1&sig=x`);
      expect(a.status).toBe(403);
      const b = await get(`/../files/${KEY}`);
      expect(b.status).toBe(404);
      expect(fsCalls).toEqual([]);
      expect(lookup).not.toHaveBeenCalled();
    });
  });

  it('404 when the file is missing, and when the record is gone', async () => {
    const missing = await get(signer.url('uploads/missing.png'));
    expect(missing.status).toBe(404);
    expect(errorCode(missing)).toBe('NOT_FOUND');
    records.delete('uploads/img_orphan.png');
    const noRecord = await get(signer.url('uploads/img_orphan.png'));
    expect(noRecord.status).toBe(404);
    expect(fsCalls).toEqual(['open']); // only the first request reached the disk
  });

  it.each([`"SHA"`, `W/"SHA"`, `"other", "SHA"`, '*'])('304 for If-None-Match %s', async (inm) => {
    const a = await get(signer.url(KEY), { 'If-None-Match': inm.replace('SHA', sha) });
    expect(a.status).toBe(304);
    expect(a.body.length).toBe(0);
    expect(a.headers.etag).toBe(`"${sha}"`);
  });

  it('200 for an If-None-Match that does not match', async () => {
    const a = await get(signer.url(KEY), { 'If-None-Match': '"something-else"' });
    expect(a.status).toBe(200);
    expect(a.body.equals(bytes)).toBe(true);
  });

  describe('Range', () => {
    const size = () => bytes.length;
    it.each<[string, () => [number, number]]>([
      ['bytes=0-99', () => [0, 99]],
      ['bytes=-100', () => [size() - 100, size() - 1]],
      ['bytes=100-', () => [100, size() - 1]],
      ['bytes=10-999999999', () => [10, size() - 1]],
      ['BYTES = 5-5', () => [5, 5]],
    ])('%s → 206 with exactly those bytes', async (range, span) => {
      const [start, end] = span();
      const a = await get(signer.url(KEY), { Range: range.replace('BYTES = ', 'bytes=') });
      expect(a.status).toBe(206);
      expect(a.headers['content-range']).toBe(`bytes ${start}-${end}/${size()}`);
      expect(a.headers['content-length']).toBe(String(end - start + 1));
      expect(a.body.equals(bytes.subarray(start, end + 1))).toBe(true);
    });

    it('a suffix longer than the file is the whole file', async () => {
      const a = await get(signer.url(KEY), { Range: `bytes=-${size() * 2}` });
      expect(a.status).toBe(206);
      expect(a.body.equals(bytes)).toBe(true);
    });

    it.each(['bytes=SIZE-', 'bytes=-0', 'bytes=50-10', 'bytes=abc', 'bytes=-'])('416 for %s', async (range) => {
      const a = await get(signer.url(KEY), { Range: range.replace('SIZE', String(size())) });
      expect(a.status).toBe(416);
      expect(a.headers['content-range']).toBe(`bytes */${size()}`);
      expect(errorCode(a)).toBe('BAD_USER_INPUT');
    });

    it.each([
      ['several ranges', { Range: 'bytes=0-1,5-9' }],
      ['another unit', { Range: 'items=0-1' }],
      ['a stale If-Range', { Range: 'bytes=0-1', 'If-Range': '"old"' }],
    ])('%s: the whole file with 200', async (_name, headers) => {
      const a = await get(signer.url(KEY), headers);
      expect(a.status).toBe(200);
      expect(a.body.equals(bytes)).toBe(true);
    });

    it('a matching If-Range keeps the range', async () => {
      const a = await get(signer.url(KEY), { Range: 'bytes=0-1', 'If-Range': `"${sha}"` });
      expect(a.status).toBe(206);
      expect(a.body.length).toBe(2);
    });
  });

  it.skipIf(!existsSync('/proc/self/fd'))('closes the file when the client goes away mid-download', async () => {
    const bigPath = join(root, BIG_KEY);
    const openOnBig = async () => {
      let n = 0;
      for (const fd of await fsp.readdir('/proc/self/fd')) {
        if ((await fsp.readlink(`/proc/self/fd/${fd}`).catch(() => '')) === bigPath) n++;
      }
      return n;
    };
    const { hostname, port } = new URL(base);
    await new Promise<void>((resolve, reject) => {
      const req = request({ hostname, port, path: signer.url(BIG_KEY), agent: false }, (res) => {
        res.once('data', () => {
          res.pause();
          // The file is open while the body is in flight; only then does closing it prove anything.
          vi.waitFor(async () => expect(await openOnBig()).toBe(1), { timeout: 5000, interval: 20 })
            .then(() => {
              req.destroy();
              resolve();
            })
            .catch(reject);
        });
      });
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
      req.end();
    });
    await vi.waitFor(async () => expect(await openOnBig()).toBe(0), { timeout: 5000, interval: 50 });
  });
});

describe('X-Accel-Redirect mode', () => {
  it('answers the headers and the internal path, no body', async () => {
    const a = await send(accelBase, signer.url(KEY));
    expect(a.status).toBe(200);
    expect(a.headers['x-accel-redirect']).toBe(`/_protected/${KEY}`);
    expect(a.headers['content-type']).toBe('image/png');
    expect(a.headers['x-content-type-options']).toBe('nosniff');
    expect(a.headers.etag).toBe(`"${sha}"`);
    expect(a.body.length).toBe(0);
    expect(fsCalls).toEqual(['stat']);
  });

  it('maps a legacy key to its folder, and still checks signature and file', async () => {
    const legacy = await send(accelBase, signer.url(LEGACY_KEY));
    expect(legacy.headers['x-accel-redirect']).toBe('/_protected/Image_Gen/img_legacy.png');
    expect((await send(accelBase, `/files/${KEY}`)).status).toBe(403);
    const missing = await send(accelBase, signer.url('uploads/missing.png'));
    expect(missing.status).toBe(404);
    expect(missing.headers['x-accel-redirect']).toBeUndefined();
  });

  it('304 for a matching If-None-Match', async () => {
    const a = await send(accelBase, signer.url(KEY), { headers: { 'If-None-Match': `"${sha}"` } });
    expect(a.status).toBe(304);
    expect(a.headers['x-accel-redirect']).toBeUndefined();
  });
});

describe('FILES_ACCEL_REDIRECT_PREFIX on the real server', () => {
  it('turns the X-Accel-Redirect mode on for every signed local URL the API hands out', async () => {
    const server = await startTestServer({ env: { FILES_ACCEL_REDIRECT_PREFIX: '/_protected' } });
    try {
      const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
      const photo = await fsp.readFile('test/fixtures/coffee.png');
      const up = await server.gql(
        UploadImageDocument,
        { input: { conversationId: c.data!.createConversation.id, base64: photo.toString('base64') } },
        as('alice'),
      );
      const image = up.data!.uploadImage.image;
      const res = await fetch(image.localUrl!);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-accel-redirect')).toBe(
        `/_protected/${new URL(image.localUrl!).pathname.slice('/files/'.length)}`,
      );
      expect((await res.arrayBuffer()).byteLength).toBe(0);
      // The checks still run here: an unsigned URL is refused, never redirected.
      const unsigned = await fetch(image.localUrl!.split('?')[0]!);
      expect(unsigned.status).toBe(403);
      expect(unsigned.headers.get('x-accel-redirect')).toBeNull();
    } finally {
      await server.stop();
    }
  });
});
