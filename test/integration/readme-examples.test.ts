import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * The README's `curl` examples, run as a newcomer copies them: taken from the README's `sh`
 * blocks at test time, with only the server's address, the conversation id that
 * createConversation answers, and the photo's path put in. An example that stops working, or a README edit that
 * breaks one, fails here.
 */
const CURL = '/usr/bin/curl';
const available = existsSync(CURL);
if (!available) console.warn(`[skip] README curl examples: no curl at ${CURL} (apt-get install -y curl)`);

const PHOTO = resolve('test/fixtures/hubble_deep_field.jpg');

/** Every `sh` block of the README that calls curl, with its continuation lines joined. */
function curlExamples(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const blocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1] as string);
  return blocks.filter((b) => /^curl /m.test(b)).map((b) => b.replace(/\\\n\s*/g, '').trim());
}

const run = promisify(execFile);
async function sh(command: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  // The server is on loopback: a proxy set in the environment must not be asked.
  const env = { ...process.env, no_proxy: '*', NO_PROXY: '*' };
  const { stdout } = await run('sh', ['-c', command], { timeout: 30_000, env });
  return JSON.parse(stdout) as { data?: Record<string, unknown>; errors?: unknown[] };
}

describe.skipIf(!available)("the README's curl examples, as written", () => {
  let server: TestServer;
  let examples: string[];

  beforeAll(async () => {
    server = await startTestServer();
    examples = curlExamples();
  });
  afterAll(() => server.stop());

  const pick = (what: string) => {
    const found = examples.filter((e) => e.includes(what));
    expect(found, what).toHaveLength(1);
    return (found[0] as string).replaceAll('localhost:4000', new URL(server.url).host);
  };

  it('are the three the README shows: a conversation, an upload into it, and the conversation read back', () => {
    // Every curl example is run below: one added to the README has to be added here too.
    expect(examples).toHaveLength(3);
    for (const e of examples) expect(e).toContain('localhost:4000/graphql');
    expect(pick('uploadImage')).toContain('"<conversation id>"');
    expect(pick('uploadImage')).toContain('0=@photo.jpg');
    expect(pick('conversation(id: $c)')).toContain('"<conversation id>"');
  });

  it('create a conversation, upload a photo into it that is stored and served, and read both back in one query', async () => {
    const created = await sh(pick('createConversation'));
    expect(created.errors).toBeUndefined();
    const conversation = created.data?.createConversation as { id: string; title: string };
    expect(conversation.title).toBe('Hello');

    const uploaded = await sh(
      pick('uploadImage')
        .replace('<conversation id>', conversation.id)
        .replace('0=@photo.jpg', `'0=@${PHOTO.replaceAll("'", "'\\''")}'`),
    );
    expect(uploaded.errors).toBeUndefined();
    const image = (uploaded.data?.uploadImage as { image: Record<string, unknown> }).image;
    expect(image.width).toBeGreaterThan(0);
    expect(image.height).toBeGreaterThan(0);
    // Without a cloud provider the display URL is the local copy: fetch it, as a frontend would.
    const served = await fetch(image.displayUrl as string);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^image\//);
    const thumb = await fetch(image.thumbnailUrl as string);
    expect(thumb.status).toBe(200);

    const read = await sh(pick('conversation(id: $c)').replace('<conversation id>', conversation.id));
    expect(read.errors).toBeUndefined();
    const loaded = read.data?.conversation as {
      title: string;
      messages: { edges: { node: { images: { displayUrl: string; width: number; placeholder: string }[] } }[] };
    };
    expect(loaded.title).toBe('Hello');
    const images = loaded.messages.edges.flatMap((e) => e.node.images);
    expect(images).toHaveLength(1);
    expect(images[0]?.width).toBe(image.width);
    expect(images[0]?.placeholder).toMatch(/^data:image\/webp;base64,/);
  });
});
