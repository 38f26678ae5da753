import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { canonicalKey, type LocalFileStore } from '../files/local-file-store.js';
import type { FileRecord } from '../files/file-records.js';
import type { UrlSigner } from '../files/url-signer.js';
import { sendError } from './error-body.js';

export interface FilesRouterDeps {
  files: LocalFileStore;
  signer: UrlSigner;
  /**
   * Mime type and digest of the file a key names, from the metadata store; null once the record
   * is gone. `cloudUrl`: where to send the client when the local file is gone (cleanup evicted it,
   * or the disk lost it before a restore); `evicted`: the local file is gone on purpose.
   */
  lookup: (key: string) => Promise<FileRecord | null>;
  log?: Logger;
  /**
   * When set (for example `/_protected`), the checks run here and nginx sends the bytes: the
   * answer carries the headers and `X-Accel-Redirect: <prefix>/<key>` and no body. nginx then
   * needs an internal location mapping the prefix to STORAGE_DIR, and it serves Range itself:
   *
   *   location /_protected/ { internal; alias /srv/storage/; add_header X-Content-Type-Options nosniff; }
   *
   * nginx keeps only some headers of the redirecting answer (Cache-Control, Content-Disposition,
   * Set-Cookie...), so nosniff must be repeated in that location.
   */
  accelRedirectPrefix?: string;
  /**
   * Where a stored cloud URL may send the client, or null: it is data that could have been
   * edited, so it is checked against the providers' origins (src/cloud/allowed-origins.ts)
   * at every redirect, not only when it was stored; an object of a private s3 bucket is
   * presigned. Unset: every cloud URL is refused.
   */
  cloudRedirect?: (url: string) => Promise<string | null>;
  /** For Cache-Control's max-age; the signer's clock in tests. */
  clock?: () => Date;
}

/**
 * The path is matched without a capture group on purpose: the router would percent-decode a
 * captured key, turning `a%2Fb` into `a/b`. The key is the raw path after `/files/`, exactly as
 * signed; it is never decoded, so an encoded `..` or `/` stays a character the key pattern refuses.
 */
const FILES_PATH = /^\/files\/.+$/;
const PREFIX_LENGTH = '/files/'.length;

type ErrorCode = 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT';

function fail(res: Response, status: number, code: ErrorCode, message: string): void {
  sendError(res, status, code, message, { 'Cache-Control': 'no-store' });
}

/**
 * `GET|HEAD /files/<key>?exp=&sig=`. Order of checks, none of which touches the disk before the
 * signature is known good: signature (403) → key shape (404) → metadata record (404) → file (404).
 * A malformed key with a good signature answers 404, not 403: such a key can only come from the
 * server itself, and a file by that name cannot exist in the store.
 */
export function createFilesRouter(deps: FilesRouterDeps): Router {
  const router = Router();
  const clock = deps.clock ?? (() => new Date());
  const accelPrefix = deps.accelRedirectPrefix?.replace(/\/+$/, '');

  router.get(FILES_PATH, async (req: Request, res: Response) => {
    const key = req.path.slice(PREFIX_LENGTH);
    const { exp, sig } = req.query;
    if (typeof exp !== 'string' || typeof sig !== 'string' || !deps.signer.verify(key, exp, sig)) {
      fail(res, 403, 'FORBIDDEN', 'This file link is invalid or has expired: ask the API for a fresh URL.');
      return;
    }
    const rel = canonicalKey(key);
    const record = rel === null ? null : await deps.lookup(key);
    if (rel === null || record === null) {
      fail(res, 404, 'NOT_FOUND', 'No file at this address.');
      return;
    }

    // The cloud copy answers for a local file that is gone: links handed out earlier keep working.
    // Otherwise, or when the stored URL is not on an allowed origin, the file is simply not here.
    const toCloudOrNotFound = async () => {
      const cloudUrl = record.cloudUrl;
      const target = cloudUrl ? ((await deps.cloudRedirect?.(cloudUrl)) ?? null) : null;
      if (target) {
        res
          .status(302)
          .set({ Location: target, 'Cache-Control': 'private, no-cache', 'Referrer-Policy': 'no-referrer' })
          .end();
        return;
      }
      if (cloudUrl) deps.log?.warn({ key }, 'a stored cloud URL is not on an allowed origin: not redirecting to it');
      fail(res, 404, 'NOT_FOUND', 'No file at this address.');
    };
    if (record.evicted) {
      await toCloudOrNotFound();
      return;
    }

    const etag = `"${record.sha256}"`;
    const maxAge = Math.max(0, Number(exp) - Math.floor(clock().getTime() / 1000));
    const setCommonHeaders = () => {
      res.set({
        'Content-Type': record.mimeType,
        'X-Content-Type-Options': 'nosniff',
        'Content-Disposition': 'inline',
        ETag: etag,
        'Accept-Ranges': 'bytes',
        'Cache-Control': `private, max-age=${maxAge}`,
      });
    };

    if (accelPrefix !== undefined) {
      if ((await deps.files.stat(key)) === null) {
        await toCloudOrNotFound();
        return;
      }
      setCommonHeaders();
      if (matchesIfNoneMatch(req.get('If-None-Match'), etag)) {
        res.status(304).end();
        return;
      }
      res.set('X-Accel-Redirect', `${accelPrefix}/${rel}`).status(200).end();
      return;
    }

    const file = await deps.files.openRead(key);
    if (file === null) {
      await toCloudOrNotFound();
      return;
    }
    let streaming = false;
    try {
      if (matchesIfNoneMatch(req.get('If-None-Match'), etag)) {
        setCommonHeaders();
        res.status(304).end();
        return;
      }
      const range = rangeFor(req, etag, file.size);
      if (range === 'unsatisfiable') {
        res.set('Content-Range', `bytes */${file.size}`);
        fail(
          res,
          416,
          'BAD_USER_INPUT',
          `The requested range is not satisfiable: the file has ${file.size} bytes. Send one range, "bytes=first-last", "bytes=first-" or "bytes=-suffix".`,
        );
        return;
      }
      setCommonHeaders();
      const { start, end } = range ?? { start: 0, end: file.size - 1 };
      if (range !== null) res.status(206).set('Content-Range', `bytes ${start}-${end}/${file.size}`);
      res.set('Content-Length', String(end - start + 1));
      if (req.method === 'HEAD' || file.size === 0) {
        res.end();
        return;
      }
      streaming = true;
      await send(file.handle, start, end, res, req, deps.log);
    } finally {
      if (!streaming) await file.handle.close();
    }
  });

  return router;
}

/**
 * Streams the bytes; the read stream owns the descriptor from here. pipeline destroys the
 * stream, which closes the descriptor, whether the client reads to the end or goes away.
 */
async function send(
  handle: FileHandle,
  start: number,
  end: number,
  res: Response,
  req: Request,
  log?: Logger,
): Promise<void> {
  const stream = handle.createReadStream({ start, end, autoClose: true });
  try {
    await pipeline(stream, res);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
      log?.debug({ path: req.path }, 'client went away while a file was sent');
    } else {
      log?.error({ err, path: req.path }, 'reading a stored file failed mid-response');
    }
  }
}

/** Weak comparison, as RFC 9110 §13.1.2 asks for If-None-Match. */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

type RangeAnswer = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * One byte range, or null for "send the whole file". Other units are ignored and so are
 * several ranges (RFC 9110 §14.2 lets a server answer those with the whole file; multipart
 * answers are not worth their complexity for images). A stale If-Range also means the whole file.
 */
function rangeFor(req: Request, etag: string, size: number): RangeAnswer {
  const header = req.get('Range');
  if (header === undefined || !/^bytes=/i.test(header.trim())) return null;
  const ifRange = req.get('If-Range');
  if (ifRange !== undefined && ifRange.trim() !== etag) return null;
  if (header.includes(',')) return null;
  const m = /^bytes=[ \t]*(\d{0,15})-(\d{0,15})[ \t]*$/i.exec(header.trim());
  if (!m) return 'unsatisfiable';
  const [, first = '', last = ''] = m;
  if (first === '') {
    const suffix = Number(last);
    if (last === '' || suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size || (last !== '' && Number(last) < start)) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}
