import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadToFile, refusal, type DownloadPolicy } from '../../src/cloud/download.js';

/** A CDN on loopback: /img serves bytes; /to?u= redirects; /big streams past any limit; /hang never answers. */
let server: Server;
let base: string;
let dir: string;
const BYTES = Buffer.from('the real image bytes');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-download-'));
  server = createServer((req, res) => {
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
