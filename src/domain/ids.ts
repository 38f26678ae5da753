import { createHash } from 'node:crypto';

/** Ids are 24 lowercase hex characters, the shape of a MongoDB ObjectId, in both stores. */
export const ID_PATTERN = /^[0-9a-f]{24}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export type IdGenerator = () => string;

/**
 * ObjectId-shaped ids: 4 bytes of seconds since the epoch, then 8 random bytes.
 * The clock and the randomness are injected so tests can make ids deterministic.
 */
export function createIdGenerator(now: () => Date, randomBytes: (n: number) => Buffer): IdGenerator {
  return () => {
    const seconds = Math.floor(now().getTime() / 1000);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(seconds >>> 0);
    return head.toString('hex') + randomBytes(8).toString('hex');
  };
}

/**
 * Images written by the older chatbot have no `_id`. Their id is derived from the
 * message id and the stored file name, so it is stable across reads and processes.
 */
export function legacyImageId(messageId: string, fileName: string): string {
  return createHash('sha256').update(`${messageId}/${fileName}`).digest('hex').slice(0, 24);
}
