import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The tests of one mutation group only (stryker.config.mjs sets MUTATE_TESTS), without the web
// bundle build. Replaced, not merged: mergeConfig would append to the base config's lists.
const tests = (process.env['MUTATE_TESTS'] ?? '').split(',').filter(Boolean);

export default defineConfig({ ...base, test: { ...base.test, include: tests, globalSetup: [] } });
