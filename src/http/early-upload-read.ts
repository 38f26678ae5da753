import { PassThrough, type Readable } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { Upload, type FileUpload } from 'graphql-upload-minimal';

/**
 * Starts receiving each uploaded file while Apollo parses, validates and runs the operation.
 *
 * The multipart parser hands a file over as busboy's own stream, which nobody reads until the
 * resolver asks for it: until then busboy pauses the socket, so the client's body waits for
 * GraphQL, and GraphQL then waits for the body. Here each file is piped, as soon as its part
 * begins, into a buffer of at most `aheadBytes` (held once, then the socket waits as before), and
 * `createReadStream()` hands out that buffer's stream, which replays what came early and then
 * the rest. Nothing else changes: the upload path still reads with its own limits and idle
 * timeout, a refused request still drains the body, and busboy's `limit` event, its errors and
 * `truncated` reach the reader as before.
 *
 * Memory: at most `aheadBytes` per file in flight ahead of the reader (the upload path keeps up
 * to 4 MB per upload in memory anyway, so a 2 MB read-ahead adds no new peak).
 */
export function readUploadsEarly(aheadBytes: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const body: unknown = req.body;
    if (body && typeof body === 'object') for (const upload of uploadsIn(body)) upload.promise.then((file) => readAhead(file, aheadBytes), () => undefined);
    next();
  };
}

/** Upload instances anywhere in the operations (one operation or a batch), each once. */
function uploadsIn(value: object, found = new Set<Upload>(), depth = 0): Set<Upload> {
  if (depth > 32) return found;
  for (const v of Object.values(value)) {
    if (v instanceof Upload) found.add(v);
    else if (v && typeof v === 'object') uploadsIn(v, found, depth + 1);
  }
  return found;
}

function readAhead(file: FileUpload, aheadBytes: number): void {
  let raw: Readable & { truncated?: boolean };
  try {
    raw = file.createReadStream() as Readable & { truncated?: boolean };
  } catch {
    // A file already failed (too large, body cut short): the reader meets that error itself.
    return;
  }
  // Half of the budget on each side of the PassThrough: its writable buffer and its readable one.
  const ahead = new PassThrough({ highWaterMark: Math.max(1, Math.floor(aheadBytes / 2)) });
  // Events that come before the reader listens are kept and given to it when it takes the stream.
  let handedOut = false;
  let limited = false;
  let failed: Error | null = null;
  raw.on('limit', () => {
    limited = true;
    if (handedOut) ahead.emit('limit');
  });
  raw.on('error', (e: Error) => {
    failed = e;
    if (handedOut) ahead.destroy(e);
  });
  ahead.on('close', () => {
    // The reader stopped early (or drained): the parser still needs the rest of the body.
    if (!raw.readableEnded && !raw.destroyed) {
      raw.unpipe(ahead);
      raw.resume();
    }
  });
  raw.pipe(ahead);
  Object.defineProperty(ahead, 'truncated', { get: () => raw.truncated });
  file.createReadStream = () => {
    // As the parser's own createReadStream: a file that already failed throws its error.
    if (failed) throw failed;
    if (handedOut) throw new Error('graphql-upload-minimal does not allow calling createReadStream() multiple times.');
    handedOut = true;
    // The reader attaches its listeners synchronously after this call: a limit already hit reaches them next.
    if (limited) process.nextTick(() => ahead.emit('limit'));
    return ahead as unknown as ReturnType<FileUpload['createReadStream']>;
  };
}
