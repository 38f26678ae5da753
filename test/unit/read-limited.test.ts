import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLimited, streamToFile } from '../../src/files/read-limited.js';

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

describe('readLimited: where the bytes go, and what else refuses an upload', () => {
  it('spills a single chunk bigger than memoryBytes, even the first one', async () => {
    for (const [size, memoryBytes] of [
      [4001, 4000],
      [1, 0],
    ] as const) {
      const p = path();
      const data = Buffer.alloc(size, 7);
      const read = await readLimited(Readable.from([data]), p, { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes });
      expect(read).toEqual({ bytes: size, data: null });
      expect(await readFile(p)).toEqual(data);
    }
  });

  it('spills when the next chunk would pass memoryBytes, and keeps the chunks held before it', async () => {
    const p = path();
    const parts = [Buffer.alloc(3000, 1), Buffer.alloc(1001, 2), Buffer.alloc(10, 3)];
    const read = await readLimited(Readable.from(parts), p, {
      maxBytes: 10_000,
      idleTimeoutMs: 1000,
      memoryBytes: 4000,
    });
    expect(read).toEqual({ bytes: 4011, data: null });
    expect(await readFile(p)).toEqual(Buffer.concat(parts));
  });

  it('writes a spilled upload far bigger than the write buffer completely, waiting for the disk', async () => {
    // 4 MiB in 256 KiB chunks: each write fills the file stream's buffer (16 KiB), so the sink must
    // wait for 'drain' before taking the next chunk.
    const parts = Array.from({ length: 16 }, (_, i) => Buffer.alloc(256 * 1024, i));
    const p = path();
    const read = await readLimited(Readable.from(parts), p, {
      maxBytes: 8 * 1024 * 1024,
      idleTimeoutMs: 5000,
      memoryBytes: 1024,
    });
    expect(read).toEqual({ bytes: 4 * 1024 * 1024, data: null });
    expect((await readFile(p)).equals(Buffer.concat(parts))).toBe(true);
  });

  it('refuses a stream busboy marked truncated that ends normally, in memory or spilled, and leaves no file', async () => {
    for (const memoryBytes of [0, 1_000_000]) {
      const source = Object.assign(Readable.from([Buffer.alloc(2000, 1)]), { truncated: true });
      const p = path();
      await expect(
        readLimited(source, p, { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes }),
      ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      expect(existsSync(p)).toBe(false);
    }
  });

  it('refuses an upload whose limit event comes after its last byte, even once the stream is closed', async () => {
    for (const event of ['end', 'close']) {
      for (const memoryBytes of [0, 1_000_000]) {
        const source = new PassThrough();
        // On 'close' the stream is destroyed already, and destroying it again does nothing: only
        // the flag the event set can refuse the upload.
        source.once(event, () => source.emit('limit'));
        const p = path();
        const reading = readLimited(source, p, { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes });
        source.end(Buffer.alloc(2000, 1));
        await expect(reading, `limit on ${event}`).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
        expect(existsSync(p)).toBe(false);
      }
    }
  });

  it('leaves no limit listener on the source, whether the read succeeds or fails', async () => {
    const ok = chunks(2, 100);
    await readLimited(ok, path(), { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes: 0 });
    expect(ok.listenerCount('limit')).toBe(0);
    const over = chunks(20, 1000);
    await expect(
      readLimited(over, path(), { maxBytes: 10_000, idleTimeoutMs: 1000, memoryBytes: 0 }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(over.listenerCount('limit')).toBe(0);
  });

  it('never writes into a file already at the path (the temp file is opened exclusively)', async () => {
    const p = path();
    await writeFile(p, 'not the upload');
    await readLimited(chunks(2, 1000), p, { maxBytes: 10_000, idleTimeoutMs: 5000, memoryBytes: 0 }).catch(
      () => undefined,
    );
    // The read fails (next test); the other file's bytes are not replaced by the upload's.
    if (existsSync(p)) expect(await readFile(p, 'utf8')).toBe('not the upload');
  });

  // As in read-limited-fs.test.ts: the open's EEXIST used to be dropped, and the read answered
  // success for bytes that were in no file.
  it('fails the read when the temp file cannot be opened (EEXIST), instead of answering success', async () => {
    const p = path();
    await writeFile(p, 'not the upload');
    await expect(
      readLimited(chunks(2, 1000), p, { maxBytes: 10_000, idleTimeoutMs: 5000, memoryBytes: 0 }),
    ).rejects.toMatchObject({ code: 'EEXIST' });
    // Not ours: the failed read leaves it as it was.
    expect(await readFile(p, 'utf8')).toBe('not the upload');
  });
});

describe('streamToFile', () => {
  it('writes every byte to the file, however small the upload, and answers the count', async () => {
    for (const n of [1, 3]) {
      const p = path();
      expect(await streamToFile(chunks(n, 10), p, { maxBytes: 10_000, idleTimeoutMs: 1000 })).toBe(n * 10);
      expect(await readFile(p)).toEqual(Buffer.concat(Array.from({ length: n }, (_, i) => Buffer.alloc(10, i))));
    }
  });

  it('refuses more than maxBytes as PAYLOAD_TOO_LARGE and leaves no file', async () => {
    const p = path();
    await expect(streamToFile(chunks(11, 1000), p, { maxBytes: 10_000, idleTimeoutMs: 1000 })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    expect(existsSync(p)).toBe(false);
  });

  it('feeds the hash every byte, in order', async () => {
    const seen: Buffer[] = [];
    await streamToFile(chunks(3, 10), path(), {
      maxBytes: 10_000,
      idleTimeoutMs: 1000,
      hash: { update: (c: Buffer) => seen.push(Buffer.from(c)) },
    });
    expect(Buffer.concat(seen)).toEqual(Buffer.concat(Array.from({ length: 3 }, (_, i) => Buffer.alloc(10, i))));
  });
});
