import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalKey, InvalidKeyError, LocalFileStore, type FsOps } from '../../src/files/local-file-store.js';

let root: string;
beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'lfs-'));
});
afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function makeStore(fs?: Partial<FsOps>, clock?: () => Date): Promise<LocalFileStore> {
  const store = new LocalFileStore({ root, fs, clock });
  await store.init();
  return store;
}

const ioError = (code: string) => Object.assign(new Error(`${code}: injected`), { code });
const tempFiles = () => fsp.readdir(join(root, '.tmp'));

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Every FsOps entry, recording its name before doing nothing: proves a call never happened. */
function recordingFs(calls: string[]): FsOps {
  const record = (name: string) => async () => {
    calls.push(name);
    throw new Error(`unexpected fs.${name}`);
  };
  return {
    open: record('open'),
    rename: record('rename'),
    unlink: record('unlink'),
    mkdir: record('mkdir'),
    stat: record('stat'),
    readdir: record('readdir'),
    fsync: record('fsync'),
  } as unknown as FsOps;
}

describe('LocalFileStore', () => {
  it('init lays out the three folders, .tmp and .journal', async () => {
    await makeStore();
    expect((await fsp.readdir(root)).sort()).toEqual(['.journal', '.tmp', 'Image_Gen', 'thumbnails', 'uploads']);
  });

  it('puts, stats, lists and deletes a file; delete is idempotent', async () => {
    const store = await makeStore();
    const data = randomBytes(1234);
    const key = 'uploads/img_20260101_120000_ab12cd34.jpg';
    await store.put(key, data);
    expect(await store.exists(key)).toBe(true);
    expect(await fsp.readFile(store.absolutePath(key))).toEqual(data);
    const st = await store.stat(key);
    expect(st?.size).toBe(1234);
    expect(st?.mtime).toBeInstanceOf(Date);
    expect(await collect(store.listKeys())).toEqual([{ key, size: 1234, mtime: st?.mtime }]);
    expect(await store.delete(key)).toBe(true);
    expect(await store.delete(key)).toBe(false);
    expect(await store.exists(key)).toBe(false);
    expect(await store.stat(key)).toBeNull();
    expect(await tempFiles()).toEqual([]);
  });

  it('overwrites an existing key atomically', async () => {
    const store = await makeStore();
    await store.put('thumbnails/t.webp', Buffer.from('old'));
    await store.put('thumbnails/t.webp', Buffer.from('new bytes'));
    expect(await fsp.readFile(join(root, 'thumbnails/t.webp'), 'utf8')).toBe('new bytes');
  });

  it('stat and openRead see only regular files', async () => {
    const store = await makeStore();
    await fsp.mkdir(join(root, 'uploads', 'a_dir'));
    expect(await store.stat('uploads/a_dir')).toBeNull();
    expect(await store.openRead('uploads/a_dir')).toBeNull();
    expect(await store.openRead('uploads/missing.png')).toBeNull();
  });

  it('openRead refuses to follow a symlink planted in a storage folder', async () => {
    const store = await makeStore();
    const outside = join(root, 'secret.txt');
    await fsp.writeFile(outside, 'secret');
    await fsp.symlink(outside, join(root, 'uploads', 'link.png'));
    expect(await store.openRead('uploads/link.png')).toBeNull();
  });

  it('openRead gives a handle with the size of the file', async () => {
    const store = await makeStore();
    await store.put('Image_Gen/g.png', Buffer.from('0123456789'));
    const opened = await store.openRead('Image_Gen/g.png');
    expect(opened?.size).toBe(10);
    await opened?.handle.close();
  });

  it('maps legacy /static/Storage/ keys onto the same folders', async () => {
    const store = await makeStore();
    const legacy = '/static/Storage/Image_Gen/img_1.png';
    await store.put(legacy, Buffer.from('legacy'));
    expect(store.absolutePath(legacy)).toBe(join(root, 'Image_Gen', 'img_1.png'));
    expect(await store.exists('Image_Gen/img_1.png')).toBe(true);
    expect(canonicalKey(legacy)).toBe('Image_Gen/img_1.png');
    expect(await store.delete(legacy)).toBe(true);
  });

  it('writes many different keys concurrently', async () => {
    const store = await makeStore();
    const items = Array.from({ length: 40 }, (_, i) => ({ key: `uploads/img_${i}.png`, data: randomBytes(100 + i) }));
    await Promise.all(items.map((it) => store.put(it.key, it.data)));
    const listed = await collect(store.listKeys());
    expect(listed.map((f) => f.key).sort()).toEqual(items.map((it) => it.key).sort());
    for (const it of items) expect(await fsp.readFile(store.absolutePath(it.key))).toEqual(it.data);
    expect(await tempFiles()).toEqual([]);
  });

  it('listKeys walks the three folders only and skips names that cannot be keys', async () => {
    const store = await makeStore();
    await store.put('Image_Gen/a.png', Buffer.from('a'));
    await store.put('thumbnails/b.webp', Buffer.from('bb'));
    await fsp.writeFile(join(root, '.tmp', 'partial.part'), 'x');
    await fsp.writeFile(join(root, 'uploads', '.DS_Store'), 'x');
    await fsp.writeFile(join(root, 'uploads', 'with space.png'), 'x');
    await fsp.writeFile(join(root, 'stray.png'), 'x');
    const keys = (await collect(store.listKeys())).map((f) => [f.key, f.size]);
    expect(keys.sort()).toEqual([
      ['Image_Gen/a.png', 1],
      ['thumbnails/b.webp', 2],
    ]);
  });

  it('recreates a storage folder removed under a running store', async () => {
    const store = await makeStore();
    await fsp.rm(join(root, 'uploads'), { recursive: true });
    await fsp.rm(join(root, '.tmp'), { recursive: true });
    await store.put('uploads/x.png', Buffer.from('x'));
    expect(await store.exists('uploads/x.png')).toBe(true);
  });

  describe('atomicity', () => {
    it.each<[string, (calls: { n: number }) => Partial<FsOps>]>([
      ['rename fails', () => ({ rename: () => Promise.reject(ioError('EIO')) })],
      ['fsync of the file fails', () => ({ fsync: () => Promise.reject(ioError('EIO')) })],
      [
        'fsync of the folder fails',
        (calls) => ({
          fsync: (h) => (++calls.n === 2 ? Promise.reject(ioError('EIO')) : h.sync()),
        }),
      ],
    ])('when %s, put rejects and leaves nothing at the key nor in .tmp', async (_name, inject) => {
      const store = await makeStore(inject({ n: 0 }));
      await expect(store.put('uploads/a.png', randomBytes(64))).rejects.toThrow(/injected/);
      expect(await store.exists('uploads/a.png')).toBe(false);
      expect(await fsp.readdir(join(root, 'uploads'))).toEqual([]);
      expect(await tempFiles()).toEqual([]);
    });

    it('putFromFile moves a finished temp file and leaves no temp behind', async () => {
      const store = await makeStore();
      const temp = store.tempPath();
      await fsp.writeFile(temp, 'streamed');
      await store.putFromFile('uploads/s.png', temp);
      expect(await fsp.readFile(store.absolutePath('uploads/s.png'), 'utf8')).toBe('streamed');
      expect(await tempFiles()).toEqual([]);
    });

    it('putFromFile removes the temp file when the rename fails', async () => {
      const store = await makeStore({ rename: () => Promise.reject(ioError('EIO')) });
      const temp = store.tempPath();
      await fsp.writeFile(temp, 'streamed');
      await expect(store.putFromFile('uploads/s.png', temp)).rejects.toThrow(/injected/);
      expect(await store.exists('uploads/s.png')).toBe(false);
      expect(await tempFiles()).toEqual([]);
    });

    it('putFromFile accepts only files from its own temp folder', async () => {
      const store = await makeStore();
      const elsewhere = join(root, 'stray.png');
      await fsp.writeFile(elsewhere, 'x');
      await expect(store.putFromFile('uploads/s.png', elsewhere)).rejects.toBeInstanceOf(InvalidKeyError);
      expect(await fsp.readFile(elsewhere, 'utf8')).toBe('x');
    });

    it('tempPath gives distinct paths inside .tmp', async () => {
      const store = await makeStore();
      const a = store.tempPath();
      expect(a.startsWith(join(root, '.tmp') + '/')).toBe(true);
      expect(store.tempPath()).not.toBe(a);
    });
  });

  it('cleanupTemp removes only temp files older than the cut-off', async () => {
    const now = new Date('2026-01-01T12:00:00Z');
    const store = await makeStore(undefined, () => now);
    const stale = store.tempPath();
    const fresh = store.tempPath();
    await fsp.writeFile(stale, 'old');
    await fsp.writeFile(fresh, 'new');
    await fsp.utimes(stale, new Date(now.getTime() - 7_200_000), new Date(now.getTime() - 7_200_000));
    await fsp.utimes(fresh, new Date(now.getTime() - 60_000), new Date(now.getTime() - 60_000));
    expect(await store.cleanupTemp(3_600_000)).toBe(1);
    expect(await tempFiles()).toEqual([fresh.slice(fresh.lastIndexOf('/') + 1)]);
  });

  describe('keys', () => {
    const refused = [
      '../x',
      'uploads/../../etc/passwd',
      'uploads/%2e%2e%2fx',
      'uploads/a%2Fb',
      'uploads/a\u0000b',
      '/etc/passwd',
      'uploads\\..\\x',
      'C:\\x',
      'C:/x',
      '',
      'uploads/',
      'uploads/.hidden',
      'uploads/a..b',
      'uploads/a/b.png',
      'other/x.png',
      'Uploads/x.png',
      ' uploads/x.png',
      'uploads/x.png\n',
      '/static/Storage/../x',
      '/static/Storage/uploads/../../x',
      '/static/Storage/etc/passwd',
      '//static/Storage/uploads/x.png',
      `uploads/${'a'.repeat(202)}`,
    ];

    it.each(refused)('refuses %j with InvalidKeyError and no filesystem call', async (key) => {
      const calls: string[] = [];
      const store = new LocalFileStore({ root, fs: recordingFs(calls) });
      expect(canonicalKey(key)).toBeNull();
      expect(() => store.resolveKey(key)).toThrow(InvalidKeyError);
      expect(() => store.absolutePath(key)).toThrow(InvalidKeyError);
      await expect(store.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.putFromFile(key, store.tempPath())).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.exists(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.stat(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.openRead(key)).rejects.toBeInstanceOf(InvalidKeyError);
      expect(calls).toEqual([]);
    });

    it('refuses non-string keys', () => {
      expect(canonicalKey(undefined)).toBeNull();
      expect(canonicalKey(['uploads/x.png'])).toBeNull();
    });

    it.each([
      'uploads/img_20260101_120000_ab12cd34.jpg',
      'Image_Gen/x-1.v2.png',
      'thumbnails/_t.webp',
      `uploads/${'a'.repeat(201)}`,
    ])('accepts %j inside the root', (key) => {
      const store = new LocalFileStore({ root });
      expect(store.resolveKey(key)).toBe(join(root, key));
    });
  });
});
