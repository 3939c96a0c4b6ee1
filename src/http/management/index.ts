import multipart from '@fastify/multipart';
import type { FastifyPluginAsync } from 'fastify';
import type { FailureThrottle } from '../../net/auth-throttle.js';
import type { HttpServices } from '../services.js';
import { jsonErrorHandler } from '../http-errors.js';
import { auditRoutes } from './audit.js';
import { recordManagementActions } from './audit-recorder.js';
import { authenticate } from './authenticate.js';
import { deviceRoutes } from './devices.js';
import { eventRoutes } from './events.js';
import { firmwareRoutes } from './firmwares.js';
import { prototypeRoutes } from './prototypes.js';
import { pushRoutes } from './pushes.js';
import { serverInfoRoutes } from './server-info.js';
import { sessionRoutes } from './session.js';
import { signingRoutes } from './signing.js';
import { tokenRoutes } from './tokens.js';
import { userRoutes } from './users.js';
import { webhookRoutes } from './webhooks.js';

export interface ManagementOptions {
  readonly services: HttpServices;
  readonly maxFirmwareBytes: number;
  readonly throttle?: FailureThrottle | undefined;
  /** Failed sign-ins per account; none means no per-account throttle. */
  readonly accountThrottle?: FailureThrottle | undefined;
  readonly sessionTtlSeconds: number;
  /** The session cookie gets `Secure`: the public URL is https. */
  readonly secureCookie: boolean;
}

/**
 * The management API under /api/v1: JSON, a bearer token or a session cookie on every route but
 * `/session`, errors as {"error":{code,message}}.
 */
export const managementApi: FastifyPluginAsync<ManagementOptions> = async (
  app,
  { services, maxFirmwareBytes, throttle, accountThrottle, sessionTtlSeconds, secureCookie },
) => {
  await app.register(multipart, {
    // One byte over the limit reaches the service, which then refuses the upload as too large;
    // at exactly the limit the parser would cut the file short and end it as if it were whole.
    limits: { fileSize: maxFirmwareBytes + 1, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12, headerPairs: 100 },
  });

  app.addHook('onRequest', async (request, reply) => {
    // An address over its limit of failed tokens is refused before its token is even checked.
    const retryAfter = throttle?.retryAfterSeconds(request.ip) ?? 0;
    if (retryAfter > 0) {
      return reply
        .code(429)
        .header('retry-after', String(retryAfter))
        .send({
          error: { code: 'too_many_requests', message: `too many failed authentications; retry in ${retryAfter} s` },
        });
    }
    // Signing in, out and asking who is signed in check their own credentials.
    if (request.routeOptions.url === '/api/v1/session') return;
    request.actor = await authenticate(request, services, throttle);
  });

  app.setErrorHandler(jsonErrorHandler('management request'));
  // Every route below that changes something writes one audit entry, declared in its config or not.
  recordManagementActions(app, services.audit);

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url}` } }),
  );

  await app.register(prototypeRoutes, { services });
  await app.register(deviceRoutes, { services });
  await app.register(firmwareRoutes, { services });
  await app.register(pushRoutes, { services });
  await app.register(signingRoutes, { services });
  await app.register(eventRoutes, { services });
  await app.register(serverInfoRoutes, { services });
  await app.register(sessionRoutes, { services, throttle, accountThrottle, sessionTtlSeconds, secureCookie });
  await app.register(userRoutes, { services });
  await app.register(tokenRoutes, { services });
  await app.register(auditRoutes, { services });
  if (services.webhooks) await app.register(webhookRoutes, { webhooks: services.webhooks });
};
