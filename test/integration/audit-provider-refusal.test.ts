import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument, ProvidersDocument, UploadImageDocument } from '../generated/graphql.js';
import { startImgbbEmulator, startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

/**
 * Issue #11 point 9, mutation 2: a provider that refuses a request (400, 401: a bad key, a
 * refused file) answers the same way every time. It must be asked once, and the chain must move
 * on to the next provider; a retry-all policy would send it CLOUD_ATTEMPTS times. The 500 case
 * shows that retries do happen here (CLOUD_ATTEMPTS is 3), so "exactly one request" is not
 * merely what any configuration would give.
 */

const CLOUD_ATTEMPTS = 3;

/** An ImgBB endpoint answering every upload with `status` and ImgBB's error body; counts requests. */
interface Refuser {
  url: string;
  status: number;
  requests: number;
  stop(): Promise<void>;
}

async function startRefuser(): Promise<Refuser> {
  const state = { status: 401, requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    req.resume();
    req.on('end', () => {
      res.writeHead(state.status, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          status_code: state.status,
          error: { message: `refused with ${state.status}`, code: 100 },
          status_txt: 'Refused',
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/1/upload`,
    get status() {
      return state.status;
    },
    set status(s: number) {
      state.status = s;
    },
    get requests() {
      return state.requests;
    },
    set requests(n: number) {
      state.requests = n;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let postimages: Emulator;
let imgbb: Emulator;
let refuser: Refuser;
beforeAll(async () => {
  [postimages, imgbb, refuser] = await Promise.all([startPostImagesEmulator(), startImgbbEmulator(), startRefuser()]);
});
afterAll(async () => {
  await Promise.all([postimages.stop(), imgbb.stop(), refuser.stop()]);
});

/** ImgBB first, PostImages second. */
function env(imgbbUrl: string, imgbbKey: string): Record<string, string> {
  return {
    CLOUD_PROVIDERS: 'imgbb,postimages',
    IMGBB_API_KEY: imgbbKey,
    IMGBB_API_URL: imgbbUrl,
    POSTIMAGES_API_KEY: postimages.apiKey,
    POSTIMAGES_API_URL: postimages.apiUrl,
    CLOUD_ATTEMPTS: String(CLOUD_ATTEMPTS),
    CLOUD_TIMEOUT_MS: '2000',
    CIRCUIT_BREAK_AFTER: '100',
    REPLICATION_POLL_MS: '100',
  };
}

let shade = 0;
/** Distinct bytes for every upload: identical bytes would reuse an earlier cloud copy. */
async function freshPng(): Promise<Buffer> {
  shade += 17;
  return sharp({ create: { width: 32, height: 24, channels: 3, background: { r: shade % 256, g: 90, b: 200 } } })
    .png()
    .toBuffer();
}

async function uploadAndWait(server: TestServer) {
  const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
  const res = await server.gql(
    UploadImageDocument,
    {
      input: {
        conversationId: c.data!.createConversation.id,
        base64: (await freshPng()).toString('base64'),
        waitForCloud: true,
      },
    },
    as('alice'),
  );
  expect(res.errors).toBeUndefined();
  return res.data!.uploadImage.image;
}

describe('a provider refusing with 4xx is asked once; the chain moves on (#11 point 9)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: env(refuser.url, 'any-key') });
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([401, 400, 403])(
    'ImgBB answers %i: one request to it, and the image is REPLICATED on PostImages',
    async (status) => {
      refuser.status = status;
      refuser.requests = 0;
      const before = postimages.uploads.length;
      const image = await uploadAndWait(server);
      expect(refuser.requests, `requests to the provider answering ${status}`).toBe(1);
      expect(image).toMatchObject({ replicationStatus: 'REPLICATED', service: 'POSTIMAGES' });
      expect(image.cloudUrl).toMatch(new RegExp(`^${postimages.origin}/`));
      expect(postimages.uploads.length).toBe(before + 1);
      const providers = (await server.gql(ProvidersDocument, {}, as('alice'))).data!.providers;
      expect(providers.find((p) => p.name === 'IMGBB')!.lastError).toMatch(new RegExp(`status ${status}`));
    },
  );

  it('while a 500 is retried CLOUD_ATTEMPTS times before the chain moves on', async () => {
    refuser.status = 500;
    refuser.requests = 0;
    const image = await uploadAndWait(server);
    expect(refuser.requests).toBe(CLOUD_ATTEMPTS);
    expect(image).toMatchObject({ replicationStatus: 'REPLICATED', service: 'POSTIMAGES' });
  });
});

describe('the ImgBB emulator refusing a wrong key (400, its documented answer)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: env(imgbb.apiUrl, 'not-the-key') });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('is asked once, and the image is REPLICATED on PostImages', async () => {
    const requestsBefore = imgbb.requests;
    const image = await uploadAndWait(server);
    expect(imgbb.requests - requestsBefore).toBe(1);
    expect(imgbb.uploads).toHaveLength(0);
    expect(image).toMatchObject({ replicationStatus: 'REPLICATED', service: 'POSTIMAGES' });
    const providers = (await server.gql(ProvidersDocument, {}, as('alice'))).data!.providers;
    expect(providers.find((p) => p.name === 'IMGBB')!.lastError).toMatch(/status 400: Invalid API v1 key/);
  });
});
