import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { DomainError, isDomainError } from '../../domain/errors.js';
import { csrfTokenOf, type SessionUser } from '../../domain/services/accounts.js';
import type { FailureThrottle } from '../../net/auth-throttle.js';
import type { HttpServices } from '../services.js';
import { clearedSessionCookieHeader, sessionCookie, sessionCookieHeader } from './auth.js';
import { commonErrors, ErrorBody, Session, SignIn, type SessionBody } from '../../contract/schemas.js';
import { csrfMatches } from './authenticate.js';
import { either, fromBody } from './audit-recorder.js';

export interface SessionOptions {
  readonly services: HttpServices;
  readonly throttle: FailureThrottle | undefined;
  /** Failed sign-ins per account (email), beside the per-address throttle. */
  readonly accountThrottle: FailureThrottle | undefined;
  readonly sessionTtlSeconds: number;
  /** Add `Secure` to the cookie: the public URL is https. */
  readonly secureCookie: boolean;
}

const tags = ['session'];

/**
 * `/api/v1/session`: the console signs in with an email and password (or the admin token) and
 * gets an HttpOnly session cookie and the CSRF token its changing requests must send.
 */
export const sessionRoutes: FastifyPluginAsyncTypebox<SessionOptions> = async (
  app,
  { services, throttle, accountThrottle, sessionTtlSeconds, secureCookie },
) => {
  app.post(
    '/session',
    {
      config: {
        audit: {
          kind: 'session.sign-in',
          anonymous: true,
          target: either(
            fromBody('account', 'email', (email) => email.trim().toLowerCase()),
            (seen) => ('adminToken' in seen.body ? { type: 'account', id: 'admin' } : undefined),
          ),
          // Which way, never the password or the token.
          details: (seen) => ({ method: 'adminToken' in seen.body ? 'adminToken' : 'password' }),
        },
      },
      schema: {
        tags,
        summary: 'Sign in',
        description:
          '`{email, password}`, or `{adminToken}` to sign in as the built-in administrator (to create the first users). Sets the `fota_session` cookie (HttpOnly, SameSite=Strict). Failures are throttled per address and per account (429 with Retry-After).',
        body: SignIn,
        response: { 200: Session, 429: ErrorBody, ...commonErrors },
      },
    },
    async (request, reply) => {
      const { body } = request;
      if ('adminToken' in body) {
        try {
          const signedIn = await services.accounts.signInWithAdminToken(body.adminToken);
          request.actor = signedIn.actor;
          return answer(reply, signedIn.user, signedIn.secret, true);
        } catch (error) {
          if (isDomainError(error, 'unauthenticated')) {
            throttle?.failed(request.ip);
            throw new DomainError('unauthenticated', 'the admin token is not valid');
          }
          throw error;
        }
      }
      const account = body.email.trim().toLowerCase();
      const retryAfter = accountThrottle?.retryAfterSeconds(account) ?? 0;
      if (retryAfter > 0) {
        return reply
          .code(429)
          .header('retry-after', String(retryAfter))
          .send({
            error: {
              code: 'too_many_requests',
              message: `too many failed sign-ins for this account; retry in ${retryAfter} s`,
            },
          });
      }
      try {
        const signedIn = await services.accounts.signIn(body.email, body.password);
        request.actor = signedIn.actor;
        return answer(reply, signedIn.user, signedIn.secret, true);
      } catch (error) {
        if (isDomainError(error, 'unauthenticated')) {
          throttle?.failed(request.ip);
          accountThrottle?.failed(account);
        }
        throw error;
      }
    },
  );

  app.get(
    '/session',
    {
      schema: {
        tags,
        summary: 'Who is signed in',
        description: 'The session of the `fota_session` cookie, with its CSRF token; 401 without one.',
        response: { 200: Session, ...commonErrors },
      },
    },
    async (request, reply) => {
      const secret = sessionCookie(request);
      if (secret === undefined) throw new DomainError('unauthenticated', 'not signed in');
      const { user } = await services.accounts.session(secret);
      return answer(reply, user, secret, false);
    },
  );

  app.delete(
    '/session',
    {
      config: { audit: { kind: 'session.sign-out' } },
      schema: {
        tags,
        summary: 'Sign out',
        description: 'Deletes the session on the server and clears the cookie. Needs the X-CSRF-Token header.',
        response: { 204: Type.Null(), ...commonErrors },
      },
    },
    async (request, reply) => {
      const secret = sessionCookie(request);
      if (secret !== undefined) {
        // A session that is already gone has nothing to protect; a live one needs its CSRF token.
        const live = await services.accounts.session(secret).then(
          (session) => {
            request.actor = session.actor;
            return true;
          },
          (error: unknown) => {
            if (isDomainError(error, 'unauthenticated')) return false;
            throw error;
          },
        );
        if (live && !csrfMatches(request.headers['x-csrf-token'], secret)) {
          throw new DomainError('forbidden', 'missing or wrong X-CSRF-Token header (csrf protection)');
        }
        await services.accounts.signOut(secret);
      }
      return reply.code(204).header('set-cookie', clearedSessionCookieHeader(secureCookie)).send(null);
    },
  );

  function answer(reply: FastifyReply, user: SessionUser, secret: string, setCookie: boolean): SessionBody {
    if (setCookie) void reply.header('set-cookie', sessionCookieHeader(secret, sessionTtlSeconds, secureCookie));
    void reply.header('cache-control', 'no-store');
    return {
      user: {
        userId: user.id,
        email: user.email,
        role: user.role,
        createdAt: user.createdAt.toISOString(),
        builtIn: user.builtIn,
      },
      csrfToken: csrfTokenOf(secret),
    };
  }
};
