import { createWriteStream, type WriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform, Writable } from 'node:stream';
import { BadUserInputError, PayloadTooLargeError } from '../domain/errors.js';

export class UploadTimeoutError extends BadUserInputError {}

/**
 * Streams an upload into `path`, counting bytes as they arrive, so an oversize file is refused
 * while it is read and never buffered whole. It also listens for busboy's `limit` event:
 * graphql-upload-minimal's `maxFileSize` silently truncates a file and ends the stream
 * normally (its issue #51), which would otherwise store a cut image. A stream that stops
 * sending for `idleTimeoutMs` is abandoned. On any failure the partial file is removed.
 */
export async function streamToFile(
  source: Readable & { truncated?: boolean },
  path: string,
  o: { maxBytes: number; idleTimeoutMs: number; hash?: { update(chunk: Buffer): unknown }; flush?: boolean },
): Promise<number> {
  return (await readLimited(source, path, { ...o, memoryBytes: 0 })).bytes;
}

/**
 * As streamToFile, but an upload of at most `memoryBytes` stays in memory and no file is
 * written (`data` is set); a bigger one spills to `path` as soon as it passes that size (`data`
 * is null). Small photos then cost no temp file write and read back, while memory per upload
 * stays bounded by `memoryBytes` whatever the client sends.
 */
export async function readLimited(
  source: Readable & { truncated?: boolean },
  path: string,
  o: {
    maxBytes: number;
    idleTimeoutMs: number;
    memoryBytes: number;
    hash?: { update(chunk: Buffer): unknown };
    /** fsync the file before closing it (for a file that is then renamed into place as it is). */
    flush?: boolean;
  },
): Promise<{ bytes: number; data: Buffer | null }> {
  let bytes = 0;
  let limitHit = false;
  const onLimit = () => {
    limitHit = true;
    source.destroy(tooLarge(o.maxBytes));
  };
  source.once('limit', onLimit);

  let timer: NodeJS.Timeout | undefined;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > o.maxBytes) return done(tooLarge(o.maxBytes));
      o.hash?.update(chunk);
      arm();
      done(null, chunk);
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      counter.destroy(new UploadTimeoutError(`The upload sent nothing for ${o.idleTimeoutMs} ms and was abandoned.`));
    }, o.idleTimeoutMs);
  };

  const sink = new SpillSink(path, o.memoryBytes, o.flush ?? false);
  try {
    arm();
    await pipeline(source, counter, sink);
    if (limitHit || source.truncated) throw tooLarge(o.maxBytes);
    return { bytes, data: sink.spilled ? null : Buffer.concat(sink.chunks, bytes) };
  } catch (e) {
    // pipeline() may reject before the sink has finished closing its file, and a file still
    // being opened is created after an unlink that ran too early: wait for the close first.
    if (!sink.closed) {
      const closed = new Promise((resolve) => sink.once('close', resolve));
      sink.destroy();
      await closed;
    }
    // A file that was at the path before (the exclusive open refused it) is not ours to remove.
    if ((e as NodeJS.ErrnoException | null)?.code !== 'EEXIST') await unlink(path).catch(() => undefined);
    if (limitHit) throw tooLarge(o.maxBytes);
    throw e;
  } finally {
    clearTimeout(timer);
    source.off('limit', onLimit);
  }
}

/** Keeps chunks in memory up to `memoryBytes`; past that, writes them and the rest to `path`. */
class SpillSink extends Writable {
  chunks: Buffer[] = [];
  private held = 0;
  private file: WriteStream | null = null;

  constructor(
    private readonly path: string,
    private readonly memoryBytes: number,
    private readonly flush: boolean,
  ) {
    super();
  }

  get spilled(): boolean {
    return this.file !== null;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.file && this.held + chunk.length <= this.memoryBytes) {
      this.chunks.push(chunk);
      this.held += chunk.length;
      return done();
    }
    if (!this.file) {
      this.file = createWriteStream(this.path, { flags: 'wx', flush: this.flush });
      this.file.on('error', (err) => this.destroy(err));
      for (const held of this.chunks) this.file.write(held);
      this.chunks = [];
    }
    if (this.file.write(chunk)) done();
    else this.file.once('drain', () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.file) return done();
    // end()'s callback is where a failure of the last writes arrives (an open refused, a full
    // disk, the flush's fsync): it must fail the read, or the bytes counted are not in the file.
    this.file.end((err?: Error | null) => done(err ?? null));
  }

  /**
   * Waits for the file to close: a write stream destroyed before its open finished still creates
   * the file afterwards, so the caller's unlink of a failed upload would run too early and leave it.
   */
  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const file = this.file;
    if (!file || file.closed) return done(err);
    file.once('close', () => done(err));
    file.destroy();
  }
}

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`The file is larger than the ${maxBytes} bytes accepted (MAX_UPLOAD_BYTES).`);
}

/** Decoded size of a base64 payload, computed before decoding it. */
export function base64DecodedLength(b64: string): number {
  const clean = b64.replace(/\s+/g, '');
  const padding = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return Math.floor((clean.length * 3) / 4) - padding;
}

const DATA_URI = /^data:([a-z0-9.+/-]*)(;[a-z0-9-]+=[^;,]*)*;base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Raw base64 or a `data:` URI (its mime type is ignored: the format is read from the bytes).
 * Malformed input is BAD_USER_INPUT; too large is PAYLOAD_TOO_LARGE, decided before decoding.
 */
export function decodeBase64Image(input: string, maxBytes: number): Buffer {
  const payload = input.replace(DATA_URI, '').replace(/\s+/g, '');
  if (payload.length === 0) throw new BadUserInputError('base64 is empty: send the image bytes, base64-encoded.');
  if (!BASE64.test(payload) && !BASE64URL.test(payload)) {
    throw new BadUserInputError('base64 is not valid base64 (or a data: URI with ;base64,).');
  }
  if (base64DecodedLength(payload) > maxBytes) throw tooLarge(maxBytes);
  return Buffer.from(payload, BASE64.test(payload) ? 'base64' : 'base64url');
}
