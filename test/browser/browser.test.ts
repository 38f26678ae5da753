import { existsSync } from 'node:fs';
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
if (!available) console.warn(`[skip] browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const FIXTURES = ['chelsea.png', 'coffee.png', 'astronaut.png', 'hubble_deep_field.jpg'].map((f) => `test/fixtures/${f}`);

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
      env: { CLOUD_PROVIDERS: 'postimages', POSTIMAGES_API_KEY: cloud.apiKey, POSTIMAGES_API_URL: cloud.apiUrl, REPLICATION_POLL_MS: '200' },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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
    await page.waitForFunction(() => document.querySelector('.graphiql-response')?.textContent?.includes('totalCount'), undefined, { timeout: 15_000 });
    const response = await page.textContent('.graphiql-response');
    expect(response).toContain('"providers"');
    expect(response).not.toContain('"errors"');
    expect(blocked).toEqual([]);
  });

  it('the demo page uploads photos through a real file input and shows them from the cloud once replicated', async () => {
    await page.goto(`${server.url}/`);
    await page.fill('[data-testid=user]', 'alice');
    await page.press('[data-testid=user]', 'Enter');
    await page.fill('[data-testid=title]', 'Holiday photos');
    await page.click('[data-testid=create]');
    await page.waitForFunction(() => (document.querySelector('[data-testid=conversation]') as HTMLSelectElement).selectedOptions[0]?.textContent?.startsWith('Holiday photos'));
    // The provider answers slowly, so the images show up (from the local copy) before their cloud
    // copies exist: the page must keep polling to see them turn REPLICATED.
    cloud.slowMs = 1500;
    cloud.setMode('slow');
    try {
      await page.setInputFiles('[data-testid=file]', FIXTURES);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=image] img.loaded').length === n, FIXTURES.length, { timeout: 30_000 });
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=replication]')].some((b) => b.textContent?.startsWith('PENDING')), undefined, { timeout: 15_000 });
      // The page polls until replication settles; then every image shows its cloud copy.
      await page.waitForFunction(
        (n) => [...document.querySelectorAll('[data-testid=replication]')].filter((b) => b.textContent?.startsWith('REPLICATED')).length === n,
        FIXTURES.length,
        { timeout: 30_000 },
      );
    } finally {
      cloud.setMode('ok');
    }
    await page.waitForFunction(
      (cdn) => [...document.querySelectorAll<HTMLImageElement>('[data-testid=image] img')].every((img) => img.src.startsWith(cdn) && img.complete && img.naturalWidth > 0),
      new URL(cloud.apiUrl).origin,
      { timeout: 15_000 },
    );
    const imgs = await page.$$eval('[data-testid=image] img', (els) => els.map((e) => ({ loading: (e as HTMLImageElement).loading, width: (e as HTMLImageElement).naturalWidth })));
    expect(imgs).toHaveLength(FIXTURES.length);
    for (const img of imgs) expect(img).toMatchObject({ loading: 'lazy', width: expect.any(Number) });
    // A placeholder is set behind each image for the blur-up.
    expect(await page.$$eval('.frame', (els) => els.every((e) => (e as HTMLElement).style.backgroundImage.startsWith('url("data:image/')))).toBe(true);
    // The README's picture is updated on purpose (npm run screenshot), not by every test run.
    await page.screenshot({ path: process.env['UPDATE_SCREENSHOT'] === '1' ? 'docs/demo.png' : 'test-output/demo.png' });
    expect(blocked).toEqual([]);
  });

  it("shows the server's error message for a file that is not an image", async () => {
    await page.setInputFiles('[data-testid=file]', { name: 'invoice.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n') });
    await page.waitForFunction(() => document.querySelector('[data-testid=error]')?.textContent?.includes('not a supported image'), undefined, { timeout: 15_000 });
    expect(await page.textContent('[data-testid=error]')).toMatch(/invoice\.pdf: The file is not a supported image/);
  });

  it('with the cloud provider gone, the page falls back to the local copy', async () => {
    await cloud.stop();
    await page.reload();
    await page.waitForFunction(
      (n) => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('[data-testid=image] img')];
        return imgs.length === n && imgs.every((img) => img.dataset['fallback'] === 'used' && img.complete && img.naturalWidth > 0);
      },
      FIXTURES.length,
      { timeout: 30_000 },
    );
    const sources = await page.$$eval('[data-testid=image] img', (els) => els.map((e) => (e as HTMLImageElement).src));
    for (const src of sources) expect(src.startsWith(`${server.url}/files/`)).toBe(true);
    expect(blocked).toEqual([]);
  });
});
