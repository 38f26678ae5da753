import { Router } from 'express';
import sharp from 'sharp';

/**
 * The icon of the demo page and GraphiQL: two overlapping frames (a copy here, a copy in the
 * cloud). Inline, so it needs no build step and no file on disk.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect x="3" y="7" width="19" height="16" rx="3" fill="#2563eb"/>
<rect x="10" y="11" width="19" height="16" rx="3" fill="#f59e0b" stroke="#fff" stroke-width="2"/>
<circle cx="16" cy="17" r="2.2" fill="#fff"/>
<path d="M12 25l5-5 3 3 3-4 5 6z" fill="#fff"/>
</svg>`;

/** The `<link>` both pages carry, so browsers ask for the SVG instead of /favicon.ico. */
export const FAVICON_LINK = '<link rel="icon" href="/favicon.svg" type="image/svg+xml">';

/**
 * GET /favicon.svg, and GET /favicon.ico for clients that ask for it anyway: a 32 px PNG (every
 * browser takes a PNG under that name), drawn from the SVG once, on first request.
 */
export function createFaviconRouter(): Router {
  const router = Router();
  const headers = { 'Cache-Control': 'public, max-age=86400', 'X-Content-Type-Options': 'nosniff' };
  let png: Promise<Buffer> | null = null;
  router.get('/favicon.svg', (_req, res) => {
    res.set(headers).type('image/svg+xml').send(FAVICON_SVG);
  });
  router.get('/favicon.ico', (_req, res, next) => {
    png ??= sharp(Buffer.from(FAVICON_SVG)).resize(32, 32).png().toBuffer();
    png.then((data) => res.set(headers).type('image/png').send(data), next);
  });
  return router;
}
