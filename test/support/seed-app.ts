import { cp, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { readExportFile } from '../../src/metadata/mongo/export-file.js';
import type { Emulator } from './emulators.js';

/** The fixture written as the seed chatbot's Python writes it (see test/fixtures/seed-app/generate.ts). */
export const SEED_APP = 'test/fixtures/seed-app';

/** The documents of one of the fixture's mongoexport files (`messages.json`, `conversations.json`), exactly as stored. */
export async function readSeedDocs<T>(file: string): Promise<T[]> {
  const out: T[] = [];
  for await (const e of readExportFile(join(SEED_APP, file))) {
    if (!e.ok) throw new Error(e.reason);
    out.push(e.doc as T);
  }
  return out;
}

/** Ids and paths of the fixture, as its generator wrote them. */
export const SEED = {
  alice: 'alice',
  bob: 'bob',
  aliceConversation: '6725f3a0c2b1a4e5f6a7b801',
  bobConversation: '6725f3a0c2b1a4e5f6a7b802',
  /** Alice's generated image on PostImages, with its thumbnail. */
  generated: 'Image_Gen/img_20241102_101500_a1b2c3d4.png',
  /** Alice's upload on ImgBB. */
  upload: 'uploads/img_20241102_101620_0badc0de.jpg',
  /** Alice's upload when both clouds were down (cloud_url = url, service 'local'), in a message without user_id. */
  localOnly: 'uploads/img_20241103_090000_5eed0001.jpg',
  localOnlyMessage: '6725f3a0c2b1a4e5f6a7c003',
  /** Bob's generated image whose local file and thumbnail were lost; its PostImages copy holds it. */
  missing: 'Image_Gen/img_20241104_120000_10571057.png',
  /** Files no record names: a user's PDF and a thumbnail whose image is long gone. */
  pdf: 'uploads/quarterly-report.pdf',
  strayThumbnail: 'thumbnails/thumb_img_20240901_080000_deadbeef.jpg',
} as const;

export interface SeedCopy {
  /** The copied Storage folder, every file dated 40 days back. */
  storage: string;
  messages: string;
  conversations: string;
  /** Every file of the Storage folder (relative path to bytes), as copied. */
  files: Map<string, Buffer>;
}

/**
 * Copies the fixture into `dir` with its cloud URLs pointing at the emulators' CDNs (the fixture
 * names the real hosts, which tests never reach), and loads the emulators with the copies the
 * fixture's `cdn/` folder holds. Files get an mtime 40 days back, as a long-running deployment's.
 */
export async function copySeedApp(dir: string, clouds: { postimages: Emulator; imgbb: Emulator }): Promise<SeedCopy> {
  const storage = join(dir, 'seed-Storage');
  await cp(join(SEED_APP, 'Storage'), storage, { recursive: true });
  const old = new Date(Date.now() - 40 * 86_400_000);
  const files = new Map<string, Buffer>();
  for (const path of await walk(storage)) {
    await utimes(path, old, old);
    files.set(relative(storage, path), await readFile(path));
  }
  const rewrite = (text: string) =>
    text
      .replaceAll('https://i.postimg.cc/', `${clouds.postimages.origin}/i/`)
      .replaceAll('https://i.ibb.co/', `${clouds.imgbb.origin}/i/`);
  const messages = join(dir, 'messages.json');
  const conversations = join(dir, 'conversations.json');
  await writeFile(messages, rewrite(await readFile(join(SEED_APP, 'messages.json'), 'utf8')));
  await writeFile(conversations, rewrite(await readFile(join(SEED_APP, 'conversations.json'), 'utf8')));
  for (const [host, emulator] of [
    ['postimg', clouds.postimages],
    ['ibb', clouds.imgbb],
  ] as const) {
    const root = join(SEED_APP, 'cdn', host);
    for (const path of await walk(root)) emulator.stored.set(relative(root, path), await readFile(path));
  }
  return { storage, messages, conversations, files };
}

/** The fixture's cloud copy of a file, by its name. */
export async function cdnBytes(name: string): Promise<Buffer> {
  for (const path of await walk(join(SEED_APP, 'cdn'))) if (path.endsWith(`/${name}`)) return readFile(path);
  throw new Error(`no cloud copy of ${name} in the fixture`);
}

/** Every file under `root` (recursively), with its mtime, relative to it: what a test compares before and after. */
export async function snapshotDir(root: string): Promise<Map<string, { size: number; mtimeMs: number; data: Buffer }>> {
  const out = new Map<string, { size: number; mtimeMs: number; data: Buffer }>();
  for (const path of await walk(root)) {
    const s = await stat(path);
    out.set(relative(root, path), { size: s.size, mtimeMs: s.mtimeMs, data: await readFile(path) });
  }
  return out;
}

async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}
