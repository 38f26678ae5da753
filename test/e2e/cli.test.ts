import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConversationDocument, UploadImageDocument } from '../generated/graphql.js';
import { startImgbbEmulator, type Emulator } from '../support/emulators.js';
import { CLI_ARGV, cliEnv, runCli } from '../support/cli.js';
import { TEST_FILE_URL_SECRET } from '../support/factories.js';
import { as, startTestServer, type TestServer } from '../support/server.js';

const coffee = await readFile('test/fixtures/coffee.png');

describe('the hybrid-image-store CLI', () => {
  let cloud: Emulator;
  let server: TestServer;
  let env: Record<string, string>;
  const keys: string[] = [];

  beforeAll(async () => {
    cloud = await startImgbbEmulator();
    // ImgBB, whose copies this server trusts once uploaded (PostImages copies are compared before
    // cleanup removes an original). A month's budget: no window rolls over during the test.
    const cloudEnv = {
      CLOUD_PROVIDERS: 'imgbb',
      IMGBB_API_KEY: cloud.apiKey,
      IMGBB_API_URL: cloud.apiUrl,
      IMGBB_BUDGET: '100/month',
    };
    server = await startTestServer({ env: cloudEnv });
    env = {
      ...cloudEnv,
      SQLITE_PATH: server.sqlitePath,
      STORAGE_DIR: server.storageDir,
      FILE_URL_SECRET: TEST_FILE_URL_SECRET,
    };
    const c = await server.gql(CreateConversationDocument, { input: {} }, as('alice'));
    for (let i = 0; i < 3; i++) {
      const data = await sharp(coffee)
        .extract({ left: i * 10, top: 0, width: 120, height: 90 })
        .jpeg()
        .toBuffer();
      const res = await server.gql(
        UploadImageDocument,
        { input: { conversationId: c.data!.createConversation.id, base64: data.toString('base64') } },
        as('alice'),
      );
      expect(res.data!.uploadImage.image.replicationStatus).toBe('REPLICATED');
    }
    const db = new Database(server.sqlitePath, { readonly: true });
    keys.push(...(db.prepare('SELECT local_key FROM images').pluck().all() as string[]));
    db.close();
  });
  afterAll(async () => {
    await server.stop();
    await cloud.stop();
  });

  it('restore --json brings back a wiped STORAGE_DIR and prints parseable JSON only on stdout', async () => {
    await rm(server.storageDir, { recursive: true, force: true });
    const run = await runCli(['restore', '--json'], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ scanned: 3, restored: 3, failed: 0, thumbnailsRegenerated: 3 });
    for (const key of keys) expect(existsSync(join(server.storageDir, key))).toBe(true);
  });

  it('without a terminal, restore prints plain progress lines and a summary; running it again resumes (all present)', async () => {
    const run = await runCli(['restore'], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('restore: 3/3');
    expect(run.stdout).toContain('alreadyPresent: 3');
    expect(run.stdout).toContain('restored: 0');
  });

  // util-linux's `script` gives the CLI a real terminal; it is part of every Debian system.
  const hasScript = existsSync('/usr/bin/script');
  if (!hasScript) console.warn('CLI terminal test skipped: /usr/bin/script (util-linux) is not installed');
  it.skipIf(!hasScript)('on a terminal, restore draws a progress bar (cli-progress) on the terminal', async () => {
    await rm(server.storageDir, { recursive: true, force: true });
    const command = [...CLI_ARGV, 'restore'].map((a) => `'${a}'`).join(' ');
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], {
        env: cliEnv({ TERM: 'xterm', ...env }),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => resolve({ code, out }));
    });
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/restore \[[█░]+\] 3\/3 100%/);
    expect(run.out).not.toContain('restore: 3/3'); // the plain lines are for pipes only
    for (const key of keys) expect(existsSync(join(server.storageDir, key))).toBe(true);
  });

  it('exits non-zero when anything failed: an image lost with neither copy', async () => {
    const db = new Database(server.sqlitePath);
    db.prepare('UPDATE images SET cloud_url = NULL WHERE local_key = ?').run(keys[0]);
    db.close();
    await rm(join(server.storageDir, keys[0]!));
    const run = await runCli(['reconcile', '--json'], env);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as { noCloudCopy: number; lost: { imageId: string }[] };
    expect(result.noCloudCopy).toBe(1);
    expect(result.lost).toHaveLength(1);
  });

  it('reconcile --dry-run reports an orphan and keeps it; reconcile removes it; a file it did not write is kept until --quarantine', async () => {
    const key = 'uploads/img_20200101_000000_00c0ffee.jpg';
    const orphan = join(server.storageDir, key);
    const old = new Date(Date.now() - 3 * 3_600_000);
    // The note an upload writes before its files (LocalFileStore.journal), left by a crash.
    const note = join(server.storageDir, '.journal', 'crashed-upload.json');
    await writeFile(note, JSON.stringify({ keys: [key] }));
    await utimes(note, old, old);
    await writeFile(orphan, 'left by a crash');
    await utimes(orphan, old, old);
    const foreign = join(server.storageDir, 'uploads/holiday.pdf');
    await writeFile(foreign, '%PDF-1.4 not ours');
    await utimes(foreign, old, old);

    const dry = await runCli(['reconcile', '--dry-run', '--json'], env);
    const files = (JSON.parse(dry.stdout) as { files: { orphans: string[]; unrecorded: string[] } }).files;
    expect(files.orphans).toEqual([key]);
    expect(files.unrecorded).toEqual(['uploads/holiday.pdf']);
    expect(existsSync(orphan)).toBe(true);
    await runCli(['reconcile'], env);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(foreign)).toBe(true);
    await runCli(['reconcile', '--quarantine'], env);
    expect(existsSync(foreign)).toBe(false);
    expect(
      existsSync(join(server.storageDir, '.quarantine', new Date().toISOString().slice(0, 10), 'uploads/holiday.pdf')),
    ).toBe(true);
  });

  it('providers prints the chain with each budget, counted by the server in the store', async () => {
    const now = new Date();
    const resets = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    const json = await runCli(['providers', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      providers: [{ name: 'IMGBB', enabled: true, budget: { limit: 100, per: 'month', used: 3, resetsAt: resets } }],
    });
    const text = await runCli(['providers'], { ...env, CLOUD_PROVIDERS: 'imgbb,s3' });
    expect(text.stdout).toContain(`  - IMGBB  enabled  budget 3/100 per month, resets at ${resets}`);
    expect(text.stdout).toContain('  - S3  disabled  no budget');
  });

  it('cleanup removes replicated originals, and exits 1 naming what it could not remove; stats counts the images', async () => {
    // One original cannot be unlinked: a directory (with a file in it) stands at its key.
    const stuck = join(server.storageDir, keys[2]!);
    await rm(stuck);
    await mkdir(stuck);
    await writeFile(join(stuck, 'x'), 'x');
    const run = await runCli(['cleanup', '--older-than-days', '0', '--json'], env);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ deleted: 1, keptNoCloudCopy: 1, failed: 1 });
    expect(existsSync(join(server.storageDir, keys[1]!))).toBe(false);
    expect(run.stderr).toMatch(/could not remove a cleaned-up original/);
    await rm(stuck, { recursive: true });
    const again = await runCli(['cleanup', '--older-than-days', '0', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ deleted: 0, failed: 0 });
    const stats = await runCli(['stats', '--json'], env);
    expect(JSON.parse(stats.stdout)).toMatchObject({
      store: 'sqlite',
      imageCount: 3,
      pendingDeletions: 0,
      ownerlessImages: 0,
    });
    // For people, every value of a row says what it is.
    const text = await runCli(['stats'], env);
    expect(text.stdout).toContain('imageCount: 3\n');
    expect(text.stdout).toMatch(/^ {2}- service: [A-Z_]+, count: \d+, bytes: \d+$/m);
  });

  it('labels both blocks of the reconcile summary, and keeps the JSON as it was', async () => {
    // (It exits 1 here: an earlier case left an image with neither copy.)
    const text = await runCli(['reconcile', '--dry-run'], env);
    expect(text.stdout).toMatch(/^files:\n {2}scanned: \d+$/m);
    expect(text.stdout).toMatch(/^records:\n {2}scanned: \d+$/m);
    const json = JSON.parse((await runCli(['reconcile', '--dry-run', '--json'], env)).stdout) as Record<
      string,
      unknown
    >;
    expect(json).toHaveProperty('files.scanned');
    expect(json).toHaveProperty('restored');
  });

  it('prints its version, the one package.json gives', async () => {
    const version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) {
      const run = await runCli([flag], env);
      expect(run).toMatchObject({ code: 0, stdout: `${version}\n` });
    }
  });

  it('refuses bad usage with exit code 2 and a bad configuration with 78, touching nothing', async () => {
    const bad = await runCli(['cleanup', '--older-than-days', '-1'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected a whole number from 0 to 36500/);
    // An id that names nothing is the caller's mistake too.
    const unknown = await runCli(['restore', '--conversation', '0123456789abcdef01234567'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Conversation "0123456789abcdef01234567" was not found/);
    const malformed = await runCli(['restore', '--conversation', 'nope'], env);
    expect(malformed.code).toBe(2);
    const config = await runCli(['stats'], { ...env, RESTORE_CONCURRENCY: 'lots' });
    expect(config.code).toBe(78);
    expect(config.stderr).toMatch(/RESTORE_CONCURRENCY/);
  });

  it('run where there is no store (another folder, SQLITE_PATH left out), stops with 78 and creates nothing', async () => {
    // Before, `stats` made an empty store there and reported 0 images with exit code 0.
    const elsewhere = join(server.dir, 'elsewhere');
    const lost = { ...env, SQLITE_PATH: join(elsewhere, 'metadata.sqlite'), STORAGE_DIR: join(elsewhere, 'storage') };
    for (const args of [['stats'], ['reconcile', '--dry-run'], ['restore', '--dry-run', '--json'], ['providers']]) {
      const run = await runCli(args, lost);
      expect(run.code, args.join(' ')).toBe(78);
      expect(run.stderr).toContain(`No store at ${lost.SQLITE_PATH} (SQLITE_PATH)`);
      expect(run.stdout).toBe('');
    }
    expect(existsSync(elsewhere)).toBe(false);
  });
});
