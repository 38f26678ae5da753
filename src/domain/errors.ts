/**
 * Typed domain errors. Each carries the API code from docs/api.md; the GraphQL layer maps
 * them to `extensions.code` in exactly one place (src/graphql/errors.ts).
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'SERVICE_UNAVAILABLE';

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'UNAUTHENTICATED' as const;
}

export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN' as const;
}

export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  /** The same message whether the id does not exist or belongs to someone else. */
  constructor(kind: string, id: string) {
    super(`${kind} "${id}" was not found.`);
  }
}

export class BadUserInputError extends DomainError {
  readonly code = 'BAD_USER_INPUT' as const;
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE' as const;
}

export class PayloadTooLargeError extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE' as const;
}

/**
 * The metadata store stayed locked by another process for longer than the server waits (a
 * long-running CLI command or a backup holding SQLite's write lock). Nothing was written; the
 * same request may simply be sent again. Answered with HTTP 503.
 */
export class StoreBusyError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE' as const;
  /** graphql-js copies an original error's extensions; Apollo takes the HTTP status from them. */
  readonly extensions = { http: { status: 503 } };
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}

/** The message of anything thrown: an Error's own message, anything else as text. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A failed attempt at an outside service that says whether trying again later may help
 * (network errors, timeouts, throttling: yes; a refusal: no). Callers check it with
 * `instanceof`; anything else thrown counts as not retryable.
 */
export class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
