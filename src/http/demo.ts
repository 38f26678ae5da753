import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';
import { projectRoot } from '../project-root.js';

export const DEMO_ROOT = join(projectRoot(), 'dist', 'web');

/**
 * The demo page at `/` and its bundle at `/demo/*`, built from web/ by `npm run build`
 * (scripts/build-web.mjs). Without a build, `/` says how to make one.
 */
export function createDemoRouter(root = DEMO_ROOT): Router {
  const router = Router();
  const security = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };
  router.get('/', (_req, res) => {
    const index = join(root, 'index.html');
    if (!existsSync(index)) {
      res
        .status(404)
        .type('text/plain')
        .send('The demo page is not built: run `npm run build`, then reload. GraphiQL is at /graphql.');
      return;
    }
    res.set({ ...security, 'Cache-Control': 'no-cache' }).sendFile(index);
  });
  router.use(
    '/demo',
    express.static(root, { index: false, fallthrough: true, maxAge: 0, setHeaders: (res) => res.set(security) }),
  );
  return router;
}
