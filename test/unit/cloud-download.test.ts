import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError, downloadToFile, refusal, sha256File, type DownloadPolicy } from '../../src/cloud/download.js';

/**
 * A CDN on loopback: /img serves bytes; /to?u= redirects; /hops?n= redirects n times; /status?code=
 * answers that status with a Location; /big streams past any limit; /drip never stalls but never
 * ends in time; /hang never answers. Every request is noted in `seen`.
 */
let server: Server;
let base: string;
let dir: string;
const BYTES = Buffer.from('the real image bytes');
const seen: { method: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-download-'));
  server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/img') return res.writeHead(200, { 'Content-Length': BYTES.length }).end(BYTES);
    if (url.pathname === '/to') return res.writeHead(302, { Location: url.searchParams.get('u') ?? '/' }).end();
    if (url.pathname === '/loop') return res.writeHead(301, { Location: '/loop' }).end();
    if (url.pathname === '/declared-big')
      return res.writeHead(200, { 'Content-Length': 10_000 }).end(Buffer.alloc(10_000));
    if (url.pathname === '/chunked-big') {
      res.writeHead(200);
      for (let i = 0; i < 20; i++) res.write(Buffer.alloc(1000));
      return res.end();
    }
    if (url.pathname === '/hops') {
      const n = Number(url.searchParams.get('n'));
      return res.writeHead(302, { Location: n > 1 ? `/hops?n=${n - 1}` : '/img' }).end();
    }
    if (url.pathname === '/status')
      return res
        .writeHead(Number(url.searchParams.get('code')), { Location: url.searchParams.get('to') ?? '/img' })
        .end();
    if (url.pathname === '/no-location') return res.writeHead(304).end();
    if (url.pathname === '/exactly') return res.writeHead(200, { 'Content-Length': 5000 }).end(Buffer.alloc(5000, 7));
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
    if (url.pathname === '/gone') return res.writeHead(404).end('not found');
    if (url.pathname === '/hang') return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The server's whole origin is allowed, port included: 127.0.0.1 on any other port is not.
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

describe('downloadToFile', () => {
  it('downloads within the allow list and returns size and sha256', async () => {
    const path = target();
    const got = await downloadToFile(`${base}/img`, path, policy);
    expect(got).toEqual({ bytes: BYTES.length, sha256: createHash('sha256').update(BYTES).digest('hex') });
    expect(await readFile(path)).toEqual(BYTES);
  });

  it('follows a redirect that stays in the allow list', async () => {
    const path = target();
    await downloadToFile(`${base}/to?u=${encodeURIComponent(`${base}/img`)}`, path, policy);
    expect(await readFile(path)).toEqual(BYTES);
  });

  it('refuses a redirect out of the allow list, before connecting to it', async () => {
    const path = target();
    const out = `${base.replace('127.0.0.1', 'localhost')}/img`;
    await expect(downloadToFile(`${base}/to?u=${encodeURIComponent(out)}`, path, policy)).rejects.toThrow(
      /redirected to a refused URL: .*origin http:\/\/localhost:\d+ is not one of/,
    );
    // The same host on another port is another service: refused before connecting.
    const otherPort = `http://127.0.0.1:1/img`;
    await expect(downloadToFile(`${base}/to?u=${encodeURIComponent(otherPort)}`, path, policy)).rejects.toThrow(
      /redirected to a refused URL: .*127\.0\.0\.1:1 is not one of/,
    );
    await expect(downloadToFile(otherPort, path, policy)).rejects.toThrow(/127\.0\.0\.1:1 is not one of/);
    await expect(downloadToFile(`${base.replace('http://', 'http://evil@')}/img`, path, policy)).rejects.toThrow(
      /credentials/,
    );
    await expect(
      downloadToFile(`${base}/to?u=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`, path, policy),
    ).rejects.toThrow(/169\.254\.169\.254/);
    expect(existsSync(path)).toBe(false);
  });

  it('stops after maxRedirects', async () => {
    await expect(downloadToFile(`${base}/loop`, target(), policy)).rejects.toThrow(/more than 2 redirects/);
  });

  it('refuses a body over the size cap, declared or streamed, and leaves no file', async () => {
    const a = target();
    await expect(downloadToFile(`${base}/declared-big`, a, policy)).rejects.toThrow(
      /10000 bytes, over the 5000-byte limit/,
    );
    const b = target();
    await expect(downloadToFile(`${base}/chunked-big`, b, policy)).rejects.toThrow(/5000/);
    expect(existsSync(a) || existsSync(b)).toBe(false);
  });

  it('gives up on a host that does not answer within the timeout', async () => {
    const started = Date.now();
    const path = target();
    await expect(downloadToFile(`${base}/hang`, path, policy)).rejects.toThrow(/within 500 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(existsSync(path)).toBe(false);
  });

  it('reports a missing cloud copy by its status', async () => {
    await expect(downloadToFile(`${base}/gone`, target(), policy)).rejects.toThrow(/answered 404/);
  });
});

describe('refusal', () => {
  it('allows only listed hosts, https in production, and no credentials', () => {
    expect(refusal('https://i.postimg.cc/a/b.jpg', { allowedHosts: ['i.postimg.cc'], requireHttps: true })).toBeNull();
    expect(refusal('http://i.postimg.cc/a/b.jpg', { allowedHosts: ['i.postimg.cc'], requireHttps: true })).toMatch(
      /https only/,
    );
    expect(
      refusal('https://user:pw@i.postimg.cc/a.jpg', { allowedHosts: ['i.postimg.cc'], requireHttps: true }),
    ).toMatch(/credentials/);
    expect(refusal('file:///etc/passwd', { allowedHosts: ['i.postimg.cc'], requireHttps: false })).toMatch(
      /scheme "file:"/,
    );
    expect(
      refusal('https://i.postimg.cc.evil.example/a.jpg', { allowedHosts: ['i.postimg.cc'], requireHttps: true }),
    ).toMatch(/RESTORE_ALLOWED_HOSTS.*is not one of/);
    expect(refusal('https://i.postimg.cc:8443/a.jpg', { allowedHosts: ['i.postimg.cc'], requireHttps: true })).toMatch(
      /i\.postimg\.cc:8443 is not one of/,
    );
    expect(refusal('not a url', { allowedHosts: [], requireHttps: false })).toMatch(/not a valid URL/);
  });
});

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

/*
 * The edges below were written to kill the mutants `npm run mutate -- cloud-download` found
 * surviving (README: Mutation testing).
 */
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
