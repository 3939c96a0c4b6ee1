import type { FastifyPluginAsync } from 'fastify';
import { requireRole } from '../../domain/access.js';
import { isDomainError } from '../../domain/errors.js';
import type { DomainEvent } from '../../domain/events.js';
import type { Actor } from '../../domain/model.js';
import { sessionIdOf } from '../../domain/services/accounts.js';
import type { HttpServices } from '../services.js';
import { authenticate } from './authenticate.js';

const KEEPALIVE_MS = 15_000;
/**
 * How often a stream checks its credentials besides the `access.changed` events that make it check
 * at once: a safety net for a change whose event was lost (another node's, published while this
 * node's Redis subscription was reconnecting; pub/sub keeps nothing for a subscriber that is away).
 */
export const CREDENTIALS_RECHECK_MS = 60_000;
/** The longest delay `setTimeout` keeps (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Events the console shows live; acknowledgements, fotaing and downloads are internal and not streamed. */
const streamed = new Set<DomainEvent['type']>(['device.online', 'device.offline', 'device.reported', 'push.progress']);

/**
 * `GET /api/v1/events`: Server-Sent Events of devices going online or offline and of push progress,
 * one JSON object per event, named by its type. A comment line every 15 s keeps proxies from
 * closing an idle stream. The stream lasts as long as its credentials: it authenticates again at
 * once when they change on any node (`access.changed`: its token revoked, its session signed out,
 * its user deleted or given another role or password), when its session expires, and every 60 s;
 * once refused it sends `session.ended` with the reason and ends.
 */
export const eventRoutes: FastifyPluginAsync<{ services: HttpServices }> = async (app, { services }) => {
  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Live events as Server-Sent Events',
        description:
          'Event names: `device.online`, `device.offline` ({deviceId, prototypeId, protocol, at}), `device.reported` ({deviceId, fwId, version, at}: the firmware a device now runs) and `push.progress` ({pushId, deviceId, fwId, status, reason, at}). The last event of a stream whose session or token no longer authenticates (signed out, expired, revoked, its user deleted or its password changed; checked at once on any node, at expiry and every 60 s) is `session.ended` ({code, message}); then the stream ends.',
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      requireRole(request.actor, 'viewer');
      const secret = request.sessionSecret;
      const expiresAt = secret === undefined ? undefined : (await services.accounts.session(secret)).expiresAt;
      const concerns = concernsStream(request.actor, secret);
      reply.hijack();
      const response = reply.raw;
      response.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      response.write(': connected\n\n');
      let ended = false;
      let checking: Promise<void> | undefined;
      let again = false;
      const check = async (): Promise<void> => {
        if (ended) return;
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
        }
      };
      // One check at a time; a change that arrives during one is checked again after it.
      const recheck = (): void => {
        if (checking) {
          again = true;
          return;
        }
        checking = check().finally(() => {
          checking = undefined;
          if (again && !ended) {
            again = false;
            recheck();
          }
        });
      };
      const unsubscribe = services.events.subscribe((event) => {
        if (event.type === 'access.changed') {
          if (concerns(event)) recheck();
          return;
        }
        if (!streamed.has(event.type)) return;
        response.write(`event: ${event.type}\ndata: ${JSON.stringify(serialize(event))}\n\n`);
      });
      const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
      const safety = setInterval(recheck, CREDENTIALS_RECHECK_MS);
      // A session is also checked the moment it expires.
      const expiry =
        expiresAt === undefined
          ? undefined
          : setTimeout(recheck, Math.min(Math.max(expiresAt.getTime() - Date.now() + 50, 0), MAX_TIMER_MS));
      const end = () => {
        ended = true;
        clearInterval(keepalive);
        clearInterval(safety);
        clearTimeout(expiry);
        unsubscribe();
      };
      request.raw.on('close', end);
      response.on('error', end);
    },
  );
};

type AccessChanged = Extract<DomainEvent, { type: 'access.changed' }>;

/**
 * Whether a change of credentials may concern the stream of this actor: its session, its token, or
 * its user (a user's change reaches their sessions and their tokens, whose role follows theirs).
 */
function concernsStream(actor: Actor, secret: string | undefined): (event: AccessChanged) => boolean {
  const sessionId = secret === undefined ? undefined : sessionIdOf(secret);
  const userId = actor.kind === 'user' ? actor.userId : undefined;
  const tokenId = actor.kind === 'user' ? actor.token?.id : undefined;
  return (event) =>
    (sessionId !== undefined && event.sessionId === sessionId) ||
    (tokenId !== undefined && event.tokenId === tokenId) ||
    (userId !== undefined && event.userId === userId);
}

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
