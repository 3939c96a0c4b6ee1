import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DomainError, isDomainError } from '../../domain/errors.js';
import type { Actor } from '../../domain/model.js';
import { csrfTokenOf } from '../../domain/services/accounts.js';
import type { FailureThrottle } from '../../net/auth-throttle.js';
import type { HttpServices } from '../services.js';
import { bearerToken, sessionCookie, unsafeMethods } from './auth.js';

/**
 * Who a management request comes from: a bearer token (the admin token, then API tokens), else the
 * session cookie, whose unsafe requests must also carry the session's `X-CSRF-Token`. A wrong
 * bearer token counts against the address's throttle; a stale cookie does not (it is no guess).
 */
export async function authenticate(
  request: FastifyRequest,
  services: HttpServices,
  throttle: FailureThrottle | undefined,
): Promise<Actor> {
  const token = bearerToken(request);
  if (token !== undefined) {
    const actor = await bearerActor(token, services);
    if (actor) return actor;
    throttle?.failed(request.ip);
    throw new DomainError('unauthenticated', 'the bearer token is not valid');
  }
  const secret = sessionCookie(request);
  if (secret === undefined) {
    throw new DomainError(
      'unauthenticated',
      'a bearer token or a session (sign in with POST /api/v1/session) is required',
    );
  }
  const { actor } = await services.accounts.session(secret);
  if (unsafeMethods.has(request.method) && !csrfMatches(request.headers['x-csrf-token'], secret)) {
    // Known, but refused: the audit entry names the session's user.
    request.actor = actor;
    throw new DomainError(
      'forbidden',
      'missing or wrong X-CSRF-Token header (csrf protection): send the csrfToken of GET /api/v1/session',
    );
  }
  request.sessionSecret = secret;
  return actor;
}

async function bearerActor(token: string, services: HttpServices): Promise<Actor | undefined> {
  try {
    return services.adminTokens.authenticate(token);
  } catch (error) {
    if (!isDomainError(error, 'unauthenticated')) throw error;
  }
  return services.accounts.authenticateToken(token);
}

export function csrfMatches(header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(csrfTokenOf(secret));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
