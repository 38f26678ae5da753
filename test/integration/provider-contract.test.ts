/**
 * The CloudProvider contract, the same cases over every provider: PostImages and ImgBB against
 * their emulators (test/support/emulators.ts), s3 through the real AWS SDK against s3rver behind
 * a fault proxy (test/support/s3.ts). What the chain relies on: an upload's URL serves the very
 * bytes and is on the provider's allowed origins; server errors, throttling, dropped connections,
 * silence and an aborted signal are retryable failures; refused credentials are not; a provider
 * that offers deletion really deletes. Answer formats peculiar to one host are tested in
 * test/unit/providers.test.ts.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { originRefusal } from '../../src/cloud/allowed-origins.js';
import { ImgbbProvider } from '../../src/cloud/imgbb.js';
import { PostImagesProvider } from '../../src/cloud/postimages.js';
import type { CloudProvider, UploadFile } from '../../src/cloud/provider.js';
import { S3Provider } from '../../src/cloud/s3.js';
import { startImgbbEmulator, startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { startS3, type S3Endpoint } from '../support/s3.js';
import { failure } from '../support/provider-failure.js';

const TIMEOUT_MS = 400;

type Fault = 'ok' | 'serverError' | 'throttled' | 'dropped' | 'silent';

interface Harness {
  make(o?: { timeoutMs?: number }): CloudProvider;
  /** A provider whose credentials the host refuses. */
  refused(): CloudProvider;
  fault(f: Fault): void;
  /** Delay every answer (a distant provider), or 0. */
  slow(ms: number): void;
  stop(): Promise<void>;
}

function emulatorHarness(emu: Emulator, make: (o: { timeoutMs?: number; apiKey?: string }) => CloudProvider): Harness {
  const modes = { ok: 'ok', serverError: 'error500', throttled: 'rate429', dropped: 'reset', silent: 'hang' } as const;
  return {
    make: (o = {}) => make(o),
    refused: () => make({ apiKey: 'wrong' }),
    fault: (f) => emu.setMode(modes[f]),
    slow: (ms) => (emu.latencyMs = ms),
    stop: () => emu.stop(),
  };
}

function s3Harness(s3: S3Endpoint): Harness {
  const modes = { ok: 'ok', serverError: 'internal', throttled: 'slowdown', dropped: 'dead', silent: 'hang' } as const;
  const make = (o: { timeoutMs?: number } = {}) =>
    new S3Provider(s3.providerOptions({ keyPrefix: 'contract/', timeoutMs: o.timeoutMs ?? TIMEOUT_MS }));

  return {
    make,
    refused: () => {
      // s3rver checks no signatures: the proxy answers what S3 answers a refused key.
      s3.mode = 'denied';
      return make();
    },
    fault: (f) => (s3.mode = modes[f]),
    slow: (ms) => (s3.latencyMs = ms),
    stop: () => s3.stop(),
  };
}

const providers: { label: string; deletes: boolean; start: () => Promise<Harness> }[] = [
  {
    label: 'PostImages',
    deletes: true,
    start: async () => {
      const emu = await startPostImagesEmulator();
      return emulatorHarness(
        emu,
        (o) =>
          new PostImagesProvider({
            apiKey: o.apiKey ?? emu.apiKey,
            apiUrl: emu.apiUrl,
            timeoutMs: o.timeoutMs ?? TIMEOUT_MS,
            requireHttps: false,
            extraHosts: [emu.origin],
          }),
      );
    },
  },
  {
    label: 'ImgBB',
    deletes: false,
    start: async () => {
      const emu = await startImgbbEmulator();
      return emulatorHarness(
        emu,
        (o) =>
          new ImgbbProvider({
            apiKey: o.apiKey ?? emu.apiKey,
            apiUrl: emu.apiUrl,
            expirationSeconds: null,
            timeoutMs: o.timeoutMs ?? TIMEOUT_MS,
            requireHttps: false,
            extraHosts: [emu.origin],
          }),
      );
    },
  },
  {
    label: 'S3',
    deletes: true,
    start: async () => s3Harness(await startS3()),
  },
];

let png: Buffer;
let file: UploadFile;
beforeAll(async () => {
  png = await readFile('test/fixtures/chelsea.png');
  file = {
    data: png,
    fileName: 'img_20260101_120000_ab12cd34.png',
    mimeType: 'image/png',
    sha256: createHash('sha256').update(png).digest('hex'),
    ownerId: 'alice',
  };
});

const never = () => new AbortController().signal;

describe.each(providers)('CloudProvider contract: $label', ({ label, deletes, start }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(async () => {
    await h.stop();
  });
  beforeEach(() => {
    h.fault('ok');
    h.slow(0);
  });

  it('uploads, and the URL it returns is on its allowed origins and serves the very bytes', async () => {
    // A success is not a test of the timeout: the short one (TIMEOUT_MS) is for the failure cases.
    // Under load, S3's first request (the SDK is loaded on first use) can take longer than it.
    const provider = h.make({ timeoutMs: 5000 });
    const copy = await provider.upload(file, never());
    expect(originRefusal(copy.url, provider.allowedHosts, false)).toBeNull();
    const served = await fetch(copy.url);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(png)).toBe(true);
  });

  it('succeeds when slow but within the timeout', async () => {
    h.slow(200);
    const copy = await h.make({ timeoutMs: 5000 }).upload(file, never());
    expect((await fetch(copy.url)).status).toBe(200);
  });

  it.each<Fault>(['serverError', 'throttled', 'dropped'])(
    'fails retryably when the provider answers %s',
    async (fault) => {
      h.fault(fault);
      expect((await failure(h.make().upload(file, never()))).retryable).toBe(true);
    },
  );

  it('fails retryably, within its timeout, when the provider never answers', async () => {
    h.fault('silent');
    const t0 = Date.now();
    expect((await failure(h.make().upload(file, never()))).retryable).toBe(true);
    expect(Date.now() - t0).toBeLessThan(TIMEOUT_MS + 1500);
  });

  it('fails retryably when the chain aborts the attempt', async () => {
    h.fault('silent');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    expect((await failure(h.make({ timeoutMs: 10_000 }).upload(file, ac.signal))).retryable).toBe(true);
  });

  it('does not retry refused credentials', async () => {
    const err = await failure(h.refused().upload(file, never()));
    expect(err.retryable).toBe(false);
  });

  it(
    deletes
      ? 'deletes a copy: its URL then answers 404'
      : 'offers no deletion (deleteImage then keeps the copy, and says so)',
    async () => {
      const provider = h.make();
      if (!deletes) {
        expect(provider.delete).toBeUndefined();
        return;
      }
      const copy = await provider.upload(
        { ...file, data: Buffer.concat([png, Buffer.from(label)]), sha256: '' },
        never(),
      );
      expect((await fetch(copy.url)).status).toBe(200);
      await provider.delete!(copy, never());
      expect((await fetch(copy.url)).status).toBe(404);
    },
  );
});
