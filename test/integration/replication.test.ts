import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConversationDocument,
  ImageDocument,
  ProvidersDocument,
  RequeueImageReplicationDocument,
  UploadImageDocument,
} from '../generated/graphql.js';
import { startImgbbEmulator, startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { eventually } from '../support/eventually.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

const coffee = await readFile('test/fixtures/coffee.png');
const chelsea = await readFile('test/fixtures/chelsea.png');
const hubble = await readFile('test/fixtures/hubble_deep_field.jpg');

let postimages: Emulator;
let imgbb: Emulator;
beforeAll(async () => {
  postimages = await startPostImagesEmulator();
  imgbb = await startImgbbEmulator();
});
afterAll(async () => {
  await postimages.stop();
  await imgbb.stop();
});
afterEach(() => {
  postimages.setMode('ok');
  imgbb.setMode('ok');
});

function cloudEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    POSTIMAGES_API_KEY: postimages.apiKey,
    POSTIMAGES_API_URL: postimages.apiUrl,
    IMGBB_API_KEY: imgbb.apiKey,
    IMGBB_API_URL: imgbb.apiUrl,
    CLOUD_TIMEOUT_MS: '400',
    CLOUD_ATTEMPTS: '2',
    REPLICATION_BACKOFF_BASE_MS: '100',
    REPLICATION_POLL_MS: '100',
    ...extra,
  };
}

async function upload(server: TestServer, data: Buffer, waitForCloud = true) {
  const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
  const res = await server.gql(
    UploadImageDocument,
    { input: { conversationId: c.data!.createConversation.id, base64: data.toString('base64'), waitForCloud } },
    as('alice'),
  );
  expect(res.errors).toBeUndefined();
  return res.data!.uploadImage.image;
}

describe('the provider chain', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: cloudEnv({ CIRCUIT_BREAK_AFTER: '100' }) });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('replicates to PostImages first; displayUrl is the cloud copy, fallbackUrl the local one', async () => {
    const before = postimages.uploads.length;
    const image = await upload(server, coffee);
    expect(image).toMatchObject({ replicationStatus: 'REPLICATED', service: 'POSTIMAGES' });
    expect(image.cloudUrl).toMatch(new RegExp(`^${postimages.origin}/`));
    expect(image.displayUrl).toBe(image.cloudUrl);
    expect(image.fallbackUrl).toBe(image.localUrl);
    expect(postimages.uploads.length).toBe(before + 1);
    const served = Buffer.from(await (await fetch(image.cloudUrl!)).arrayBuffer());
    const local = Buffer.from(await (await fetch(image.localUrl!)).arrayBuffer());
    expect(served.equals(local)).toBe(true);
  });

  it('falls back to ImgBB when PostImages answers 500', async () => {
    postimages.setMode('error500');
    const image = await upload(server, chelsea);
    expect(image).toMatchObject({ replicationStatus: 'REPLICATED', service: 'IMGBB' });
    expect(imgbb.uploads.at(-1)?.fields['key']).toBe(imgbb.apiKey);
  });

  it('falls back to ImgBB when PostImages hangs, after the per-attempt timeout', async () => {
    postimages.setMode('hang');
    const started = Date.now();
    const image = await upload(server, hubble);
    expect(image).toMatchObject({ replicationStatus: 'REPLICATED', service: 'IMGBB' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it.each([
    ['html', 101],
    ['nourl', 102],
    ['wronghost', 103],
    ['malformed', 104],
  ] as const)('never stores a bogus cloud URL when a provider answers %s', async (mode, width) => {
    postimages.setMode(mode);
    imgbb.setMode(mode);
    // Bytes of its own, so no earlier cloud copy of the same bytes is reused.
    const image = await upload(
      server,
      await (await import('sharp')).default(coffee).resize(width).png().toBuffer(),
      true,
    );
    expect(image).toMatchObject({ replicationStatus: 'RETRYING', service: 'LOCAL', cloudUrl: null });
    expect(image.displayUrl).toBe(image.localUrl);
  });

  it('with both providers down the image is RETRYING, then REPLICATED by the worker once one answers', async () => {
    postimages.setMode('error500');
    imgbb.setMode('error500');
    const image = await upload(server, await readFile('test/fixtures/astronaut.png'));
    expect(image.replicationStatus).toBe('RETRYING');
    postimages.setMode('ok');
    const later = await eventually(
      async () => (await server.gql(ImageDocument, { id: image.id }, as('alice'))).data!.image!,
      (i) => i.replicationStatus === 'REPLICATED',
    );
    expect(later).toMatchObject({ replicationStatus: 'REPLICATED', service: 'POSTIMAGES' });
  });

  it('waitForCloud false returns PENDING at once and the worker replicates in the background', async () => {
    const data = await (await import('sharp')).default(coffee).resize(300).png().toBuffer();
    const image = await upload(server, data, false);
    expect(image.replicationStatus).toBe('PENDING');
    const later = await eventually(
      async () => (await server.gql(ImageDocument, { id: image.id }, as('alice'))).data!.image!,
      (i) => i.replicationStatus === 'REPLICATED',
    );
    expect(later.replicationStatus).toBe('REPLICATED');
  });

  it('reuses the cloud copy of identical bytes from the same owner instead of uploading twice', async () => {
    const data = await (await import('sharp')).default(chelsea).resize(200).png().toBuffer();
    const first = await upload(server, data);
    // Counted by these bytes, not by all uploads: the worker may meanwhile retry the RETRYING
    // images of the tests above, which made this count one too many now and then.
    const stored = Buffer.from(await (await fetch(first.localUrl!)).arrayBuffer());
    const sent = () => [...postimages.uploads, ...imgbb.uploads].filter((u) => u.bytes.equals(stored)).length;
    expect(sent()).toBe(1);
    const second = await upload(server, data);
    expect(second.cloudUrl).toBe(first.cloudUrl);
    expect(second.replicationStatus).toBe('REPLICATED');
    expect(sent()).toBe(1);
  });

  it('reports each provider in Query.providers and in /metrics', async () => {
    const res = await server.gql(ProvidersDocument, {}, as('alice'));
    const byName = Object.fromEntries(res.data!.providers.map((p) => [p.name, p]));
    expect(byName['POSTIMAGES']).toMatchObject({ enabled: true, circuit: 'CLOSED' });
    expect(byName['POSTIMAGES']!.uploads).toBeGreaterThan(0);
    expect(byName['POSTIMAGES']!.failures).toBeGreaterThan(0);
    expect(byName['IMGBB']!.enabled).toBe(true);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/his_cloud_uploads_total\{provider="postimages",outcome="replicated"\} [1-9]/);
    expect(metrics).toMatch(/his_replication_queue_depth \d+/);
    expect(metrics).toMatch(/his_provider_circuit_state\{provider="imgbb"\} 0/);
    expect(metrics).toMatch(/process_resident_memory_bytes/);
  });
});

describe('the circuit breaker', () => {
  it('opens after repeated failures, so a dead primary costs a fast failure, and half-opens later', async () => {
    const server = await startTestServer({
      env: cloudEnv({ CIRCUIT_BREAK_AFTER: '2', CIRCUIT_HALF_OPEN_SECONDS: '2', CLOUD_ATTEMPTS: '1' }),
    });
    try {
      postimages.setMode('hang');
      const images = [coffee, chelsea].map((b, i) => Buffer.concat([b, Buffer.alloc(i)]));
      for (const data of images) expect((await upload(server, data)).service).toBe('IMGBB'); // each waits out the timeout
      const providers = await server.gql(ProvidersDocument, {}, as('alice'));
      expect(providers.data!.providers.find((p) => p.name === 'POSTIMAGES')!.circuit).toBe('OPEN');

      // With the circuit open the dead primary is not even called: no timeout is paid.
      const requestsBefore = postimages.requests;
      const fast = await upload(server, hubble);
      expect(fast.service).toBe('IMGBB');
      expect(postimages.requests).toBe(requestsBefore);

      postimages.setMode('ok');
      await new Promise((r) => setTimeout(r, 2100));
      const recovered = await upload(server, await readFile('test/fixtures/astronaut.png'));
      expect(recovered.service).toBe('POSTIMAGES');
    } finally {
      await server.stop();
    }
  });
});

describe('giving up and requeueing', () => {
  it('after the configured attempts an image is LOCAL_ONLY; only an admin can requeue it, and then it replicates', async () => {
    const server = await startTestServer({
      env: cloudEnv({ REPLICATION_MAX_ATTEMPTS: '2', CIRCUIT_BREAK_AFTER: '100' }),
    });
    try {
      postimages.setMode('error500');
      imgbb.setMode('error500');
      const data = await (await import('sharp')).default(coffee).resize(77).png().toBuffer();
      const image = await upload(server, data);
      expect(image.replicationStatus).toBe('RETRYING');
      const gaveUp = await eventually(
        async () => (await server.gql(ImageDocument, { id: image.id }, as('alice'))).data!.image!,
        (i) => i.replicationStatus === 'LOCAL_ONLY',
      );
      expect(gaveUp.replicationStatus).toBe('LOCAL_ONLY');
      expect(server.logs.some((l) => String(l['msg']).includes('gave up'))).toBe(true);

      postimages.setMode('ok');
      imgbb.setMode('ok');
      const refused = await server.gql(RequeueImageReplicationDocument, { id: image.id }, as('alice'));
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const requeued = await server.gql(RequeueImageReplicationDocument, { id: image.id }, as('ops', ['admin']));
      expect(requeued.data!.requeueImageReplication.replicationStatus).toBe('PENDING');
      const done = await eventually(
        async () => (await server.gql(ImageDocument, { id: image.id }, as('alice'))).data!.image!,
        (i) => i.replicationStatus === 'REPLICATED',
      );
      expect(done).toMatchObject({ replicationStatus: 'REPLICATED', service: 'POSTIMAGES' });
    } finally {
      await server.stop();
    }
  });
});
