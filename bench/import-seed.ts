/**
 * import-seed of a generated seed deployment: 10,000 images in 1,000 conversations (mongoexport
 * JSON lines, canonical Extended JSON, messages without user_id as the seed writes them), 10%
 * local-only, 2% with a missing file and a cloud copy, 10% without a thumbnail (made by the
 * import). Run by the built CLI as its own process: wall time, images/s and peak RSS; then the
 * second run (nothing to import). Then the maintenance walk over the imported store, the one
 * restore, cleanup, reconcile and requeue use (scanImages), against the time-ordered paging it
 * replaced (listImages page after page): store calls and time for the whole walk.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { walkImages } from '../src/metadata/walk.js';
import { countingStore } from '../test/support/counting-store.js';
import { SqliteMetadataStore } from '../src/metadata/sqlite/sqlite-store.js';
import { round, runMeasured } from './lib.js';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** A seed deployment of `total` images: export files and a Storage folder, as the seed's Python leaves them. */
async function generate(
  dir: string,
  total: number,
): Promise<{ messages: string; conversations: string; storage: string }> {
  const storage = join(dir, 'Storage');
  for (const folder of ['Image_Gen', 'uploads', 'thumbnails']) await mkdir(join(storage, folder), { recursive: true });
  const photo = await sharp('test/fixtures/coffee.png').resize(96, 64).jpeg({ quality: 80 }).toBuffer();
  const thumb = await sharp(photo).resize(48, 32).jpeg({ quality: 85 }).toBuffer();
  const perConversation = 10;
  const conversations: string[] = [];
  const lines: string[] = [];
  const base = Date.UTC(2024, 0, 1);
  for (let c = 0; c < total / perConversation; c++) {
    const conversationId = `6725f3a0${hex(c, 16)}`;
    conversations.push(
      JSON.stringify({
        _id: { $oid: conversationId },
        user_id: `user${c % 50}`,
        title: `Chat ${c}`,
        created_at: { $date: new Date(base + c * 60_000).toISOString() },
      }),
    );
    for (let m = 0; m < perConversation; m++) {
      const i = c * perConversation + m;
      const name = `img_20240101_${hex(i % 86400, 6)}_${hex(i, 8)}.jpg`;
      const key = `uploads/${name}`;
      const localOnly = i % 10 === 3;
      const missing = i % 50 === 7;
      const withThumb = i % 10 !== 5;
      if (!missing) await writeFile(join(storage, key), photo);
      if (withThumb && !missing) await writeFile(join(storage, 'thumbnails', `thumb_${name}`), thumb);
      const url = `/static/Storage/${key}`;
      lines.push(
        JSON.stringify({
          _id: { $oid: `6725f3a1${hex(i, 16)}` },
          conversation_id: { $oid: conversationId },
          role: 'user',
          content: `message ${i}`,
          created_at: { $date: { $numberLong: String(base + i * 1000) } },
          images: [
            {
              url,
              cloud_url: localOnly ? url : `https://i.postimg.cc/${hex(i, 8)}/${name}`,
              delete_url: localOnly ? null : `https://postimg.cc/delete/${hex(i, 8)}/x`,
              thumbnail_url: `/static/Storage/thumbnails/thumb_${name}`,
              caption: null,
              size: photo.length,
              mime_type: 'image/jpeg',
              width: 96,
              height: 64,
              generated: false,
              service: localOnly ? 'local' : 'postimages',
              uploaded_at: new Date(base + i * 1000).toISOString().replace('Z', ''),
            },
          ],
        }),
      );
    }
  }
  const messages = join(dir, 'messages.json');
  const conversationsFile = join(dir, 'conversations.json');
  await writeFile(messages, `${lines.join('\n')}\n`);
  await writeFile(conversationsFile, `[${conversations.join(',\n')}]\n`);
  return { messages, conversations: conversationsFile, storage };
}

async function runImport(
  env: Record<string, string>,
  files: { messages: string; conversations: string; storage: string },
) {
  const args = [
    'dist/src/cli/index.js',
    'import-seed',
    '--messages',
    files.messages,
    '--conversations',
    files.conversations,
    '--storage',
    files.storage,
    '--json',
  ];
  const run = await runMeasured(process.execPath, args, { PATH: process.env['PATH'] ?? '', ...env });
  return {
    code: run.code,
    seconds: round(run.seconds),
    peakRssMb: run.peakRssMb,
    result: JSON.parse(run.stdout) as Record<string, number>,
  };
}

/** The whole-store walk both ways: store calls and seconds. */
async function walks(sqlitePath: string, total: number) {
  const inner = new SqliteMetadataStore({ path: sqlitePath });
  await inner.init();
  const { store, counts, reset } = countingStore(inner);
  try {
    let t = performance.now();
    let seen = 0;
    for await (const page of walkImages(store, null, {}, () => undefined)) seen += page.length;
    const scan = {
      images: seen,
      seconds: round((performance.now() - t) / 1000, 3),
      storeCalls: Object.fromEntries(counts),
    };
    reset();
    t = performance.now();
    seen = 0;
    let after: { t: number; id: string } | null = null;
    for (;;) {
      const page = await store.listImages(null, {}, { first: 100, after });
      seen += page.items.length;
      const last = page.items.at(-1);
      if (!page.hasNextPage || !last) break;
      after = { t: last.uploadedAt.getTime(), id: last.id };
    }
    const paged = {
      images: seen,
      seconds: round((performance.now() - t) / 1000, 3),
      storeCalls: Object.fromEntries(counts),
    };
    if (scan.images !== total || paged.images !== total)
      throw new Error(`walks saw ${scan.images} and ${paged.images} of ${total}`);
    return { scanImages: scan, listImagesPaging: paged };
  } finally {
    await inner.close();
  }
}

export async function benchImportSeed(o: { images?: number } = {}) {
  const total = o.images ?? 10_000;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  const dir = await mkdtemp(join(tmpdir(), 'his-bench-seed-'));
  try {
    const genStarted = performance.now();
    const files = await generate(dir, total);
    const generateSeconds = round((performance.now() - genStarted) / 1000);
    const env = {
      SQLITE_PATH: join(dir, 'metadata.sqlite'),
      STORAGE_DIR: join(dir, 'storage'),
      FILE_URL_SECRET: 'bench-secret-bench-secret-bench-secret!',
      LOG_LEVEL: 'error',
    };
    const first = await runImport(env, files);
    const second = await runImport(env, files);
    return {
      images: total,
      generateSeconds,
      firstRun: { ...first, imagesPerSecond: round(total / first.seconds, 1) },
      secondRun: second,
      walk: await walks(env.SQLITE_PATH, total),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
