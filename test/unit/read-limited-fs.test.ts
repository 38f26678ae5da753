/**
 * readLimited's temp file under a file system that misbehaves on purpose: node:fs's
 * createWriteStream is wrapped so a test can hand the write stream its own `fs` (Node's `fs`
 * option) whose open is slow, whose writes fail, or which records the calls. What the tests in
 * read-limited.test.ts cannot make a real disk do on demand.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { readLimited, streamToFile } from '../../src/files/read-limited.js';

/** The `fs` the next write streams get, over the real one (null: the real one). */
const hooks = vi.hoisted(() => ({ fs: null as null | Record<string, unknown> }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const createWriteStream = ((path: string, options?: object) =>
    real.createWriteStream(
      path,
      hooks.fs ? { ...options, fs: { ...real, ...hooks.fs } } : options,
    )) as typeof real.createWriteStream;
  return { ...real, default: { ...real, createWriteStream }, createWriteStream };
});

const realFs = await vi.importActual<typeof import('node:fs')>('node:fs');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-read-fs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  hooks.fs = null;
});

let k = 0;
const path = () => join(dir, `t${k++}`);
const data = (n: number, size: number) => Array.from({ length: n }, (_, i) => Buffer.alloc(size, i));

/** Records the name of each file system call the write stream makes, in order. */
function recordCalls(): string[] {
  const calls: string[] = [];
  const fs: Record<string, unknown> = {};
  for (const name of ['open', 'write', 'writev', 'fsync', 'close'] as const) {
    const fn = realFs[name] as (...args: unknown[]) => unknown;
    fs[name] = (...args: unknown[]) => {
      calls.push(name);
      return fn(...args);
    };
  }
  hooks.fs = fs;
  return calls;
}

describe('readLimited and its temp file', () => {
  it('fsyncs the file before closing it when asked to (flush), and not otherwise', async () => {
    const flushed = recordCalls();
    const p = path();
    expect(
      await streamToFile(Readable.from(data(3, 100)), p, { maxBytes: 1000, idleTimeoutMs: 1000, flush: true }),
    ).toBe(300);
    expect(flushed.filter((c) => c === 'fsync' || c === 'close')).toEqual(['fsync', 'close']);
    expect(await readFile(p)).toEqual(Buffer.concat(data(3, 100)));

    for (const o of [{}, { flush: false }]) {
      const plain = recordCalls();
      await readLimited(Readable.from(data(3, 100)), path(), {
        maxBytes: 1000,
        idleTimeoutMs: 1000,
        memoryBytes: 0,
        ...o,
      });
      expect(plain).toContain('close');
      expect(plain).not.toContain('fsync');
    }
  });

  it('removes a file whose open finishes only after the read failed', async () => {
    // The first chunk spills (the open starts, and is slow); the second is over maxBytes.
    hooks.fs = {
      open: (...args: unknown[]) => {
        setTimeout(() => (realFs.open as (...a: unknown[]) => void)(...args), 100);
      },
    };
    const p = path();
    await expect(
      readLimited(Readable.from([Buffer.alloc(10), Buffer.alloc(2000)]), p, {
        maxBytes: 1000,
        idleTimeoutMs: 5000,
        memoryBytes: 0,
      }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await sleep(200);
    expect(existsSync(p)).toBe(false);
  });

  it("rejects with the disk's error when a write fails mid-upload, and leaves no file", async () => {
    const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    let writes = 0;
    // The first writes land; then the disk is full.
    const failLater =
      (name: 'write' | 'writev') =>
      (...args: unknown[]) => {
        const cb = args[args.length - 1] as (err: Error) => void;
        if (++writes > 2) return cb(enospc());
        return (realFs[name] as (...a: unknown[]) => void)(...args);
      };
    hooks.fs = { write: failLater('write'), writev: failLater('writev') };
    const p = path();
    await expect(
      readLimited(Readable.from(data(64, 64 * 1024)), p, { maxBytes: 1e8, idleTimeoutMs: 5000, memoryBytes: 0 }),
    ).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(existsSync(p)).toBe(false);
  });

  // Found by mutation testing: SpillSink._final used to drop the error end()'s callback receives,
  // so a failure of the last, still buffered writes (every upload under the write stream's 16 KiB
  // buffer, and the tail of any other) resolved as a success, with bytes counted that were not in the file.
  it('rejects when the last, buffered writes fail (small upload), instead of answering success', async () => {
    hooks.fs = {
      write: (...args: unknown[]) =>
        (args[args.length - 1] as (err: Error) => void)(
          Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
        ),
      writev: (...args: unknown[]) =>
        (args[args.length - 1] as (err: Error) => void)(
          Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
        ),
    };
    const p = path();
    await expect(
      readLimited(Readable.from(data(2, 1000)), p, { maxBytes: 10_000, idleTimeoutMs: 5000, memoryBytes: 0 }),
    ).rejects.toMatchObject({ code: 'ENOSPC' });
  });
});
