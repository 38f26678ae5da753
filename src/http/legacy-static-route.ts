import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { isDomainError } from '../domain/errors.js';
import type { ImageRecord } from '../domain/types.js';
import { canSee } from '../domain/viewer.js';
import { canonicalKey, sameFileKey } from '../files/local-file-store.js';
import type { Authenticate } from './identity.js';
import { sendError } from './error-body.js';

export interface LegacyStaticDeps {
  authenticate: Authenticate;
  /** The image whose original, thumbnail or evicted original is stored under the key. */
  lookup: (key: string) => Promise<ImageRecord | null>;
  /** Where a stored cloud URL may send the client (the providers' origins; presigned for a private s3 bucket), or null. */
  cloudRedirect: (url: string) => Promise<string | null>;
  /** Whether a stored cloud URL is public (a free host, a public bucket), not an object of a private bucket. */
  cloudUrlPublic: (url: string) => boolean;
  /** A signed /files URL for the key (the bytes, with ETag and Range, are served there). */
  signedUrl: (key: string) => string;
  log?: Logger;
}

/** Matched raw, like /files: the key is never percent-decoded, so `%2F` or `..` cannot be smuggled in. */
const LEGACY_PATH = /^\/static\/Storage\/.+$/;
const PREFIX_LENGTH = '/static/Storage/'.length;

function notFound(res: Response): void {
  sendError(res, 404, 'NOT_FOUND', 'No file at this address.', { 'Cache-Control': 'no-store' });
}

/**
 * `GET|HEAD /static/Storage/<folder>/<name>`: the seed chatbot's public paths, which its
 * frontends and the links its users shared hold. A path an image record names answers 302 to
 * the image's cloud copy when it has one that is public (on an allowed origin); a private
 * bucket's object, or the local file, is only for its owner (or an admin), who is sent on to a
 * presigned URL or a signed /files URL. Everyone else, and
 * every path no record names (the seed's PDFs included), gets 404: the seed served its whole
 * folder to anyone, this server serves nothing it does not know. LEGACY_STATIC_LINKS=false
 * turns the route off.
 */
export function createLegacyStaticRouter(deps: LegacyStaticDeps): Router {
  const router = Router();
  router.get(LEGACY_PATH, async (req: Request, res: Response) => {
    const key = canonicalKey(req.path.slice(PREFIX_LENGTH));
    const image = key === null ? null : await deps.lookup(key);
    if (key === null || image === null) return notFound(res);
    // A thumbnail's own cloud copy (s3) where there is one, else the image's.
    const cloudUrl = (sameFileKey(image.thumbnailKey, key) ? image.thumbnailCloudUrl : null) ?? image.cloudUrl;
    // A public copy was public all along: anyone holding the old link is sent to it.
    const publicTarget = cloudUrl && deps.cloudUrlPublic(cloudUrl) ? await deps.cloudRedirect(cloudUrl) : null;
    if (publicTarget) {
      res
        .status(302)
        .set({ Location: publicTarget, 'Cache-Control': 'private, no-cache', 'Referrer-Policy': 'no-referrer' })
        .end();
      return;
    }
    let viewer;
    try {
      viewer = await deps.authenticate(req.headers);
    } catch (e) {
      if (!isDomainError(e)) throw e;
      sendError(res, 401, e.code, e.message, { 'Cache-Control': 'no-store', 'WWW-Authenticate': 'Bearer' });
      return;
    }
    // Another user's file is as unknown as a missing one.
    if (viewer === null || !canSee(viewer, image.userId)) return notFound(res);
    // The owner: a private bucket's object (presigned now), else this server's file. A cloud URL
    // off the allowed origins is never a target.
    const privateTarget = cloudUrl ? await deps.cloudRedirect(cloudUrl) : null;
    if (cloudUrl && !privateTarget)
      deps.log?.warn({ imageId: image.id }, 'a stored cloud URL is not on an allowed origin: not redirecting to it');
    res
      .status(302)
      .set({
        Location: privateTarget ?? deps.signedUrl(key),
        'Cache-Control': 'private, no-store',
        'Referrer-Policy': 'no-referrer',
      })
      .end();
  });
  return router;
}
