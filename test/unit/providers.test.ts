import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classify, parseRetryAfter } from '../../src/cloud/http.js';
import { ImgbbProvider } from '../../src/cloud/imgbb.js';
import { PostImagesProvider } from '../../src/cloud/postimages.js';
import { checkCloudUrl, type CloudProvider, ProviderError, type UploadFile } from '../../src/cloud/provider.js';
import { type Emulator, type Mode, startImgbbEmulator, startPostImagesEmulator } from '../support/emulators.js';
import { failure } from '../support/provider-failure.js';

const TIMEOUT_MS = 300;

let png: Buffer;
let file: UploadFile;

beforeAll(async () => {
  png = await readFile(new URL('../fixtures/chelsea.png', import.meta.url));
  file = {
    data: png,
    fileName: 'img_20260101_120000_ab12cd34.png',
    mimeType: 'image/png',
    sha256: createHash('sha256').update(png).digest('hex'),
  };
});

const never = () => new AbortController().signal;

async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

interface Case {
  label: string;
  start: () => Promise<Emulator>;
  make: (emu: Emulator, o?: { apiKey?: string; timeoutMs?: number; requireHttps?: boolean }) => CloudProvider;
}

const cases: Case[] = [
  {
    label: 'ImgBB',
    start: () => startImgbbEmulator(),
    make: (emu, o = {}) =>
      new ImgbbProvider({
        apiKey: o.apiKey ?? emu.apiKey,
        apiUrl: emu.apiUrl,
        expirationSeconds: 600,
        timeoutMs: o.timeoutMs ?? TIMEOUT_MS,
        requireHttps: o.requireHttps ?? false,
        extraHosts: [emu.origin],
      }),
  },
  {
    label: 'PostImages',
    start: () => startPostImagesEmulator(),
    make: (emu, o = {}) =>
      new PostImagesProvider({
        apiKey: o.apiKey ?? emu.apiKey,
        apiUrl: emu.apiUrl,
        timeoutMs: o.timeoutMs ?? TIMEOUT_MS,
        requireHttps: o.requireHttps ?? false,
        extraHosts: [emu.origin],
      }),
  },
];

describe.each(cases)('$label provider against its emulator', ({ label, start, make }) => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await start();
  });
  afterAll(() => emu.stop());
  beforeEach(() => emu.setMode('ok'));

  it('uploads, and the returned URL serves the same bytes', async () => {
    const copy = await make(emu).upload(file, never());
    expect(new URL(copy.url).hostname).toBe('127.0.0.1');
    expect((await fetchBytes(copy.url)).equals(png)).toBe(true);
    expect(copy.deleteUrl).toMatch(/\/delete\//);
    expect(copy.providerId).toMatch(/\S/); // the provider's id or page URL of the copy
    const seen = emu.uploads.at(-1)!;
    expect(seen.bytes.equals(png)).toBe(true);
    expect(seen.fields).toMatchObject({ key: emu.apiKey, name: 'img_20260101_120000_ab12cd34' });
    expect(seen.fields.image).toBe(png.toString('base64'));
  });

  it('still succeeds when the provider is slow but within the timeout', async () => {
    emu.setMode('slow');
    const copy = await make(emu, { timeoutMs: 5000 }).upload(file, never());
    expect((await fetchBytes(copy.url)).equals(png)).toBe(true);
  });

  it.each<[Mode, number]>([
    ['error500', 500],
    ['rate429', 429],
  ])('%s is retryable', async (mode, status) => {
    emu.setMode(mode);
    const err = await failure(make(emu).upload(file, never()));
    expect(err.retryable).toBe(true);
    expect(err.options.status).toBe(status);
    if (mode === 'rate429') expect(err.options.retryAfterMs).toBe(1000);
  });

  it('a reset connection is retryable', async () => {
    emu.setMode('reset');
    const err = await failure(make(emu).upload(file, never()));
    expect(err.retryable).toBe(true);
  });

  it('a provider that never answers fails retryably within the timeout', async () => {
    emu.setMode('hang');
    const t0 = Date.now();
    const err = await failure(make(emu).upload(file, never()));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/in time/);
    expect(Date.now() - t0).toBeLessThan(TIMEOUT_MS + 1000);
  });

  it('a slow answer past the timeout is a retryable timeout', async () => {
    emu.setMode('slow');
    emu.slowMs = 2000;
    try {
      const err = await failure(make(emu, { timeoutMs: 200 }).upload(file, never()));
      expect(err.retryable).toBe(true);
    } finally {
      emu.slowMs = 300;
    }
  });

  it('an aborted signal is reported as a retryable failure', async () => {
    emu.setMode('hang');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await failure(make(emu, { timeoutMs: 5000 }).upload(file, ac.signal));
    expect(err.retryable).toBe(true);
  });

  it.each<[Mode, RegExp]>([
    ['malformed', /not (JSON|XML)/],
    ['html', /HTML/],
    ['nourl', /without (data\.url|a <hotlink>)/],
    ['wronghost', /origin http:\/\/localhost:\d+ is not one of/],
    // The provider's own host on another port: a service beside it (or beside us, self-hosted).
    ['otherport', /origin http:\/\/127\.0\.0\.1:1 is not one of/],
    ['userinfo', /carries credentials/],
    ['huge', /larger|exceed|maxContentLength|cap/i],
  ])('%s is not retryable and says why', async (mode, reason) => {
    emu.setMode(mode);
    const before = emu.uploads.length;
    const err = await failure(make(emu).upload(file, never()));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(reason);
    expect(emu.uploads.length - before).toBeLessThanOrEqual(1);
  });

  it('a wrong API key is not retryable', async () => {
    const err = await failure(make(emu, { apiKey: 'wrong' }).upload(file, never()));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(label === 'ImgBB' ? /Invalid API v1 key/ : /success="0"/);
    if (label === 'ImgBB') expect(err.options.status).toBe(400);
  });

  it('an http URL is refused when https is required', async () => {
    const err = await failure(make(emu, { requireHttps: true }).upload(file, never()));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/scheme "http:"/);
  });

  it("'altered' mode serves different bytes back", async () => {
    const copy = await make(emu).upload(file, never());
    emu.setMode('altered');
    const served = await fetchBytes(copy.url);
    expect(served.length).toBe(png.length);
    expect(served.equals(png)).toBe(false);
  });
});

describe('provider specifics', () => {
  it('ImgBB sends expiration only when configured, and offers no delete', async () => {
    const emu = await startImgbbEmulator();
    try {
      const base = {
        apiKey: emu.apiKey,
        apiUrl: emu.apiUrl,
        timeoutMs: 2000,
        requireHttps: false,
        extraHosts: [emu.origin],
      };
      await new ImgbbProvider({ ...base, expirationSeconds: 600 }).upload(file, never());
      expect(emu.uploads.at(-1)!.fields.expiration).toBe('600');
      const plain: CloudProvider = new ImgbbProvider({ ...base, expirationSeconds: null });
      await plain.upload(file, never());
      expect(emu.uploads.at(-1)!.fields).not.toHaveProperty('expiration');
      expect(plain.delete).toBeUndefined();
      expect(plain.allowedHosts).toEqual(['i.ibb.co', emu.origin]);
    } finally {
      await emu.stop();
    }
  });

  it('PostImages sends the desktop-client fields and deletes through the delete URL', async () => {
    const emu = await startPostImagesEmulator();
    try {
      const p = new PostImagesProvider({
        apiKey: emu.apiKey,
        apiUrl: emu.apiUrl,
        timeoutMs: 2000,
        requireHttps: false,
        extraHosts: [emu.origin],
      });
      expect(p.allowedHosts).toEqual(['i.postimg.cc', emu.origin]);
      const copy = await p.upload(file, never());
      const { fields } = emu.uploads.at(-1)!;
      expect(fields).toMatchObject({
        version: '1.0.1',
        portable: '1',
        type: 'png',
        name: 'img_20260101_120000_ab12cd34',
      });
      expect(fields.o).toBe(createHash('md5').update('hybrid-image-store').digest('hex'));
      expect(fields.m).toMatch(/^[0-9a-f]{32}$/);
      await p.delete(copy, never());
      expect(emu.deletions).toHaveLength(1);
      expect(copy.deleteUrl).toMatch(new RegExp(`/delete/${emu.deletions[0]}$`));
    } finally {
      await emu.stop();
    }
  });

  it('PostImages refuses to follow a delete URL off its own hosts', async () => {
    const p = new PostImagesProvider({
      apiKey: 'k',
      apiUrl: 'http://127.0.0.1:1/1/upload',
      timeoutMs: 500,
      requireHttps: true,
    });
    const err = await failure(
      p.delete(
        { url: 'https://i.postimg.cc/a/b.png', deleteUrl: 'https://evil.example/delete/x', providerId: null },
        never(),
      ),
    );
    expect(err.retryable).toBe(false);
  });

  it('a refused connection is retryable', async () => {
    const emu = await startImgbbEmulator();
    await emu.stop();
    const p = new ImgbbProvider({
      apiKey: emu.apiKey,
      apiUrl: emu.apiUrl,
      expirationSeconds: null,
      timeoutMs: 1000,
      requireHttps: false,
    });
    const err = await failure(p.upload(file, never()));
    expect(err.retryable).toBe(true);
  });
});

describe('checkCloudUrl and Retry-After', () => {
  it('accepts only parsable URLs on allowed hosts with the required scheme', () => {
    expect(checkCloudUrl('https://i.ibb.co/a/b.png', ['i.ibb.co'], true)).toBe('https://i.ibb.co/a/b.png');
    expect(checkCloudUrl('http://I.IBB.CO/a.png', ['i.ibb.co'], false)).toBe('http://i.ibb.co/a.png');
    for (const [url, https] of [
      ['not a url', false],
      ['http://i.ibb.co/a.png', true],
      ['ftp://i.ibb.co/a.png', false],
      ['javascript:alert(1)', false],
      ['https://i.ibb.co.evil.example/a.png', true],
      ['https://evili.ibb.co/a.png', true],
      ['https://i.ibb.co:8443/a.png', true],
      ['https://user@i.ibb.co/a.png', true],
      ['https://:pw@i.ibb.co/a.png', true],
    ] as const) {
      expect(() => checkCloudUrl(url, ['i.ibb.co'], https)).toThrow(ProviderError);
    }
  });

  it('matches an allowed entry by scheme, host and port', () => {
    const origin = ['http://127.0.0.1:4010'];
    expect(checkCloudUrl('http://127.0.0.1:4010/i/a.png', origin, false)).toBe('http://127.0.0.1:4010/i/a.png');
    for (const url of [
      'http://127.0.0.1:4011/i/a.png',
      'https://127.0.0.1:4010/i/a.png',
      'http://127.0.0.1/i/a.png',
      'http://localhost:4010/i/a.png',
    ]) {
      expect(() => checkCloudUrl(url, origin, false), url).toThrow(ProviderError);
    }
    // host:port allows that port on https (and http where it is allowed), and nothing else.
    expect(checkCloudUrl('https://cdn.example:8443/a.png', ['cdn.example:8443'], true)).toBe(
      'https://cdn.example:8443/a.png',
    );
    expect(() => checkCloudUrl('https://cdn.example/a.png', ['cdn.example:8443'], true)).toThrow(ProviderError);
    // A bare host allows only the default port: https://i.ibb.co:443 is the same origin.
    expect(checkCloudUrl('https://i.ibb.co:443/a.png', ['i.ibb.co'], true)).toBe('https://i.ibb.co/a.png');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('classifies statuses: 5xx and 429 retryable, other 4xx not, 2xx passes', () => {
    const res = (status: number) => ({ status, statusText: '', headers: {}, config: {}, data: '' }) as never;
    expect(classify(res(200))).toBeNull();
    expect(classify(res(503))?.retryable).toBe(true);
    expect(classify(res(429))?.retryable).toBe(true);
    expect(classify(res(404))?.retryable).toBe(false);
    expect(classify(res(301))?.retryable).toBe(false);
  });
});
