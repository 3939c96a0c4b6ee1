import type { FastifyPluginAsync } from 'fastify';
import { requireRole } from '../../domain/access.js';
import type { DomainEvent } from '../../domain/events.js';
import type { HttpServices } from '../services.js';

const KEEPALIVE_MS = 15_000;

/** Events the console shows live; acknowledgements, fotaing and downloads are internal and not streamed. */
const streamed = new Set<DomainEvent['type']>(['device.online', 'device.offline', 'device.reported', 'push.progress']);

/**
 * `GET /api/v1/events`: Server-Sent Events of devices going online or offline and of push progress,
 * one JSON object per event, named by its type. A comment line every 15 s keeps proxies from
 * closing an idle stream.
 */
export const eventRoutes: FastifyPluginAsync<{ services: HttpServices }> = async (app, { services }) => {
  app.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Live events as Server-Sent Events',
        description:
          'Event names: `device.online`, `device.offline` ({deviceId, prototypeId, protocol, at}), `device.reported` ({deviceId, fwId, version, at}: the firmware a device now runs) and `push.progress` ({pushId, deviceId, fwId, status, reason, at}).',
        produces: ['text/event-stream'],
      },
    },
    async (request, reply) => {
      requireRole(request.actor, 'viewer');
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
      const end = () => {
        clearInterval(keepalive);
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
