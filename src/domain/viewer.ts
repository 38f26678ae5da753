import { NotFoundError, UnauthenticatedError } from './errors.js';

/** Who is making a request, once their credentials were checked. */
export interface Viewer {
  userId: string;
  isAdmin: boolean;
  /** When the credentials stop being valid (a JWT's `exp`); a WebSocket connection is closed then. */
  expiresAt?: Date;
}

/**
 * The owner of a legacy record that names none (a seed chatbot message without `user_id` whose
 * conversation has none either, with no LEGACY_DEFAULT_OWNER): no user id is empty, so only an
 * admin sees such a record; it is never given a made-up owner.
 */
export const NO_OWNER = '';

export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw new UnauthenticatedError('Credentials are required: send Authorization: Bearer <JWT>.');
  return viewer;
}

/** The owner filter a store read applies for this viewer: null (everything) for an admin. */
export function ownerScope(viewer: Viewer): string | null {
  return viewer.isAdmin ? null : viewer.userId;
}

export function canSee(viewer: Viewer, ownerId: string): boolean {
  return viewer.isAdmin || viewer.userId === ownerId;
}

/**
 * Returns the record when the viewer may see it; otherwise NOT_FOUND, the same answer as
 * for an id that does not exist, so ids of other users' data reveal nothing.
 */
export function visibleOrNotFound<T extends { userId: string }>(
  viewer: Viewer,
  kind: string,
  id: string,
  record: T | null | undefined,
): T {
  if (!record || !canSee(viewer, record.userId)) throw new NotFoundError(kind, id);
  return record;
}

/** The user of a dev-mode request without X-User-Id: the one default everywhere (README, GraphiQL, the demo). */
export const DEV_USER = 'dev';
