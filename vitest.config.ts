import { createRequire } from 'node:module';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// esbuild (vitest's default transformer) emits no decorator metadata, which
// type-graphql needs to infer field types; swc does.
const require = createRequire(import.meta.url);

export default defineConfig({
  // graphql 16 ships both CommonJS and ESM builds. Node loads type-graphql and Apollo with the
  // CommonJS one; Vite would give our code the ESM one, and graphql refuses objects from the
  // other build ("from another module or realm"). Point Vite at the same file Node uses.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/setup.ts'],
    globalSetup: ['test/support/build-web.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
