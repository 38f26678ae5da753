// Bundles the demo page (web/) into dist/web: one JS file for the browser, from the project's own
// TypeScript sources, no CDN. Part of `npm run build`; the tests run it once before the suite.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(root, 'web', 'demo.ts')],
  outfile: join(out, 'demo.js'),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'demo.css']) await copyFile(join(root, 'web', file), join(out, file));
