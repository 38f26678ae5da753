import type { IncomingHttpHeaders } from 'node:http';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config.js';
import { UnauthenticatedError } from '../domain/errors.js';
import { DEV_USER, type Viewer } from '../domain/viewer.js';

export type Authenticate = (headers: IncomingHttpHeaders) => Promise<Viewer | null>;

const USER_ID = /^[A-Za-z0-9._:@|-]{1,128}$/;

/**
 * Builds the function that turns request headers into a Viewer.
 * JWT mode: `Authorization: Bearer <JWT>`, HS256 with a secret or any JWKS key; `sub` is the
 * user id and `roles` containing "admin" grants admin. No header: anonymous (null), and
 * operations that need a user answer UNAUTHENTICATED. A bad or expired token, or one without
 * `exp` (or, with AUTH_JWT_MAX_AGE_SECONDS, issued too long ago): UNAUTHENTICATED.
 * Dev mode: trusts `X-User-Id` (default DEV_USER, "dev") and `X-User-Roles`; any
 * `Authorization` header is UNAUTHENTICATED, as a token that cannot be checked.
 */
export function createAuthenticator(auth: Config['auth']): Authenticate {
  if (auth.mode === 'dev') {
    return async (headers) => {
      // No key to check a token against: one sent is refused, not ignored, or a frontend
      // wired for tokens would silently act as the default user.
      if (header(headers, 'authorization') !== undefined) {
        throw new UnauthenticatedError(
          `This server runs in dev identity mode (neither AUTH_JWT_SECRET nor AUTH_JWKS_URL is set), so it cannot verify a token and refuses the Authorization header: send X-User-Id instead (default "${DEV_USER}"), or configure JWT.`,
        );
      }
      const userId = header(headers, 'x-user-id') ?? DEV_USER;
      if (!USER_ID.test(userId)) {
        throw new UnauthenticatedError('X-User-Id must be 1 to 128 letters, digits or ._:@|- characters.');
      }
      const roles = (header(headers, 'x-user-roles') ?? '').split(',').map((r) => r.trim());
      return { userId, isAdmin: roles.includes('admin') };
    };
  }
  const key: Uint8Array | JWTVerifyGetKey = auth.secret
    ? new TextEncoder().encode(auth.secret)
    : createRemoteJWKSet(new URL(auth.jwksUrl as string), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  const options = {
    algorithms: auth.secret ? ['HS256'] : ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
    // A token without an expiry would be valid forever once leaked: refused.
    requiredClaims: ['exp'],
    ...(auth.maxTokenAgeSeconds ? { maxTokenAge: auth.maxTokenAgeSeconds } : {}),
  };
  return async (headers) => {
    const value = header(headers, 'authorization');
    if (value === undefined) return null;
    const match = /^Bearer\s+(\S+)$/i.exec(value);
    if (!match) throw new UnauthenticatedError('Authorization must be "Bearer <JWT>".');
    try {
      const { payload } =
        typeof key === 'function'
          ? await jwtVerify(match[1] as string, key, options)
          : await jwtVerify(match[1] as string, key, options);
      if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) {
        throw new UnauthenticatedError('The token has no usable "sub" claim.');
      }
      const roles = Array.isArray(payload['roles']) ? (payload['roles'] as unknown[]) : [];
      return {
        userId: payload.sub,
        isAdmin: roles.includes('admin'),
        ...(typeof payload.exp === 'number' ? { expiresAt: new Date(payload.exp * 1000) } : {}),
      };
    } catch (e) {
      if (e instanceof UnauthenticatedError) throw e;
      // jose reports a token older than maxTokenAge as expired, naming the `iat` claim.
      if (e instanceof joseErrors.JWTExpired && e.claim === 'iat')
        throw new UnauthenticatedError('The token is older than AUTH_JWT_MAX_AGE_SECONDS allows.');
      if (e instanceof joseErrors.JWTExpired) throw new UnauthenticatedError('The token has expired.');
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'exp') {
        throw new UnauthenticatedError('The token has no "exp" claim: tokens must expire.');
      }
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'iat') {
        throw new UnauthenticatedError('The token has no usable "iat" claim, which AUTH_JWT_MAX_AGE_SECONDS requires.');
      }
      if (e instanceof joseErrors.JOSEError) throw new UnauthenticatedError(`The token is not valid (${e.code}).`);
      throw e;
    }
  };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}
