import type { FastifyPluginAsync } from 'fastify';
import { requireRole } from '../../domain/access.js';
import { isDomainError } from '../../domain/errors.js';
import type { DomainEvent } from '../../domain/events.js';
import type { HttpServices } from '../services.js';
import { authenticate } from './authenticate.js';

const KEEPALIVE_MS = 15_000;
/** How often a stream checks that its session or token still authenticates (signed out, revoked). */
export const CREDENTIALS_CHECK_MS = 5_000;
/** The longest delay `setTimeout` keeps (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Events the console shows live; acknowledgements, fotaing and downloads are internal and not streamed. */
const streamed = new Set<DomainEvent['type']>(['device.online', 'device.offline', 'device.reported', 'push.progress']);

/**
 * `GET /api/v1/events`: Server-Sent Events of devices going online or offline and of push progress,
 * one JSON object per event, named by its type. A comment line every 15 s keeps proxies from
 * closing an idle stream. The stream lasts as long as its credentials: every 5 s, and when its
 * session expires, it authenticates again; once refused it sends `session.ended` with the reason
 * and ends (signed out, expired, password changed, user deleted, token revoked).
 */
export const eventRoutes: FastifyPluginAsync<{ services: HttpServices }> = async (app, { services }) => {
  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Live events as Server-Sent Events',
        description:
          'Event names: `device.online`, `device.offline` ({deviceId, prototypeId, protocol, at}), `device.reported` ({deviceId, fwId, version, at}: the firmware a device now runs) and `push.progress` ({pushId, deviceId, fwId, status, reason, at}). The last event of a stream whose session or token no longer authenticates (signed out, expired, revoked; checked every 5 s and at expiry) is `session.ended` ({code, message}); then the stream ends.',
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      requireRole(request.actor, 'viewer');
      const secret = request.sessionSecret;
      const expiresAt = secret === undefined ? undefined : (await services.accounts.session(secret)).expiresAt;
      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      response.write(': connected\n\n');
      const unsubscribe = services.events.subscribe((event) => {
        if (!streamed.has(event.type)) return;
        response.write(`event: ${event.type}\ndata: ${JSON.stringify(serialize(event))}\n\n`);
      });
      const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
      let ended = false;
      let checking = false;
      const check = async () => {
        if (ended || checking) return;
        checking = true;
        try {
          requireRole(await authenticate(request, services, undefined), 'viewer');
        } catch (error) {
          if (isDomainError(error, 'unauthenticated') || isDomainError(error, 'forbidden')) {
            if (!ended) {
              response.write(
                `event: session.ended\ndata: ${JSON.stringify({ code: error.code, message: error.message })}\n\n`,
              );
              response.end();
            }
            end();
          } else {
            // The database failing for a moment ends no stream: the next check asks again.
            request.log.warn({ err: error }, 'the event stream could not check its credentials');
          }
        } finally {
          checking = false;
        }
      };
      const recheck = setInterval(() => void check(), CREDENTIALS_CHECK_MS);
      // A session is also checked the moment it expires.
      const expiry =
        expiresAt === undefined
          ? undefined
          : setTimeout(() => void check(), Math.min(Math.max(expiresAt.getTime() - Date.now() + 50, 0), MAX_TIMER_MS));
      const end = () => {
        ended = true;
        clearInterval(keepalive);
        clearInterval(recheck);
        clearTimeout(expiry);
        unsubscribe();
      };
      request.raw.on('close', end);
      response.on('error', end);
    },
  );
};

function serialize(event: DomainEvent): Record<string, unknown> {
  if (event.type === 'push.progress') {
    const { firmwareId, at, ...rest } = event;
    return { ...rest, fwId: firmwareId, reason: event.reason ?? null, at: at.toISOString() };
  }
  if (event.type === 'device.reported') {
    const { firmwareId, at, ...rest } = event;
    return { ...rest, fwId: firmwareId, at: at.toISOString() };
  }
  return { ...event, at: event.at.toISOString() };
}
