import type { Response } from 'express';
import type { ErrorCode } from '../domain/errors.js';

/** Every code an answer outside GraphQL execution carries: the API's codes, and the masked 500. */
export type HttpErrorCode = ErrorCode | 'INTERNAL_SERVER_ERROR';

/**
 * The body of an error answered before or beside GraphQL (refused credentials, a bad body, an
 * unknown path, a file that is not there): the shape GraphQL clients already read,
 * `{ errors: [{ message, extensions: { code } }] }`. The one builder of it.
 */
export function errorBody(code: HttpErrorCode, message: string) {
  return { errors: [{ message, extensions: { code } }] };
}

/** Answers `status` with errorBody(code, message) and the headers given. */
export function sendError(
  res: Response,
  status: number,
  code: HttpErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.status(status).set(headers).json(errorBody(code, message));
}
