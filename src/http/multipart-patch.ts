import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * graphql-upload-minimal 1.6.4 ends the process on some malformed multipart bodies: it listens
 * to busboy's errors with `once`, and destroying the parser emits a second one. The fix lives in
 * `patches/graphql-upload-minimal+1.6.4.patch`, applied by patch-package on `npm install`
 * (the `postinstall` script). An install made with `--ignore-scripts` would skip it silently,
 * and one request could then stop the server for everyone, so the server refuses to start
 * without it.
 */
export function assertMultipartParserPatched(source = readParserSource()): void {
  if (!source.includes('parser.on("error", exit)')) {
    throw new Error(
      'graphql-upload-minimal is not patched: run `npx patch-package` (npm install with --ignore-scripts skips it). ' +
        'Without patches/graphql-upload-minimal+1.6.4.patch a single malformed upload ends the process.',
    );
  }
}

function readParserSource(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its index (public/index.js); processRequest.js sits beside it.
  return readFileSync(join(dirname(require.resolve('graphql-upload-minimal')), 'processRequest.js'), 'utf8');
}
