import type { FileUpload } from 'graphql-upload-minimal';
import { BadUserInputError, PayloadTooLargeError } from '../domain/errors.js';
import type { ImageSource } from '../services/image-service.js';

/**
 * A multipart file as an image source. The stream is opened only when the service asks for
 * it, after the ownership check, so nothing is read for a request that is refused.
 */
export function fileSource(file: Promise<FileUpload>): ImageSource & { kind: 'stream' } {
  return {
    kind: 'stream',
    open: async () => {
      try {
        return (await file).createReadStream();
      } catch (e) {
        // graphql-upload-minimal's HttpError: a file part missing from the request (400), or
        // over its limits (413). Either is the client's doing, so it gets a coded error.
        const status = (e as { status?: number }).status;
        const message = e instanceof Error ? e.message : String(e);
        if (status === 413) throw new PayloadTooLargeError(message);
        if (status !== undefined && status >= 400 && status < 500) throw new BadUserInputError(message);
        throw e;
      }
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
