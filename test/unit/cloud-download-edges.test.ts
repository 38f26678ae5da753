/**
 * downloadToFile's edges, written to kill the mutants `npm run mutate -- cloud-download` found
 * surviving (README: Mutation testing): what it asks for, which answers count as redirects,
 * exactly how many hops and bytes it takes, the time limit over a body that never stalls, and
 * error messages that name the URL without its query string.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { DownloadError, downloadToFile, sha256File, type DownloadPolicy } from '../../src/cloud/download.js';

const BYTES = Buffer.from('the real image bytes');
let server: Server;
let base: string;
let dir: string;
const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-download-edges-'));
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://x');
    const to = url.searchParams.get('to') ?? '/img';
    if (url.pathname === '/img') return res.writeHead(200, { 'Content-Length': BYTES.length }).end(BYTES);
    // A chain of `n` redirects, then the image.
    if (url.pathname === '/hops') {
      const n = Number(url.searchParams.get('n'));
      return res.writeHead(302, { Location: n > 1 ? `/hops?n=${n - 1}` : '/img' }).end();
    }
    if (url.pathname === '/no-location') return res.writeHead(304).end();
    if (url.pathname === '/status') return res.writeHead(Number(url.searchParams.get('code')), { Location: to }).end();
    if (url.pathname === '/exactly') return res.writeHead(200, { 'Content-Length': 5000 }).end(Buffer.alloc(5000, 7));
    if (url.pathname === '/gone') return res.writeHead(404).end();
    // A byte every 100 ms for 3 s: never idle, but far past the whole download's time limit.
    if (url.pathname === '/drip') {
      res.writeHead(200);
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || ++sent > 30) {
          clearInterval(timer);
          return res.end();
        }
        res.write('x');
      }, 100);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  policy.allowedHosts = [base];
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

const policy: DownloadPolicy = {
  allowedHosts: [],
  requireHttps: false,
  maxBytes: 5000,
  timeoutMs: 500,
  maxRedirects: 2,
};
let n = 0;
const target = () => join(dir, `f${n++}`);
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('the download succeeded');
    },
    (e: unknown) => {
      expect(e).toBeInstanceOf(DownloadError);
      expect((e as Error).name).toBe('DownloadError');
      return (e as Error).message;
    },
  );

describe('downloadToFile asks for', () => {
  it('an image, with a GET', async () => {
    const before = seen.length;
    await downloadToFile(`${base}/img`, target(), policy);
    expect(seen.slice(before).map((r) => [r.method, r.headers.accept])).toEqual([['GET', 'image/*']]);
  });
});

describe('downloadToFile redirects', () => {
  it('follows exactly maxRedirects hops, and refuses one more', async () => {
    expect((await downloadToFile(`${base}/hops?n=2`, target(), policy)).bytes).toBe(BYTES.length);
    expect(await failure(downloadToFile(`${base}/hops?n=3`, target(), policy))).toBe('more than 2 redirects');
  });

  it('takes every 3xx with a Location as a redirect, 300 and 399 included', async () => {
    for (const code of [300, 307, 399])
      expect((await downloadToFile(`${base}/status?code=${code}`, target(), policy)).bytes, `${code}`).toBe(
        BYTES.length,
      );
  });

  it('does not follow a Location on a 200 or a 400: a 400 is a failure, a 200 is the body', async () => {
    expect(await failure(downloadToFile(`${base}/status?code=400`, target(), policy))).toBe(
      `the cloud copy at ${base}/status answered 400`,
    );
    // A 200 with a Location: its (empty) body is the download, the Location is not fetched.
    const before = seen.length;
    expect((await downloadToFile(`${base}/status?code=200`, target(), policy)).bytes).toBe(0);
    expect(seen.length - before).toBe(1);
  });

  it('a 3xx without a Location is a failure, not a redirect', async () => {
    expect(await failure(downloadToFile(`${base}/no-location`, target(), policy))).toBe(
      `the cloud copy at ${base}/no-location answered 304`,
    );
  });

  it('says whether the URL itself or a redirect was refused', async () => {
    expect(await failure(downloadToFile('http://127.0.0.1:1/img', target(), policy))).toMatch(
      /^the cloud URL is refused \(RESTORE_ALLOWED_HOSTS\): /,
    );
    const away = encodeURIComponent('http://127.0.0.1:1/img');
    expect(await failure(downloadToFile(`${base}/status?code=302&to=${away}`, target(), policy))).toMatch(
      /^redirected to a refused URL: the cloud URL is refused/,
    );
  });
});

describe('downloadToFile limits', () => {
  it('takes a body of exactly maxBytes', async () => {
    expect((await downloadToFile(`${base}/exactly`, target(), policy)).bytes).toBe(5000);
    expect(await failure(downloadToFile(`${base}/exactly`, target(), { ...policy, maxBytes: 4999 }))).toBe(
      'the cloud copy is 5000 bytes, over the 4999-byte limit',
    );
  });

  it('gives up on a body still arriving when the whole download’s time is up, though it never stalls', async () => {
    expect(await failure(downloadToFile(`${base}/drip`, target(), policy))).toContain(
      'no complete answer within 500 ms',
    );
  });

  it('names the URL in errors without its query string', async () => {
    expect(await failure(downloadToFile(`${base}/gone?token=secret`, target(), policy))).toBe(
      `the cloud copy at ${base}/gone answered 404`,
    );
  });
});

describe('sha256File', () => {
  it('is the hex sha256 of the file’s bytes', async () => {
    const path = target();
    await writeFile(path, BYTES);
    expect(await sha256File(path)).toBe(createHash('sha256').update(BYTES).digest('hex'));
  });
});
