import { PassThrough, type Readable } from 'node:stream';
import type { FileUpload } from 'graphql-upload-minimal';
import type { ImageSource } from '../services/image-service.js';

/**
 * A multipart file as an image source. The stream is opened only when the service asks for
 * it, after the ownership check, so nothing reaches storage for a request that is refused.
 */
export function fileSource(file: Promise<FileUpload>): ImageSource & { kind: 'stream' } {
  return {
    kind: 'stream',
    // A file part missing from the request (400) or over its limits (413) rejects here with the
    // parser's HttpError, which src/graphql/errors.ts answers as a coded 4xx. A file the HTTP
    // layer already relays (src/http/early-upload-read.ts) is not wrapped a second time.
    open: async () => {
      const stream = (await file).createReadStream();
      return relayed.has(stream) ? stream : relayFileStream(stream);
    },
  };
}

/**
 * Drains files a refused request never read, so the client's upload completes and the
 * connection is reused instead of stalling on an unread body.
 */
export function drainUnread(files: (Promise<FileUpload> | null | undefined)[]): void {
  for (const file of files) {
    file?.then(
      (f) => {
        try {
          f.createReadStream().resume();
        } catch {
          // Already consumed or failed: nothing to drain.
        }
      },
      () => undefined,
    );
  }
}

/** Streams made by relayFileStream. */
const relayed = new WeakSet<Readable>();

/**
 * The file stream as the upload path reads it. busboy errors a file stream with a plain Error
 * when the body turns out malformed or cut short while the file is read ("Unexpected end of
 * form"): that is the client's doing, so it reaches the reader as a 400 the client sees, not
 * as an internal error. Errors the reader itself raises (too large, too slow, disk full) stay
 * on its side of the PassThrough and keep their own meaning. busboy's `limit` event and its
 * `truncated` flag are passed on. When the reader stops early, the rest of the file is drained
 * so the parser can finish the body. `highWaterMark` is what the relay may hold ahead of its
 * reader (about twice it: the PassThrough's writable and readable buffers).
 */
export function relayFileStream(
  raw: Readable & { truncated?: boolean },
  highWaterMark?: number,
): Readable & { truncated?: boolean } {
  const out = new PassThrough(highWaterMark === undefined ? {} : { highWaterMark });
  raw.on('limit', () => out.emit('limit'));
  raw.on('error', (e: Error) => {
    out.destroy(
      'expose' in e
        ? e
        : Object.assign(new Error(`The multipart body is malformed: ${e.message}.`), { status: 400, expose: true }),
    );
  });
  out.on('close', () => {
    if (!raw.readableEnded && !raw.destroyed) {
      raw.unpipe(out);
      raw.resume();
    }
  });
  raw.pipe(out);
  relayed.add(out);
  return Object.defineProperty(out, 'truncated', { get: () => raw.truncated });
}
