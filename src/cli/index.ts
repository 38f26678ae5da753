#!/usr/bin/env node
import 'reflect-metadata';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { createCore, type Core } from '../core.js';
import { isDomainError, messageOf } from '../domain/errors.js';
import type { Viewer } from '../domain/viewer.js';
import { packageVersion } from '../project-root.js';
import { printResult, progressReporter } from './output.js';

/**
 * hybrid-image-store restore|cleanup|reconcile|import-seed|requeue-local-only|stats|providers|serve: the server's own
 * services, run once against the configured store and STORAGE_DIR (the same environment
 * variables as the server). Exit codes: 0 done, 1 something failed or is lost, 2 bad usage (an
 * unknown command or option, a bad value, an id that names nothing), 78 bad configuration.
 */
const OPERATOR: Viewer = { userId: 'cli', isAdmin: true };

function positiveInt(max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw new InvalidArgumentError(`expected a whole number from 0 to ${max}.`);
    return n;
  };
}

/**
 * Runs `run` on the store and files the environment names. Every command but import-seed works
 * on an existing server's data: without its SQLite file (run from another folder, a SQLITE_PATH
 * left out) it stops with exit code 78 instead of creating an empty store and reporting nothing.
 */
async function withCore<T>(
  env: NodeJS.ProcessEnv,
  run: (core: Core) => Promise<T>,
  o: { mayCreateStore?: boolean } = {},
): Promise<T> {
  let config;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
  if (!config.mongo && !o.mayCreateStore && !existsSync(config.sqlitePath)) {
    process.stderr.write(
      `No store at ${resolve(config.sqlitePath)} (SQLITE_PATH): this command works on a server's existing data. Run it from the folder the server runs in, or set SQLITE_PATH and STORAGE_DIR (or MONGODB_URI) as the server has them.\n`,
    );
    process.exit(78);
  }
  // Logs go to stderr, so stdout holds only the result (--json output stays parseable).
  const log = pino(
    { level: env['LOG_LEVEL'] ?? 'warn', base: { service: 'hybrid-image-store-cli' } },
    pino.destination(2),
  );
  const core = await createCore(config, { log });
  try {
    return await run(core);
  } finally {
    await core.store.close();
  }
}

interface Common {
  json?: boolean;
  dryRun?: boolean;
}

const tty = () => Boolean(process.stderr.isTTY);

/** Bad usage: the message and exit code 2, before anything is opened. */
function usage(message: string): never {
  process.stderr.write(`hybrid-image-store: ${message}\n`);
  process.exit(2);
}

/** Lines of a file (a JSON lines export: its documents), for the progress bar's total; streamed. */
async function countLines(path: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(path)) {
    for (let i = (chunk as Buffer).indexOf(10); i !== -1; i = (chunk as Buffer).indexOf(10, i + 1)) n++;
  }
  return n;
}

export function buildProgram(): Command {
  const program = new Command('hybrid-image-store')
    .description(
      "Maintenance of a hybrid-image-store: the same services as the server, run once. Configured by the server's environment variables.",
    )
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

  program
    .command('restore')
    .description(
      'Download every image whose local copy is missing or damaged from its cloud copy (verified by sha256), and regenerate missing thumbnails. Safe to run again: it resumes.',
    )
    .option('--conversation <id>', 'only this conversation')
    .option('--image <ids...>', 'only these images')
    .addOption(
      new Option('--concurrency <n>', 'downloads at once (default RESTORE_CONCURRENCY, 8)').argParser(positiveInt(64)),
    )
    .option('--dry-run', 'count what would be restored, change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (o: Common & { conversation?: string; image?: string[]; concurrency?: number }) => {
      const env = o.concurrency ? { ...process.env, RESTORE_CONCURRENCY: String(o.concurrency) } : process.env;
      let seconds = 0;
      const result = await withCore(env, async (core) => {
        const progress = progressReporter('restore', { json: !!o.json, tty: tty() });
        const started = performance.now();
        try {
          return await core.restore.restore(
            OPERATOR,
            { conversationId: o.conversation ?? null, imageIds: o.image ?? null, dryRun: !!o.dryRun },
            (d, t) => progress.update(d, t),
          );
        } finally {
          seconds = Math.round(performance.now() - started) / 1000;
          progress.stop();
        }
      });
      // How long the restore itself took, without starting the process and opening the store.
      printResult({ ...result, seconds }, !!o.json);
      if (result.failed > 0 || result.noCloudCopy > 0) process.exitCode = 1;
    });

  program
    .command('cleanup')
    .description('Remove local originals older than N days whose cloud copy holds them (REPLICATED); thumbnails stay.')
    .requiredOption('--older-than-days <n>', 'age in days, 0 to 36500', positiveInt(36_500))
    .option('--dry-run', 'count what would be removed, change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (o: Common & { olderThanDays: number }) => {
      const result = await withCore(process.env, async (core) => {
        const progress = progressReporter('cleanup', { json: !!o.json, tty: tty() });
        try {
          return await core.cleanup.cleanup(OPERATOR, { olderThanDays: o.olderThanDays, dryRun: !!o.dryRun }, (d, t) =>
            progress.update(d, t),
          );
        } finally {
          progress.stop();
        }
      });
      printResult({ ...result }, !!o.json);
      if (result.failed > 0) process.exitCode = 1;
    });

  program
    .command('reconcile')
    .description(
      'Compare STORAGE_DIR with the store: remove files interrupted uploads left (older than an hour), report files no record keeps that this server did not write, restore missing copies from the cloud, report images with neither copy.',
    )
    .option(
      '--quarantine',
      'move those files (both kinds) to STORAGE_DIR/.quarantine instead of deleting or keeping them',
    )
    .option('--dry-run', 'report, change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (o: Common & { quarantine?: boolean }) => {
      const result = await withCore(process.env, async (core) => {
        const progress = progressReporter('reconcile', { json: !!o.json, tty: tty() });
        try {
          return await core.reconcile.run(
            { quarantine: !!o.quarantine, dryRun: !!o.dryRun },
            (phase, d, t) => phase === 'records' && progress.update(d, t),
          );
        } finally {
          progress.stop();
        }
      });
      // JSON keeps its shape (the records' counts at the top); text labels both blocks.
      printResult(
        o.json ? { files: result.files, ...result.records } : { files: result.files, records: result.records },
        !!o.json,
      );
      if (result.records.failed > 0 || result.records.noCloudCopy > 0 || result.files.failed > 0) process.exitCode = 1;
    });

  program
    .command('import-seed')
    .description(
      "Import a deployment of the seed chatbot: its mongoexport files (JSON lines or --jsonArray, Extended JSON) and its Storage folder, into this server's store and STORAGE_DIR. Nothing at the source changes; running it again imports nothing twice.",
    )
    .requiredOption('--messages <file>', 'mongoexport of the messages collection')
    .option(
      '--conversations <file>',
      'mongoexport of the conversations collection (without it, conversations are made from the messages)',
    )
    .requiredOption(
      '--storage <dir>',
      "the seed's Storage folder (holding Image_Gen/, uploads/, thumbnails/); may be STORAGE_DIR itself",
    )
    .option('--owner <id>', 'owner of documents that name none (default LEGACY_DEFAULT_OWNER)')
    .option('--dry-run', 'count what would be imported, change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (o: Common & { messages: string; conversations?: string; storage: string; owner?: string }) => {
      for (const [flag, path] of [
        ['--messages', o.messages],
        ['--conversations', o.conversations],
        ['--storage', o.storage],
      ] as const) {
        if (path !== undefined && !existsSync(path)) usage(`${flag} ${path}: no such file or directory.`);
      }
      if (!statSync(o.storage).isDirectory()) usage(`--storage ${o.storage} is not a directory.`);
      if (o.owner !== undefined && !/^[A-Za-z0-9._:@|-]{1,128}$/.test(o.owner))
        usage(`--owner ${JSON.stringify(o.owner)} is not a user id (1 to 128 letters, digits or ._:@|-).`);
      // Loaded here: the export format is MongoDB's, and other commands never load its driver.
      const [{ SeedImportService }, { readExportFile }] = await Promise.all([
        import('../maintenance/seed-import.js'),
        import('../metadata/mongo/export-file.js'),
      ]);
      const result = await withCore(
        process.env,
        async (core) => {
          const seedImport = new SeedImportService({
            store: core.store,
            files: core.files,
            ...core.imaging,
            clock: core.clock,
            log: core.log,
          });
          const total = await countLines(o.messages);
          const progress = progressReporter('import-seed', { json: !!o.json, tty: tty() });
          try {
            return await seedImport.run(
              {
                messages: readExportFile(o.messages),
                conversations: o.conversations ? readExportFile(o.conversations) : null,
                sourceDir: o.storage,
                owner: o.owner ?? core.config.legacyDefaultOwner,
                dryRun: !!o.dryRun,
              },
              (done) => progress.update(done, Math.max(done, total)),
            );
          } finally {
            progress.stop();
          }
        },
        { mayCreateStore: true },
      );
      printResult({ ...result }, !!o.json);
      // Everything imported or accounted for (already there, or restorable from its cloud copy): 0.
      if (result.missingNoCloudCopy + result.unreadable + result.ownerless + result.conflicts + result.failed > 0)
        process.exitCode = 1;
    });

  program
    .command('requeue-local-only')
    .description(
      "Queue every LOCAL_ONLY image that still has its local original for replication: those replication gave up on, and the seed chatbot's local-only images (cloud_url = url). A running server's worker uploads them.",
    )
    .option('--dry-run', 'count, change nothing')
    .option('--json', 'print the result as JSON')
    .action(async (o: Common) => {
      const result = await withCore(process.env, async (core) => {
        if (!core.replication) {
          process.stderr.write(
            'hybrid-image-store: no cloud provider is enabled (set POSTIMAGES_API_KEY, IMGBB_API_KEY or S3_BUCKET): nothing could replicate.\n',
          );
          process.exit(78);
        }
        const progress = progressReporter('requeue-local-only', { json: !!o.json, tty: tty() });
        try {
          return await core.replication.requeueLocalOnly({ dryRun: !!o.dryRun }, (d, t) => progress.update(d, t));
        } finally {
          progress.stop();
        }
      });
      printResult({ ...result }, !!o.json);
    });

  program
    .command('stats')
    .description('Counts and bytes of the stored images, by service; replication and deletion queues.')
    .option('--json', 'print the result as JSON')
    .action(async (o: Common) => {
      const result = await withCore(process.env, async (core) => ({
        store: core.store.kind,
        ...(await core.store.storageStats(null)),
        pendingDeletions: await core.store.countPendingDeletions(),
        // MongoDB only: images of seed messages naming no owner (admins only; LEGACY_DEFAULT_OWNER claims them).
        ownerlessImages: await core.store.countOwnerlessImages(),
      }));
      printResult(result, !!o.json);
    });

  program
    .command('providers')
    .description(
      'The cloud providers in chain order, then the disabled ones, with their upload budgets: used in the current window (by every server on the store) and when it resets.',
    )
    .option('--json', 'print the result as JSON')
    .action(async (o: Common) => {
      const providers = await withCore(process.env, async (core) => core.chain.health());
      // Circuits and counters belong to each server process, not to this one: only the shared facts.
      const rows = providers.map((p) => ({ name: p.name, enabled: p.enabled, budget: p.budget }));
      if (o.json) return printResult({ providers: rows }, true);
      const line = (p: (typeof rows)[number]) =>
        `${p.name}  ${p.enabled ? 'enabled' : 'disabled'}  ${p.budget ? `budget ${p.budget.used}/${p.budget.limit} per ${p.budget.per}, resets at ${p.budget.resetsAt.toISOString()}` : 'no budget'}`;
      printResult({ providers: rows.map(line) }, false);
    });

  program
    .command('serve')
    .description(
      'Start the server in this process, without the allocator and V8 heap settings of npm start (scripts/start.sh).',
    )
    .action(async () => {
      await import('../main.js');
    });

  return program;
}

// `hybrid-image-store stats | head` closes stdout early: that is the reader's choice, not a failure.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  throw err;
});

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    process.stderr.write(`hybrid-image-store: ${messageOf(err)}\n`);
    // An id that names nothing, or an argument the service refused: the caller's usage, 2.
    process.exit(isDomainError(err) && (err.code === 'NOT_FOUND' || err.code === 'BAD_USER_INPUT') ? 2 : 1);
  });
