import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { NextFunction, Request, Response } from 'express';
import { Upload, type FileUpload } from 'graphql-upload-minimal';
import { describe, expect, it } from 'vitest';
import { readUploadsEarly } from '../../src/http/early-upload-read.js';
import { drainUnread, fileSource } from '../../src/graphql/uploads.js';

/** A file part as the multipart parser hands it over: its stream, readable once. */
/** The parser's side of an Upload, which its type definitions leave out. */
type ParserUpload = Upload & { resolve(file: FileUpload): void; reject(error: Error): void };

function filePart(
  chunks: string[],
  o: { endless?: boolean } = {},
): { upload: Upload; raw: Readable & { truncated?: boolean }; pulled: () => number } {
  let pulled = 0;
  let i = 0;
  const raw = new Readable({
    highWaterMark: 4,
    read() {
      // An endless part is a body still arriving: more may come until it is cut short.
      if (i === chunks.length) return void (o.endless ? undefined : this.push(null));
      pulled += chunks[i]!.length;
      this.push(chunks[i++]);
    },
  }) as Readable & { truncated?: boolean };
  const upload = new Upload() as ParserUpload;
  let taken = false;
  const file: FileUpload = {
    fieldName: '1',
    filename: 'a.png',
    mimetype: 'image/png',
    encoding: '7bit',
    createReadStream: () => {
      if (taken) throw new Error('twice');
      taken = true;
      return raw as never;
    },
  };
  upload.resolve(file);
  return { upload, raw, pulled: () => pulled };
}

function run(body: unknown, aheadBytes: number): void {
  let called = false;
  readUploadsEarly(aheadBytes)({ body } as Request, {} as Response, (() => (called = true)) as NextFunction);
  expect(called).toBe(true);
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('uploaded files are received ahead of the resolver', () => {
  it('reads a file found anywhere in the operations before anyone asks, then hands out every byte in order', async () => {
    const chunks = Array.from({ length: 50 }, (_, i) => `chunk${String(i).padStart(3, '0')};`);
    const part = filePart(chunks);
    run({ query: 'mutation', variables: { input: { files: [null, part.upload] } } }, 1 << 20);
    await settle();
    // Nobody called createReadStream yet, and the whole (small) file is already in.
    expect(part.pulled()).toBe(chunks.join('').length);
    const file = await part.upload.promise;
    expect(await text(file.createReadStream())).toBe(chunks.join(''));
    expect(() => file.createReadStream()).toThrow(/multiple times/);
  });

  it('holds at most the read-ahead: the rest waits for the reader, as before', async () => {
    const chunks = Array.from({ length: 1000 }, () => 'x'.repeat(100));
    const part = filePart(chunks);
    run([{ variables: { file: part.upload } }], 10_000);
    await settle();
    expect(part.pulled()).toBeGreaterThan(0);
    expect(part.pulled()).toBeLessThan(20_000);
    expect((await text((await part.upload.promise).createReadStream())).length).toBe(100_000);
  });

  it("keeps the parser's limit and errors for the reader that comes later", async () => {
    const limited = filePart(['abc']);
    run({ variables: { file: limited.upload } }, 1 << 20);
    await settle();
    limited.raw.truncated = true;
    limited.raw.emit('limit');
    const stream = (await limited.upload.promise).createReadStream() as Readable & { truncated?: boolean };
    const seen = await new Promise<boolean>((resolve) => {
      stream.on('limit', () => resolve(true));
      setTimeout(() => resolve(false), 200);
    });
    expect(seen).toBe(true);
    expect(stream.truncated).toBe(true);

    // Cut short while the file is still coming (more of it than the read-ahead holds).
    const broken = filePart(Array.from({ length: 100 }, () => 'abcdef'));
    run({ variables: { file: broken.upload } }, 64);
    await settle();
    broken.raw.destroy(new Error('Unexpected end of form'));
    await settle();
    await expect(broken.upload.promise.then((f) => f.createReadStream())).rejects.toThrow('Unexpected end of form');
  });

  it("is the one relay the upload path reads: not wrapped again, and a body cut short mid-read is the client's 400", async () => {
    const part = filePart(Array.from({ length: 100 }, () => 'abcdef'));
    run({ variables: { file: part.upload } }, 64);
    await settle();
    const stream = await fileSource(part.upload.promise).open();
    // The stream handed out by the read-ahead itself, with no second PassThrough in front of it.
    expect(stream.listenerCount('limit')).toBe(0);
    const chunks: Buffer[] = [];
    const failure = new Promise<Error>((resolve) => stream.on('error', resolve));
    stream.on('data', (c: Buffer) => {
      chunks.push(c);
      if (chunks.length === 2) part.raw.destroy(new Error('Unexpected end of form'));
    });
    const e = (await failure) as Error & { status?: number; expose?: boolean };
    expect(e).toMatchObject({ status: 400, expose: true });
    expect(e.message).toMatch(/malformed: Unexpected end of form/);
  });

  it('survives a body cut short while a refused request drains it, or before anyone read it', async () => {
    const drained = filePart(
      Array.from({ length: 100 }, () => 'abcdef'),
      { endless: true },
    );
    run({ variables: { file: drained.upload } }, 64);
    await settle();
    drainUnread([drained.upload.promise]);
    await settle();
    drained.raw.destroy(new Error('Unexpected end of form'));
    const unread = filePart(
      Array.from({ length: 100 }, () => 'abcdef'),
      { endless: true },
    );
    run({ variables: { file: unread.upload } }, 64);
    await settle();
    unread.raw.destroy(new Error('Unexpected end of form'));
    // An error nobody listened to would fail this file (vitest reports unhandled errors).
    await settle();
  });

  it('leaves requests without uploads, and uploads that failed before the file came, alone', async () => {
    run(undefined, 10);
    run({ query: '{ __typename }' }, 10);
    const missing = new Upload() as ParserUpload;
    missing.reject(new Error('File missing in the request.'));
    run({ variables: { file: missing } }, 10);
    await expect(missing.promise).rejects.toThrow('File missing');
  });
});
