import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLimited } from '../../src/files/read-limited.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const chunks = (n: number, size: number) => Readable.from(Array.from({ length: n }, (_, i) => Buffer.alloc(size, i)));
let k = 0;
const path = () => join(dir, `t${k++}`);

describe('readLimited', () => {
  it('keeps an upload up to memoryBytes in memory and writes no file', async () => {
    const p = path();
    const read = await readLimited(chunks(4, 1000), p, { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes: 4000 });
    expect(read.bytes).toBe(4000);
    expect(read.data).toEqual(Buffer.concat(Array.from({ length: 4 }, (_, i) => Buffer.alloc(1000, i))));
    expect(existsSync(p)).toBe(false);
  });

  it('spills a bigger upload to the file, every byte in order, and holds nothing in memory', async () => {
    const p = path();
    const read = await readLimited(chunks(9, 1000), p, { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes: 4000 });
    expect(read).toEqual({ bytes: 9000, data: null });
    expect(await readFile(p)).toEqual(Buffer.concat(Array.from({ length: 9 }, (_, i) => Buffer.alloc(1000, i))));
  });

  it('refuses an upload over maxBytes after it spilled, and leaves no file', async () => {
    const p = path();
    await expect(
      readLimited(chunks(20, 1000), p, { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes: 4000 }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(existsSync(p)).toBe(false);
  });

  it("treats busboy's limit event as too large even when the stream then ends normally", async () => {
    const source = new PassThrough();
    const p = path();
    const reading = readLimited(source, p, { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes: 4000 });
    source.write(Buffer.alloc(500));
    source.emit('limit');
    source.end();
    await expect(reading).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(existsSync(p)).toBe(false);
  });

  it('abandons a stream that stops sending, in memory or spilled', async () => {
    for (const memoryBytes of [0, 4000]) {
      const source = new PassThrough();
      const p = path();
      const reading = readLimited(source, p, { maxBytes: 10_000, idleTimeoutMs: 100, memoryBytes });
      source.write(Buffer.alloc(2000));
      await expect(reading).rejects.toThrow(/sent nothing for 100 ms/);
      expect(existsSync(p)).toBe(false);
    }
  });
});
