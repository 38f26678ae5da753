import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '../../src/domain/errors.js';
import { base64DecodedLength, decodeBase64Image, readLimited } from '../../src/files/read-limited.js';

/**
 * Issue #11 point 9, mutation 3, at the byte counters themselves: maxBytes is inclusive.
 * Over multipart, busboy's maxFileSize (MAX_UPLOAD_BYTES + 1, src/http/app.ts) also refuses a
 * file one byte over, which hides a counter that lets max + 1 through from the HTTP tests
 * (test/integration/audit-byte-limit.test.ts); here the counter is alone.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'his-audit-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let k = 0;
const path = () => join(dir, `t${k++}`);
/** `total` bytes, each its offset mod 251, so order and completeness show. */
function bytes(total: number): Buffer {
  const b = Buffer.alloc(total);
  for (let i = 0; i < total; i++) b[i] = i % 251;
  return b;
}
const stream = (data: Buffer, chunk: number) =>
  Readable.from(
    Array.from({ length: Math.ceil(data.length / chunk) }, (_, i) => data.subarray(i * chunk, (i + 1) * chunk)),
  );

describe.each([
  ['in memory', 1_000_000],
  ['spilled to the file', 0],
])('readLimited at exactly maxBytes (%s)', (_name, memoryBytes) => {
  const MAX = 10_007;

  it.each([1, 1000, MAX])('accepts exactly maxBytes (chunks of %i)', async (chunk) => {
    const p = path();
    const data = bytes(MAX);
    const read = await readLimited(stream(data, chunk), p, { maxBytes: MAX, idleTimeoutMs: 5000, memoryBytes });
    expect(read.bytes).toBe(MAX);
    expect(read.data ?? (await readFile(p))).toEqual(data);
  });

  it.each([1, 1000, MAX + 1])(
    'refuses maxBytes + 1 as PAYLOAD_TOO_LARGE and leaves no file (chunks of %i)',
    async (chunk) => {
      const p = path();
      const err = await readLimited(stream(bytes(MAX + 1), chunk), p, {
        maxBytes: MAX,
        idleTimeoutMs: 5000,
        memoryBytes,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PayloadTooLargeError);
      expect((err as Error).message).toContain(`larger than the ${MAX} bytes accepted`);
      expect(existsSync(p)).toBe(false);
    },
  );
});

describe('decodeBase64Image at exactly maxBytes, for each padding', () => {
  it.each([30, 31, 32])(
    'maxBytes %i: max - 1 and max decode, max + 1 is PAYLOAD_TOO_LARGE (raw, data: URI, base64url)',
    (max) => {
      for (const n of [max - 1, max, max + 1]) {
        const data = bytes(n);
        const encodings = [
          data.toString('base64'),
          `data:image/png;base64,${data.toString('base64')}`,
          data.toString('base64url'),
        ];
        for (const text of encodings) {
          if (n <= max) expect(decodeBase64Image(text, max), `${n} bytes as ${text.slice(0, 12)}…`).toEqual(data);
          else
            expect(() => decodeBase64Image(text, max), `${n} bytes as ${text.slice(0, 12)}…`).toThrow(
              PayloadTooLargeError,
            );
        }
        expect(base64DecodedLength(data.toString('base64'))).toBe(n);
      }
    },
  );
});
