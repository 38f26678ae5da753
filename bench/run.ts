/**
 * `npm run bench`: runs every benchmark in this folder and prints one JSON report.
 * Not part of `npm test`: figures depend on the machine and belong in notes, not assertions.
 * `npm run bench -- read` runs only the named ones.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { benchHostile } from './hostile.js';
import { benchImportSeed } from './import-seed.js';
import { benchLive } from './live.js';
import { benchRead } from './read.js';
import { benchReplicate, benchReplicateS3 } from './replicate.js';
import { benchRestore } from './restore.js';
import { benchSeed } from './seed.js';
import { benchServe } from './serve.js';
import { benchUpload } from './upload.js';

const all: Record<string, () => Promise<unknown>> = {
  read: () => benchRead(),
  serve: () => benchServe(),
  replicate: async () => ({ providers: await benchReplicate(), s3: await benchReplicateS3() }),
  restore: () => benchRestore(),
  seed: () => benchSeed({ rounds: Number(process.env['BENCH_ROUNDS'] ?? 9) }),
  hostile: () => benchHostile(),
  'import-seed': () => benchImportSeed({ images: Number(process.env['BENCH_IMAGES'] ?? 10_000) }),
  live: () =>
    benchLive({
      subscribers: Number(process.env['BENCH_SUBSCRIBERS'] ?? 100),
      rounds: Number(process.env['BENCH_ROUNDS'] ?? 30),
    }),
  upload: () =>
    benchUpload({
      soak: Number(process.env['BENCH_SOAK'] ?? 5000),
      rounds: Number(process.env['BENCH_ROUNDS'] ?? 200),
    }),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const chosen = wanted.length ? wanted : Object.keys(all);
const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
};
for (const name of chosen) {
  const run = all[name];
  if (!run) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(all).join(', ')}`);
  console.error(`running ${name}…`);
  report[name] = await run();
}
const out = JSON.stringify(report, null, 2);
console.log(out);
await mkdir('bench/results', { recursive: true });
await writeFile(`bench/results/${new Date().toISOString().replace(/[:.]/g, '-')}.json`, `${out}\n`);
