import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startPostImagesEmulator, type Emulator } from '../support/emulators.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * GraphiQL and the demo page in a real browser: Debian's Chromium driven by playwright-core.
 * .ci/run installs it (apt-get install -y chromium); where it is absent these tests are skipped
 * with the reason printed. Every request to a host other than this machine is blocked and counted.
 */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available)
  console.warn(`[skip] browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const FIXTURES = ['chelsea.png', 'coffee.png', 'astronaut.png', 'hubble_deep_field.jpg'].map(
  (f) => `test/fixtures/${f}`,
);

describe.skipIf(!available)('in a real browser', () => {
  let cloud: Emulator;
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const blocked: string[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    cloud = await startPostImagesEmulator();
    server = await startTestServer({
      env: {
        CLOUD_PROVIDERS: 'postimages',
        POSTIMAGES_API_KEY: cloud.apiKey,
        POSTIMAGES_API_URL: cloud.apiUrl,
        REPLICATION_POLL_MS: '200',
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (LOCAL_HOSTS.has(url.hostname)) return route.continue();
      blocked.push(url.href);
      return route.abort();
    });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await cloud?.stop().catch(() => undefined);
  });

  it('GraphiQL loads and runs a query with no request leaving this machine', async () => {
    await page.goto(`${server.url}/graphql`);
    await page.waitForSelector('.graphiql-container');
    await page.click('.graphiql-execute-button');
    await page.waitForFunction(
      () => document.querySelector('.graphiql-response')?.textContent?.includes('totalCount'),
      undefined,
      { timeout: 15_000 },
    );
    const response = await page.textContent('.graphiql-response');
    expect(response).toContain('"providers"');
    expect(response).not.toContain('"errors"');
    expect(blocked).toEqual([]);
  });

  it('the demo page starts empty, posts text, uploads photos with progress bars, and moves their badges by live events alone', async () => {
    await page.goto(`${server.url}/`);
    await page.fill('[data-testid=user]', 'alice');
    await page.press('[data-testid=user]', 'Enter');
    // A new user: an empty state that says what to do, not a blank select.
    await page.waitForFunction(() =>
      document.querySelector<HTMLElement>('[data-testid=empty]')?.textContent?.includes('No conversations yet'),
    );
    expect(await page.isVisible('[data-testid=empty]')).toBe(true);
    await page.waitForFunction(() => document.querySelector('[data-testid=live]')?.textContent === 'live');

    await page.fill('[data-testid=title]', 'Holiday photos');
    await page.click('[data-testid=create]');
    await page.waitForFunction(
      () =>
        (document.querySelector('[data-testid=conversation]') as HTMLSelectElement).selectedOptions[0]?.textContent ===
        'Holiday photos',
    );
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=empty]')?.textContent?.includes('No messages yet'),
    );
    await page.fill('[data-testid=text]', 'Here are the photos from the trip');
    await page.click('[data-testid=send]');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid=message]')].some((m) =>
        m.textContent?.includes('Here are the photos from the trip'),
      ),
    );
    expect(await page.isHidden('[data-testid=empty]')).toBe(true);

    // Every progress bar the page shows, as it shows them.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { progressSeen: number[] }).progressSeen = seen;
      new MutationObserver(() =>
        document.querySelectorAll('progress').forEach((p) => seen.push((p as HTMLProgressElement).value)),
      ).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    // The provider answers slowly, so the images show up (from the local copy) before their
    // cloud copies exist; the page must then learn of REPLICATED without asking again.
    cloud.slowMs = 1500;
    cloud.setMode('slow');
    const posts: string[] = [];
    page.on('request', (r) => r.method() === 'POST' && new URL(r.url()).pathname === '/graphql' && posts.push(r.url()));
    try {
      await page.fill('[data-testid=caption]', 'on the trip');
      await page.setInputFiles('[data-testid=file]', FIXTURES);
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-testid=image] img.loaded').length === n,
        FIXTURES.length,
        { timeout: 30_000 },
      );
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=upload]').length === 0, undefined, {
        timeout: 30_000,
      });
      expect(await page.$$eval('[data-testid=replication]', (els) => els.map((b) => b.textContent))).toEqual(
        expect.arrayContaining([expect.stringMatching(/^PENDING/)]),
      );
      const postsAfterUploads = posts.length;
      await page.waitForFunction(
        (n) =>
          [...document.querySelectorAll('[data-testid=replication]')].filter((b) =>
            b.textContent?.startsWith('REPLICATED'),
          ).length === n,
        FIXTURES.length,
        { timeout: 30_000 },
      );
      // No polling: the badges moved on subscription events, with no GraphQL request over HTTP.
      expect(posts.length).toBe(postsAfterUploads);
    } finally {
      cloud.setMode('ok');
    }
    await page.waitForFunction(
      (cdn) =>
        [...document.querySelectorAll<HTMLImageElement>('[data-testid=image] img')].every(
          (img) => img.src.startsWith(cdn) && img.complete && img.naturalWidth > 0,
        ),
      new URL(cloud.apiUrl).origin,
      { timeout: 15_000 },
    );
    const imgs = await page.$$eval('[data-testid=image] img', (els) =>
      els.map((e) => ({ loading: (e as HTMLImageElement).loading, alt: (e as HTMLImageElement).alt })),
    );
    expect(imgs).toHaveLength(FIXTURES.length);
    for (const img of imgs) expect(img).toEqual({ loading: 'lazy', alt: 'on the trip' });
    expect(await page.$$eval('[data-testid=image] .caption', (els) => els.map((e) => e.textContent))).toEqual(
      FIXTURES.map(() => 'on the trip'),
    );
    // A placeholder is set behind each image for the blur-up.
    expect(
      await page.$$eval('.frame', (els) =>
        els.every((e) => (e as HTMLElement).style.backgroundImage.startsWith('url("data:image/')),
      ),
    ).toBe(true);
    const progress = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
    expect(progress.length).toBeGreaterThan(0);
    // Text first, then one message per photo: the conversation reads as a chat.
    expect(await page.$$eval('[data-testid=message]', (els) => els.length)).toBe(1 + FIXTURES.length);
    // The README's picture is updated on purpose (npm run screenshot), not by every test run.
    await page.screenshot({
      path: process.env['UPDATE_SCREENSHOT'] === '1' ? 'docs/demo.png' : 'test-output/demo.png',
      fullPage: true,
    });
    expect(blocked).toEqual([]);
  });

  it("shows the server's error message for a file that is not an image", async () => {
    await page.setInputFiles('[data-testid=file]', {
      name: 'invoice.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n'),
    });
    await page.waitForFunction(
      () => document.querySelector('[data-testid=error]')?.textContent?.includes('not a supported image'),
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.textContent('[data-testid=error]')).toMatch(/invoice\.pdf: The file is not a supported image/);
  });

  it('removes a deleted image, and its message when nothing else is left in it, whether deleted here or elsewhere', async () => {
    const count = () => page.$$eval('[data-testid=image]', (els) => els.length);
    const messages = () => page.$$eval('[data-testid=message]', (els) => els.length);
    const [images0, messages0] = [await count(), await messages()];
    // Deleted on this page: the last photo's message carries nothing else, so it goes too.
    await page.click('[data-testid=message]:last-of-type [data-testid=delete]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=image]').length === n, images0 - 1);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=message]').length === n, messages0 - 1);
    // Deleted by another client: the DELETED event removes it here.
    const id = await page.$eval(
      '[data-testid=message]:last-of-type [data-testid=image]',
      (e) => (e as HTMLElement).dataset['id']!,
    );
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': 'alice' },
      body: JSON.stringify({
        query: 'mutation($id: ID!) { deleteImage(id: $id) { deletedImageId } }',
        variables: { id },
      }),
    });
    expect(res.status).toBe(200);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=image]').length === n, images0 - 2);
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=message]').length === n, messages0 - 2);
  });

  it('with the cloud provider gone, the page falls back to the local copy', async () => {
    await cloud.stop();
    await page.reload();
    await page.waitForFunction(
      (n) => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('[data-testid=image] img')];
        return (
          imgs.length === n &&
          imgs.every((img) => img.dataset['fallback'] === 'used' && img.complete && img.naturalWidth > 0)
        );
      },
      FIXTURES.length - 2,
      { timeout: 30_000 },
    );
    const sources = await page.$$eval('[data-testid=image] img', (els) => els.map((e) => (e as HTMLImageElement).src));
    for (const src of sources) expect(src.startsWith(`${server.url}/files/`)).toBe(true);
    expect(blocked).toEqual([]);
  });

  it('says an image is not available when neither copy loads, instead of a lasting blur', async () => {
    // The cloud is gone (above); now this server's copy of one image goes too.
    const id = await page.$eval('[data-testid=image]', (e) => (e as HTMLElement).dataset['id']!);
    const { data } = (await (
      await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-id': 'alice' },
        body: JSON.stringify({ query: 'query($id: ID!) { image(id: $id) { localUrl } }', variables: { id } }),
      })
    ).json()) as { data: { image: { localUrl: string } } };
    const key = decodeURIComponent(new URL(data.image.localUrl).pathname.replace(/^\/files\//, ''));
    await rm(join(server.storageDir, key));
    await page.reload();
    await page.waitForFunction(
      (lostId) => document.querySelector(`[data-testid=image][data-id="${lostId}"] [data-testid=lost]`) !== null,
      id,
      { timeout: 30_000 },
    );
    expect(await page.textContent(`[data-testid=image][data-id="${id}"] [data-testid=lost]`)).toMatch(/not available/);
    // The others still show their local copies.
    expect(await page.$$eval('[data-testid=lost]', (els) => els.length)).toBe(1);
  });
});
