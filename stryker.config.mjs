// @ts-check
import { readFileSync } from 'node:fs';

/**
 * `file:start-end` for each named function, class or method of `file`, from its declaration to its
 * closing brace, found in the source when Stryker starts, so the ranges follow edits of the file.
 * @param {string} file
 * @param {string[]} names
 */
function declarations(file, names) {
  const lines = readFileSync(file, 'utf8').split('\n');
  return names.map((name) => {
    // `function name`, `class name`, or a method: modifiers, the name and a signature that opens its body.
    const keyword = new RegExp(`\\b(?:function|class)\\s+${name}\\b`);
    const method = new RegExp(
      `^\\s*(?:(?:private|protected|public|static|async|override)\\s+)*${name}\\s*[(<].*\\{\\s*$`,
    );
    const start = lines.findIndex((line) => keyword.test(line) || method.test(line));
    if (start < 0) throw new Error(`stryker.config.mjs: no declaration of ${name} in ${file}`);
    // Braces counted line by line; the declaration ends on the first line that closes its body.
    let depth = 0;
    let opened = false;
    for (let i = start; i < lines.length; i++) {
      for (const c of lines[i] ?? '') depth += c === '{' ? 1 : c === '}' ? -1 : 0;
      if (depth > 0) opened = true;
      else if (opened) return `${file}:${start + 1}-${i + 1}`;
    }
    throw new Error(`stryker.config.mjs: the declaration of ${name} in ${file} does not end`);
  });
}

/**
 * `file:start-end` of the statement that starts on the line matching `pattern` and ends on the
 * first line ending with a semicolon (a constant, a multi-line SQL text).
 * @param {string} file
 * @param {RegExp} pattern
 */
function statement(file, pattern) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((line) => pattern.test(line));
  const end = lines.findIndex((line, i) => i >= start && /;\s*$/.test(line));
  if (start < 0 || end < 0) throw new Error(`stryker.config.mjs: no statement of ${file} matches ${pattern}`);
  return `${file}:${start + 1}-${end + 1}`;
}

/**
 * `file:n-n` for each line of `file` that matches `pattern`.
 * @param {string} file
 * @param {RegExp} pattern
 */
function linesMatching(file, pattern) {
  const found = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}-${i + 1}`] : []));
  if (found.length === 0) throw new Error(`stryker.config.mjs: no line of ${file} matches ${pattern}`);
  return found;
}

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
    // Its tests take milliseconds; a mutant that stops a stream (drain, close) hangs until this.
    timeoutMS: 5_000,
    mutate: ['src/files/read-limited.ts'],
    tests: [
      'test/unit/read-limited.test.ts',
      'test/unit/read-limited-fs.test.ts',
      'test/unit/audit-read-limited.test.ts',
      'test/unit/base64-input.test.ts',
    ],
  },
  'cloud-download': {
    mutate: ['src/cloud/download.ts', 'src/cloud/allowed-origins.ts'],
    tests: [
      'test/unit/cloud-download.test.ts',
      'test/unit/audit-allowed-hosts.test.ts',
      'test/unit/allowed-origins.test.ts',
    ],
  },
  deletion: {
    mutate: ['src/services/deletion.ts'],
    tests: ['test/service/deletion.test.ts'],
  },
  cleanup: {
    mutate: ['src/maintenance/cleanup.ts'],
    tests: ['test/service/cleanup.test.ts'],
  },
  restore: {
    mutate: ['src/maintenance/restore.ts'],
    tests: ['test/service/restore.test.ts'],
  },
  // What an upload is taken for, from its header: the format, the size, the frames, the pixel limit.
  'image-validate': {
    mutate: ['src/images/validate.ts'],
    tests: ['test/unit/images-validate.test.ts'],
  },
  // What decides what is refused and how the pixels are read: the error mapping, the time budget,
  // decoding (pixel limit, truncation, orientation, colour), the kept format.
  'image-processing': {
    mutate: declarations('src/images/process.ts', [
      'processImage',
      'TimeBudget',
      'openSource',
      'decodedBytes',
      'keptFormat',
      'losslessCannotFit',
      'uprightSize',
      'firstFrame',
    ]),
    tests: [
      'test/unit/images-budget.test.ts',
      'test/unit/images-lossless.test.ts',
      'test/unit/images-process.test.ts',
      'test/unit/audit-metadata.test.ts',
    ],
  },
  // What is stored of an accepted image: the display ceiling and the format choice (`run`), the
  // encoders, the thumbnail and placeholder, and the JPEG quality by class (jpegQuality,
  // cannotBeFlat, flatShare). Every mutant of `run` costs the process tests and the quality
  // floor (about 10 s).
  'image-encoding': {
    timeoutMS: 30_000,
    mutate: declarations('src/images/process.ts', [
      'run',
      'thumbnailAndPlaceholder',
      'jpegQuality',
      'cannotBeFlat',
      'flatShare',
      'encoder',
    ]),
    tests: [
      'test/unit/images-encoding.test.ts',
      'test/unit/flat-share.test.ts',
      'test/unit/images-process.test.ts',
      'test/unit/images-lossless.test.ts',
      'test/unit/images-budget.test.ts',
      'test/unit/quality-floor.test.ts',
      'test/unit/audit-metadata.test.ts',
    ],
  },
  // The size search that tunes quality and scale until the bytes fit (fit, plan, finish),
  // against a fake encoder whose sizes follow a known model.
  'size-search': {
    mutate: declarations('src/images/process.ts', ['fit', 'plan', 'finish']),
    tests: ['test/unit/images-size-search.test.ts'],
  },
  // The claim code of the SQLite store only: the claim transactions (IMMEDIATE), the claims, the
  // lease-guarded updates, and the query of due deletion jobs.
  'queue-claims': {
    mutate: [
      ...linesMatching('src/metadata/sqlite/sqlite-store.ts', /\b(?:claimTx|claimDeletionsTx|claim|claimDeletions) = /),
      ...declarations('src/metadata/sqlite/sqlite-store.ts', [
        'claimDueImages',
        'claimInTransaction',
        'claimDueDeletions',
        'claimDeletionsInTransaction',
        'updateImage',
        'updateDeletion',
      ]),
      statement('src/metadata/sqlite/deletions.ts', /^export const DUE_DELETIONS/),
    ],
    tests: ['test/contract/sqlite.test.ts', 'test/service/replication.test.ts', 'test/service/deletion.test.ts'],
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
  timeoutMS: /** @type {{ timeoutMS?: number }} */ (group).timeoutMS ?? 20_000,
  reporters: ['clear-text', 'json', 'progress'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
