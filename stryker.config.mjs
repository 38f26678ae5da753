// @ts-check
/**
 * Mutation testing (`npm run mutate`, scripts/mutate.mjs): Stryker changes one thing at a time in
 * the modules where a bug costs data or safety, and runs the tests that cover that module; a
 * mutant the tests do not notice "survives". One group per module, chosen by MUTATE_GROUP, so
 * each runs only against its own tests (vitest.mutate.config.ts reads MUTATE_TESTS).
 */
export const groups = {
  'url-signing': {
    mutate: ['src/files/url-signer.ts'],
    tests: ['test/unit/cursor-and-signer.test.ts', 'test/unit/url-signer.test.ts'],
  },
  'byte-limits': {
    mutate: ['src/files/read-limited.ts'],
    tests: ['test/unit/read-limited.test.ts', 'test/unit/audit-read-limited.test.ts', 'test/unit/base64-input.test.ts'],
  },
  'cloud-download': {
    mutate: ['src/cloud/download.ts', 'src/cloud/allowed-origins.ts'],
    tests: [
      'test/unit/cloud-download.test.ts',
      'test/unit/audit-allowed-hosts.test.ts',
      'test/unit/allowed-origins.test.ts',
    ],
  },
};

const name = process.env.MUTATE_GROUP ?? 'url-signing';
const group = groups[/** @type {keyof typeof groups} */ (name)];
if (!group) throw new Error(`MUTATE_GROUP: expected one of ${Object.keys(groups).join(', ')}`);
process.env.MUTATE_TESTS = group.tests.join(',');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  mutate: group.mutate,
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'json', 'progress'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
