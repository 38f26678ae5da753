import type { Readable } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import { Upload, type FileUpload } from 'graphql-upload-minimal';
import { relayFileStream } from '../graphql/uploads.js';

/**
 * Starts receiving each uploaded file while Apollo parses, validates and runs the operation.
 *
 * The multipart parser hands a file over as busboy's own stream, which nobody reads until the
 * resolver asks for it: until then busboy pauses the socket, so the client's body waits for
 * GraphQL, and GraphQL then waits for the body. Here each file is piped, as soon as its part
 * begins, into a buffer of at most `aheadBytes` (held once, then the socket waits as before), and
 * `createReadStream()` hands out that buffer's stream, which replays what came early and then
 * the rest. It is the same relay the upload path would otherwise put on the stream when it
 * opens it (relayFileStream), so each chunk passes through one PassThrough, not two. Nothing
 * else changes: the upload path still reads with its own limits and idle timeout, a refused
 * request still drains the body, and busboy's `limit` event, its errors (a malformed body as a
 * 400) and `truncated` reach the reader as before.
 *
 * Memory: at most `aheadBytes` per file in flight ahead of the reader (the upload path keeps up
 * to 4 MB per upload in memory anyway, so a 2 MB read-ahead adds no new peak).
 */
export function readUploadsEarly(aheadBytes: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const body: unknown = req.body;
    if (body && typeof body === 'object')
      for (const upload of uploadsIn(body))
        upload.promise.then(
          (file) => readAhead(file, aheadBytes),
          () => undefined,
        );
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
  // Half of the budget on each side of the relay's PassThrough: its writable buffer and its readable one.
  const ahead = relayFileStream(raw, Math.max(1, Math.floor(aheadBytes / 2)));
  // What happens before the reader takes the stream is kept for it: a failure is thrown from
  // createReadStream (as the parser's own does), a limit already hit is emitted again.
  let handedOut = false;
  let limited = false;
  let failed: Error | null = null;
  raw.on('limit', () => (limited = true));
  raw.on('error', (e: Error) => (failed = e));
  // The relay is destroyed with the parser's error (a body cut short) whether or not anyone reads
  // it yet; a reader gets that error from createReadStream or from its own listener, and a
  // request drained unread (drainUnread) has none, so this one keeps the error from going
  // unhandled, which would end the process.
  ahead.on('error', () => undefined);
  file.createReadStream = () => {
    if (failed) throw failed;
    if (handedOut) throw new Error('graphql-upload-minimal does not allow calling createReadStream() multiple times.');
    handedOut = true;
    // The reader attaches its listeners synchronously after this call.
    if (limited) process.nextTick(() => ahead.emit('limit'));
    return ahead as unknown as ReturnType<FileUpload['createReadStream']>;
  };
}
