import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultFs, LocalFileStore, type FsOps } from '../../src/files/local-file-store.js';

/**
 * Issue #11 point 9, mutation 5: `put` writes a temp file and renames it over the key, so a put
 * that fails part-way through an OVERWRITE leaves the previous bytes whole, and a reader never
 * sees a half-written file. local-file-store.test.ts checks that a failed first write leaves no
 * key; a put that wrote in place would pass that (it removes what it wrote) while destroying the
 * old bytes here.
 */

const KEY = 'uploads/img_20260101_120000_ab12cd34.jpg';
const ioError = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

let root: string;
beforeEach(async () => {
  root = await fsp.mkdtemp(join(tmpdir(), 'audit-lfs-'));
});
afterEach(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

/** A store whose first put (the old bytes) runs on the real fs, and later ones through `inject`. */
async function storeWithOldBytes(
  inject: (real: FsOps) => Partial<FsOps>,
): Promise<{ store: LocalFileStore; old: Buffer }> {
  let armed = false;
  const real: FsOps = defaultFs;
  const injected = inject(real);
  const fs = Object.fromEntries(
    (Object.keys(real) as (keyof FsOps)[]).map((name) => [
      name,
      (...args: unknown[]) =>
        ((armed ? (injected[name] ?? real[name]) : real[name]) as (...a: unknown[]) => unknown)(...args),
    ]),
  ) as unknown as FsOps;
  const store = new LocalFileStore({ root, fs });
  await store.init();
  const old = randomBytes(64 * 1024);
  await store.put(KEY, old);
  armed = true;
  return { store, old };
}

/** Opens as the store asks, but the handle's writeFile writes half the data, then fails. */
const halfWrite = (real: FsOps): Partial<FsOps> => ({
  open: (async (...args: Parameters<typeof fsp.open>) => {
    const handle: FileHandle = await real.open(...args);
    handle.writeFile = async (data: unknown) => {
      const bytes = data as Buffer;
      await handle.write(bytes.subarray(0, bytes.length >> 1));
      throw ioError('ENOSPC');
    };
    return handle;
  }) as FsOps['open'],
});

describe('a failed overwrite keeps the old bytes (#11 point 9)', () => {
  it.each<[string, (real: FsOps) => Partial<FsOps>]>([
    ['the write fails half-way (disk full)', halfWrite],
    ['fsync of the new data fails', () => ({ fsync: () => Promise.reject(ioError('EIO')) })],
    ['the rename fails', () => ({ rename: () => Promise.reject(ioError('EIO')) })],
  ])('when %s, put rejects, the key still holds every old byte, and .tmp is empty', async (_name, inject) => {
    const { store, old } = await storeWithOldBytes(inject);
    await expect(store.put(KEY, randomBytes(128 * 1024))).rejects.toThrow(/injected/);
    const after = await fsp
      .readFile(store.absolutePath(KEY))
      .catch((e: NodeJS.ErrnoException) => `the key is gone (${e.code})`);
    expect(after, 'the old bytes at the key').toEqual(old);
    expect(await store.stat(KEY)).toMatchObject({ size: old.length });
    expect(await fsp.readdir(join(root, '.tmp'))).toEqual([]);
    expect(await fsp.readdir(join(root, 'uploads'))).toEqual([KEY.slice('uploads/'.length)]);
  });

  it('while new bytes are being written and synced, a reader of the key sees the old bytes whole', async () => {
    const seen: Buffer[] = [];
    const { store } = await storeWithOldBytes((real) => ({
      fsync: async (h) => {
        // The new data is written (not yet renamed): read the key as a download would.
        seen.push(await fsp.readFile(join(root, KEY)));
        return real.fsync(h);
      },
    }));
    const old = await fsp.readFile(store.absolutePath(KEY));
    const next = randomBytes(128 * 1024);
    await store.put(KEY, next);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toEqual(old);
    expect(await fsp.readFile(store.absolutePath(KEY))).toEqual(next);
  });
});
